"""GET streams under `join_stream_max_s` end by themselves (`service.http.sse.for_at_most`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from tests.service.live_server import StartServer
from threadloom.service.http.sse import for_at_most


async def test_get_streams_end_after_the_configured_time(start: StartServer) -> None:
    """`join_stream_max_s`: a thread's stream (which follows it until the client leaves) ends,
    so that fuzzers' generated requests end too."""
    server = await start(join_stream_max_s=0.5)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        thread_id = (await http.post("/threads", json={})).json()["thread_id"]
        async with http.stream("GET", f"/threads/{thread_id}/stream") as response:
            raw = await response.aread()  # returns: the server ended the stream
        after = await http.get("/ok")
    assert response.status_code == 200
    assert b"event: error" not in raw
    assert after.status_code == 200


async def test_a_capped_source_ends_without_its_next_item_and_an_uncapped_one_runs_out() -> None:
    never = asyncio.Event()

    async def frames() -> AsyncIterator[bytes]:
        yield b"first"
        await never.wait()  # a thread's stream with no run to follow
        yield b"never"

    assert [item async for item in for_at_most(frames(), 0.05)] == [b"first"]

    async def finite() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    assert [item async for item in for_at_most(finite(), None)] == [b"a", b"b"]
    assert [item async for item in for_at_most(finite(), 60)] == [b"a", b"b"]
