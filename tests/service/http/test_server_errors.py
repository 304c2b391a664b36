"""A server error answers a well-formed 500 and keeps the client's keep-alive connection: the
next request on the same connection is answered (uvicorn used to close it, as Starlette's
handler of unexpected errors re-raised them after answering)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.service.live_server import StartServer


def _connection(response: httpx.Response) -> Any:
    return response.extensions["network_stream"].get_extra_info("client_addr")


async def test_a_500_is_answered_and_the_connection_serves_the_next_request(
    start: StartServer,
) -> None:
    server = await start()

    async def broken() -> None:
        raise RuntimeError("a bug")

    server.app.add_api_route("/broken", broken, methods=["POST"])
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        failed = await client.post("/broken", json={"some": "body"})
        carried_by = _connection(failed)
        assert failed.status_code == 500
        assert failed.json() == {
            "detail": "Internal server error (RuntimeError). See the server log."
        }
        after = await client.get("/ok")
        assert after.status_code == 200
        assert _connection(after) == carried_by
