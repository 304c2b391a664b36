"""Footprint: a server on a remote endpoint never imports torch or transformers (checked in a
fresh interpreter, since this test process imports torch); TORCH_THREADS sets torch's threads
when a local model loads, as does the prefix cache's budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from threadloom.models.factory import ModelSpec
from threadloom.models.loading import load_local_model
from threadloom.service.settings import Settings

REPO = Path(__file__).resolve().parents[2]
ENDPOINT = "http://127.0.0.1:9/v1"  # never called: the server only has to start and answer /ok

# Starts the real app (uvicorn on loopback, lifespan, model built), answers one request, stops.
SERVE_THEN_REPORT = """
import asyncio, json, sys
from pathlib import Path
import httpx
from tests.service.live_server import start_server

async def main(db, endpoint):
    server = await start_server(Path(db), endpoint_url=endpoint)
    async with httpx.AsyncClient(base_url=server.url) as client:
        status = (await client.get("/ok")).status_code
    await server.stop()
    heavy = [m for m in ("torch", "transformers") if m in sys.modules]
    print(json.dumps({"status": status, "loaded": heavy}))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.slow
def test_a_server_on_a_remote_endpoint_never_imports_torch_or_transformers(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVE_THEN_REPORT, str(tmp_path / "db.sqlite"), ENDPOINT],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"status": 200, "loaded": []}


def test_loading_a_local_model_applies_torch_threads_and_the_prefix_cache_budget() -> None:
    before = torch.get_num_threads()
    try:
        chat = load_local_model(
            "bundled", device="cpu", torch_threads=before + 1, prefix_cache_bytes=12345
        )
        assert torch.get_num_threads() == before + 1
    finally:
        torch.set_num_threads(before)
    assert chat.generator.prefix_cache.budget_bytes == 12345  # type: ignore[attr-defined]
    chat.generator.shutdown()  # type: ignore[attr-defined]


def test_settings_reach_the_model_spec() -> None:
    spec = Settings(torch_threads=3, prefix_cache_mb=1.5).to_spec()
    assert (spec.torch_threads, spec.prefix_cache_bytes) == (3, int(1.5 * 2**20))
    assert ModelSpec().prefix_cache_bytes == 0
    assert Settings().torch_threads is None or "THREADLOOM_TORCH_THREADS" in os.environ


def test_a_torch_threads_setting_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="torch_threads"):
        Settings(torch_threads=0)
