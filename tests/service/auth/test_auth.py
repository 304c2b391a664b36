"""API keys: off by default, required once configured (but for /ok and /info), read from the
environment and a file, refused at start-up when malformed, and never logged."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from tests.fakes import FakeToolCallingModel
from tests.service.live_server import StartServer
from threadloom.service.app import create_app
from threadloom.service.deployment.builtin_agent import agent_graph
from threadloom.service.errors import ConfigurationError
from threadloom.service.settings import Settings

SECRETS = ("key-of-alice", "key-of-carol", "bare-key-0123456789")


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "api-keys"
    path.write_text("# owner:key, one per line\n\ncarol:key-of-carol\n", encoding="utf-8")
    return path


async def test_without_keys_auth_is_off(client: httpx.AsyncClient) -> None:
    assert (await client.post("/threads", json={})).status_code == 200
    anyone = await client.post("/threads/search", json={}, headers={"x-api-key": "whatever"})
    assert anyone.status_code == 200 and len(anyone.json()) == 1


async def test_with_keys_every_request_needs_a_valid_one_and_no_key_is_logged(
    start: StartServer, keys_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = await start(api_keys=f"alice:{SECRETS[0]}, {SECRETS[2]}", api_keys_file=keys_file)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        missing = await http.post("/threads/search", json={})
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer <key>" in missing.json()["detail"]
        wrong = await http.get("/threads/search", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "Invalid API key" in wrong.json()["detail"]
        not_bearer = await http.post("/threads", headers={"Authorization": f"Basic {SECRETS[0]}"})
        assert not_bearer.status_code == 401
        assert (await http.get("/threads/search")).status_code == 401  # nothing created

        assert (await http.get("/ok")).json() == {"ok": True}
        assert (await http.get("/info")).status_code == 200

        for header in (
            {"Authorization": f"Bearer {SECRETS[0]}"},
            {"authorization": f"bearer {SECRETS[1]}"},  # a key from the file
            {"x-api-key": SECRETS[2]},  # a bare key: an owner of its own
        ):
            created = await http.post("/threads", json={}, headers=header)
            assert created.status_code == 200, created.text
            found = await http.post("/threads/search", json={}, headers=header)
            assert [t["thread_id"] for t in found.json()] == [created.json()["thread_id"]]
    assert "request refused: missing api key" in caplog.text
    assert not any(secret in caplog.text for secret in SECRETS)


@pytest.mark.parametrize(
    ("keys", "in_file", "message"),
    [
        ("alice:", None, "THREADLOOM_API_KEYS entry 1: no key after the ':'"),
        ("alice:key-1, :key-2", None, "THREADLOOM_API_KEYS entry 2: no owner before the ':'"),
        (" , ", None, "THREADLOOM_API_KEYS names no key"),
        ("alice:key-1", "bob:key-1\n", "line 1: this key is also given to owner 'alice'"),
        (None, "# only a comment\n", "holds no key"),
    ],
)
def test_malformed_keys_are_refused_at_start_up_without_showing_them(
    tmp_path: Path, keys: str | None, in_file: str | None, message: str
) -> None:
    keys_file = None
    if in_file is not None:
        keys_file = tmp_path / "keys"
        keys_file.write_text(in_file, encoding="utf-8")
    settings = Settings(db=tmp_path / "t.sqlite", api_keys=keys, api_keys_file=keys_file)
    with pytest.raises(ConfigurationError, match=message) as refused:
        create_app(settings, {"agent": agent_graph(settings, FakeToolCallingModel())})
    assert "key-1" not in str(refused.value)


def test_a_missing_keys_file_is_refused_at_start_up(tmp_path: Path) -> None:
    settings = Settings(db=tmp_path / "t.sqlite", api_keys_file=tmp_path / "absent")
    with pytest.raises(ConfigurationError, match="Cannot read THREADLOOM_API_KEYS_FILE"):
        create_app(settings)


@pytest.mark.parametrize(
    ("host", "keys", "warned"),
    [("0.0.0.0", None, True), ("127.0.0.1", None, False), ("0.0.0.0", "a:key-1", False)],
)
def test_serving_beyond_loopback_without_keys_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, host: str, keys: str | None, warned: bool
) -> None:
    caplog.set_level(logging.INFO, logger="threadloom.service.app")
    create_app(Settings(db=tmp_path / "t.sqlite", host=host, api_keys=keys))
    assert ("auth is off and the server binds 0.0.0.0" in caplog.text) is warned
