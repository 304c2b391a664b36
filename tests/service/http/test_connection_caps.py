"""One client address holding many idle connections cannot use up the server's
`max_connections`: past its share, its connections are answered 429 and closed, and other
clients (the `/ok` probe) are served."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx

from tests.service.live_server import StartServer
from threadloom.service.http.connection_caps import ClientConnections

# Another loopback address (all of 127/8 is loopback on Linux): the crowd's, not the probe's.
CROWD_ADDRESS = "127.0.0.2"
GLOBAL_CAP = 12
SHARE = 4
CROWD = 20  # past the global cap: without a share, /ok would get 503


@asynccontextmanager
async def idle_connections(url: str, count: int) -> AsyncIterator[list[asyncio.StreamReader]]:
    """`count` connections from `CROWD_ADDRESS` that send nothing."""
    parts = urlsplit(url)
    opened = [
        await asyncio.open_connection(parts.hostname, parts.port, local_addr=(CROWD_ADDRESS, 0))
        for _ in range(count)
    ]
    try:
        yield [reader for reader, _ in opened]
    finally:
        for _, writer in opened:
            writer.close()


async def test_one_address_past_its_share_is_refused_and_ok_stays_up(start: StartServer) -> None:
    server = await start(max_connections=GLOBAL_CAP, max_connections_per_client=SHARE)
    async with idle_connections(server.url, CROWD) as readers:
        answers = await asyncio.gather(*(reader.read() for reader in readers[SHARE:]))
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
            ok = await http.get("/ok")

    assert ok.status_code == 200
    assert len(answers) == CROWD - SHARE
    for answer in answers:  # each read ended: the server closed the connection
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 429")
        assert b"THREADLOOM_MAX_CONNECTIONS_PER_CLIENT" in body


async def test_without_a_share_the_crowd_starves_ok(start: StartServer) -> None:
    """The control: the same crowd with a share as large as the global cap."""
    server = await start(max_connections=GLOBAL_CAP, max_connections_per_client=GLOBAL_CAP)
    async with (
        idle_connections(server.url, GLOBAL_CAP),
        httpx.AsyncClient(base_url=server.url, timeout=20) as http,
    ):
        probe = await http.get("/ok")
    assert probe.status_code == 503


async def test_an_admitted_connection_is_served_and_its_place_is_freed() -> None:
    connections = ClientConnections(per_client=2)
    assert connections.admit("10.0.0.1") and connections.admit("10.0.0.1")
    assert not connections.admit("10.0.0.1")
    assert connections.admit("10.0.0.2")
    connections.release("10.0.0.1")
    assert connections.open_from("10.0.0.1") == 1
    assert connections.admit("10.0.0.1")


async def test_the_last_place_of_the_share_is_served(start: StartServer) -> None:
    server = await start(max_connections=GLOBAL_CAP, max_connections_per_client=SHARE)
    parts = urlsplit(server.url)
    async with idle_connections(server.url, SHARE - 1):
        reader, writer = await asyncio.open_connection(
            parts.hostname, parts.port, local_addr=(CROWD_ADDRESS, 0)
        )
        writer.write(b"GET /ok HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        answer = await reader.read()
        writer.close()
    assert answer.startswith(b"HTTP/1.1 200")
