"""CORS: off unless `cors_origins` is set; then browsers at those origins may call the API, their
preflights need no API key, and refusals still carry the CORS headers a page needs to read them.
"""

from __future__ import annotations

import httpx
import pytest

from tests.service.live_server import StartServer
from threadloom.service.settings import Settings

ORIGIN = "https://app.example"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def test_without_origins_no_cors_headers_are_sent(client: httpx.AsyncClient) -> None:
    preflight = await client.options("/assistants/search", headers=PREFLIGHT)
    answer = await client.post("/assistants/search", json={}, headers={"Origin": ORIGIN})
    assert answer.status_code == 200
    for response in (preflight, answer):
        assert "access-control-allow-origin" not in response.headers


async def test_configured_origins_may_call_the_api(start: StartServer) -> None:
    server = await start(cors_origins=[ORIGIN], api_keys="alice:key-of-alice")
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        preflight = await http.options("/assistants/search", headers=PREFLIGHT)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        assert "POST" in preflight.headers["access-control-allow-methods"]

        keyed = {"Origin": ORIGIN, "Authorization": "Bearer key-of-alice"}
        answer = await http.post("/assistants/search", json={}, headers=keyed)
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == ORIGIN
        assert "X-Pagination-Total" in answer.headers["access-control-expose-headers"]

        refused = await http.post("/assistants/search", json={}, headers={"Origin": ORIGIN})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == ORIGIN

        other = {**PREFLIGHT, "Origin": "https://elsewhere.example"}
        foreign = await http.options("/assistants/search", headers=other)
        assert foreign.status_code == 400
        assert "access-control-allow-origin" not in foreign.headers


def test_origins_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLOOM_CORS_ORIGINS", f"{ORIGIN}, http://localhost:3000")
    assert Settings().cors_origins == [ORIGIN, "http://localhost:3000"]
