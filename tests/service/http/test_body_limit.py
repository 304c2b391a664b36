"""Request bodies over `max_body_bytes` answer 413, whether they declare their length or come
chunked, and reach no route: nothing is written."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.service.live_server import StartServer
from threadloom.service.http import limits

LIMIT = 4096
JSON = {"Content-Type": "application/json"}


def padded_thread(size: int) -> bytes:
    """A `POST /threads` body of exactly `size` bytes."""
    empty = json.dumps({"metadata": {"pad": ""}}).encode()
    return json.dumps({"metadata": {"pad": "x" * (size - len(empty))}}).encode()


async def chunked(body: bytes, chunk: int = 1000) -> AsyncIterator[bytes]:
    """The body in pieces, sent with `Transfer-Encoding: chunked` and no Content-Length."""
    for start in range(0, len(body), chunk):
        yield body[start : start + chunk]


@pytest.fixture
async def client(start: StartServer) -> AsyncIterator[httpx.AsyncClient]:
    server = await start(max_body_bytes=LIMIT)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        yield http


async def thread_count(client: httpx.AsyncClient) -> Any:
    return (await client.post("/threads/count", json={})).json()


@pytest.mark.parametrize("send", ["with Content-Length", "chunked"])
async def test_an_oversized_body_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, send: str
) -> None:
    body = padded_thread(LIMIT + 1)
    content = body if send == "with Content-Length" else chunked(body)
    refused = await client.post("/threads", content=content, headers=JSON)
    assert refused.status_code == 413
    assert f"at most {LIMIT} bytes" in refused.json()["detail"]
    assert "THREADLOOM_MAX_BODY_BYTES" in refused.json()["detail"]
    assert refused.request.headers.get("transfer-encoding") == (
        "chunked" if send == "chunked" else None
    )
    assert await thread_count(client) == 0


@pytest.mark.parametrize("send", ["with Content-Length", "chunked"])
async def test_a_body_of_exactly_the_limit_is_accepted(
    client: httpx.AsyncClient, send: str
) -> None:
    body = padded_thread(LIMIT)
    content = body if send == "with Content-Length" else chunked(body)
    created = await client.post("/threads", content=content, headers=JSON)
    assert created.status_code == 200, created.text
    assert len(created.json()["metadata"]["pad"]) > LIMIT - 100


async def test_an_oversized_run_input_starts_no_run(client: httpx.AsyncClient) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    big = {"messages": [{"role": "user", "content": "what is 6 * 7?" + " " * LIMIT}]}
    for path in (f"/threads/{thread_id}/runs/wait", "/runs/wait"):
        refused = await client.post(path, json={"assistant_id": "agent", "input": big})
        assert refused.status_code == 413
    assert (await client.get(f"/threads/{thread_id}/runs")).json() == []
    assert (await client.get(f"/threads/{thread_id}/state")).json()["values"] == {}
    assert await thread_count(client) == 1


def padded_item(size: int) -> bytes:
    """A `PUT /store/items` body of exactly `size` bytes (metadata has a smaller bound)."""
    empty = json.dumps({"namespace": ["n"], "key": "k", "value": {"pad": ""}}).encode()
    return json.dumps(
        {"namespace": ["n"], "key": "k", "value": {"pad": "x" * (size - len(empty))}}
    ).encode()


async def test_the_default_limit_is_one_mebibyte(start: StartServer) -> None:
    server = await start()
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        refused = await http.put("/store/items", content=padded_item(1024**2 + 1), headers=JSON)
        assert refused.status_code == 413
        accepted = await http.put("/store/items", content=padded_item(1024**2), headers=JSON)
        assert accepted.status_code == 204, accepted.text


async def test_a_large_body_is_checked_off_the_event_loop(
    start: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 500 KB prompt is walked in a thread; a small body, on the loop (cheaper than a hop)."""
    checked_on: list[bool] = []
    check = limits.json_body_problem

    def recording(body: bytes, max_depth: int) -> str | None:
        try:
            asyncio.get_running_loop()
            checked_on.append(True)
        except RuntimeError:
            checked_on.append(False)
        return check(body, max_depth)

    monkeypatch.setattr(limits, "json_body_problem", recording)
    server = await start()  # the default limit, 1 MiB
    prompt = {"messages": [{"type": "human", "content": "x" * 500_000}]}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        small = await client.post("/threads", json={"metadata": {"graph_id": "agent"}})
        thread_id = small.json()["thread_id"]
        large = await client.post(f"/threads/{thread_id}/state", json={"values": prompt})

    assert large.status_code == small.status_code == 200
    assert checked_on == [True, False]  # [small: on the loop, large: in a thread]
