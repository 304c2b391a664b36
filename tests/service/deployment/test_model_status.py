"""`/info` reports the served model: loading while the app starts, ready once it serves,
failed with the reason if start-up raised."""

from __future__ import annotations

import httpx
import pytest

from threadloom.models.errors import ModelLoadError
from threadloom.service.deployment.model_status import ModelStatus
from threadloom.service.settings import Settings


async def test_info_reports_the_model_ready(client: httpx.AsyncClient) -> None:
    model = (await client.get("/info")).json()["model"]
    assert model["name"] == "bundled" and model["remote"] is False
    assert model["state"] == "ready" and model["error"] is None
    assert model["load_seconds"] >= 0


def test_loading_then_ready_or_failed_with_the_reason() -> None:
    status = ModelStatus.of(Settings(model="org/some-model", endpoint_url="http://127.0.0.1:9"))
    assert (status.state, status.remote) == ("loading", True)
    with pytest.raises(ModelLoadError), status.loading():
        assert status.to_api()["state"] == "loading"
        raise ModelLoadError("Could not load model 'org/some-model': no such folder")
    assert status.to_api()["state"] == "failed"
    assert status.to_api()["error"] == "Could not load model 'org/some-model': no such folder"
    with status.loading():
        pass
    assert (status.state, status.error) == ("ready", None)
    assert status.load_seconds is not None
