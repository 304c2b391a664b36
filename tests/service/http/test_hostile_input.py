"""Hostile input gets a clear 4xx, never a 500: every bound of the request bodies (422 naming the
field and the bound), the JSON body checks, a missing checkpoint (404), and slow or lying
clients (408, 413, closed connections, 429 per API key)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.service.live_server import LiveServer, StartServer

JSON = {"Content-Type": "application/json"}
ANSWER_WAIT_S = 10.0  # only a bound on a hung test: each answer comes at once or at a timeout


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def run(**fields: Any) -> dict[str, Any]:
    return {"assistant_id": "agent", **fields}


@pytest.fixture
async def thread_id(client: httpx.AsyncClient) -> str:
    created = await client.post("/threads", json={"metadata": {"graph_id": "agent"}})
    return created.json()["thread_id"]


# (method, path, raw JSON body, what the 422 detail must say); {t} is an existing thread.
REFUSED: list[tuple[str, str, str, list[str]]] = [
    ("POST", "/threads", '{"metadata": {"a": "\\ud800"}}', ["surrogates"]),
    ("POST", "/threads", '{"metadata": {"a": "x\\u0000y"}}', ["NUL"]),
    ("POST", "/threads", json.dumps({"metadata": nested(300)}), ["deeper than 64", "DEPTH"]),
    ("PUT", "/store/items", json.dumps({"namespace": ["n"], "key": "k", "value": nested(254)}),
     ["deeper than 64"]),
    ("POST", "/threads", '{"metadata": {"a": 1e400}}', ["out of the range of a double"]),
    ("POST", "/threads", '{"metadata": {"a": NaN}}', ["NaN"]),
    ("POST", "/threads", json.dumps({"metadata": {"pad": "x" * 70_000}}),
     ["metadata", "65536 bytes"]),
    ("POST", "/threads/{t}/runs", json.dumps(run(config={"configurable": "x"})),
     ["config.configurable must be an object"]),
    ("POST", "/threads/{t}/runs", json.dumps(run(config={"recursion_limit": 10**30})),
     ["integer", "2^63"]),
    ("POST", "/threads/{t}/runs", json.dumps(run(config={"recursion_limit": 100_000})),
     ["recursion_limit", "10000"]),
    ("POST", "/threads/{t}/runs", json.dumps(run(after_seconds=1e308)),
     ["after_seconds", "86400"]),
    ("POST", "/threads/{t}/runs", json.dumps(run(input={"messages": [{}] * 1001})),
     ["input", "1001 messages", "1000"]),
    ("PUT", "/store/items", '{"namespace": ["n"], "key": "k", "value": {}, "ttl": 1e308}',
     ["ttl", "5256000"]),
    ("POST", "/threads/{t}/state",
     json.dumps({"values": {"messages": [{"role": "bogus", "content": "x"}]}}),
     ["values", "messages[0]", "bogus"]),
    ("POST", "/threads/{t}/state", json.dumps({"values": {"messages": 5}}),
     ["messages must be a list"]),
    ("POST", "/threads/{t}/history", json.dumps({"metadata": {"a b": 1}}),
     ["metadata", "filter key 'a b'"]),
    ("POST", "/threads/search", json.dumps({"offset": 10**12}), ["offset", "1000000000"]),
    ("POST", "/store/namespaces", json.dumps({"max_depth": 10**6}), ["max_depth", "100"]),
    ("POST", "/runs/batch", json.dumps([run()] * 101), ["at most 100"]),
]


async def test_a_run_whose_input_its_graph_cannot_take_fails_as_a_run(
    client: httpx.AsyncClient, thread_id: str
) -> None:
    # What a run's input holds is its graph's to judge (as in LangGraph Server): the run is
    # accepted, fails, and says why; nothing answers 500.
    body = run(input={"messages": [{"role": "bogus", "content": "x"}]})
    waited = await client.post(f"/threads/{thread_id}/runs/wait", json=body)
    assert waited.status_code == 200
    assert "bogus" in waited.json()["__error__"]["message"]
    assert (await client.get(f"/threads/{thread_id}")).json()["status"] == "error"


@pytest.mark.parametrize(("method", "path", "body", "said"), REFUSED, ids=range(len(REFUSED)))
async def test_out_of_bounds_input_is_a_422_naming_the_field_and_the_bound(
    client: httpx.AsyncClient, thread_id: str, method: str, path: str, body: str, said: list[str]
) -> None:
    answer = await client.request(
        method, path.format(t=thread_id), content=body.encode(), headers=JSON
    )

    assert answer.status_code == 422, answer.text
    for words in said:
        assert words in answer.json()["detail"]
    assert (await client.get("/ok")).status_code == 200  # the connection and server live on


async def test_nothing_refused_was_written(client: httpx.AsyncClient, thread_id: str) -> None:
    for method, path, body, _ in REFUSED:
        await client.request(method, path.format(t=thread_id), content=body.encode(), headers=JSON)

    assert (await client.post("/threads/count", json={})).json() == 1
    assert (await client.get(f"/threads/{thread_id}/runs")).json() == []
    assert (await client.post("/store/items/search", json={})).json()["items"] == []


async def test_a_checkpoint_the_thread_does_not_have_is_404(
    client: httpx.AsyncClient, thread_id: str
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    by_path = await client.get(f"/threads/{thread_id}/state/{missing}")
    by_body = await client.post(
        f"/threads/{thread_id}/state/checkpoint", json={"checkpoint": {"checkpoint_id": missing}}
    )
    not_an_id = await client.get(f"/threads/{thread_id}/state/not-a-checkpoint")

    assert by_path.status_code == by_body.status_code == 404
    assert missing in by_path.json()["detail"]
    assert not_an_id.status_code == 422


async def test_the_same_requests_at_the_bounds_are_accepted(each_backend: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=each_backend.url, timeout=30) as client:
        created = await client.post("/threads", json={"metadata": {"graph_id": "agent"}})
        accepted = await _at_the_bounds(client, created.json()["thread_id"])

    assert [answer.status_code for answer in accepted] == [200, 200, 204, 200, 200]


async def _at_the_bounds(client: httpx.AsyncClient, thread_id: str) -> list[httpx.Response]:
    return [
        await client.post("/threads", json={"metadata": nested(60)}),
        await client.post("/runs", json=run(after_seconds=0, config={"recursion_limit": 10_000})),
        await client.put(
            "/store/items", json={"namespace": ["n"], "key": "k", "value": {}, "ttl": 5256000}
        ),
        await client.post(f"/threads/{thread_id}/history", json={"metadata": {"a.b-c_d": 1}}),
        await client.post("/threads", json={"metadata": {"emoji": "\U0001f600", "n": 2**63 - 1}}),
    ]


async def _raw(server: LiveServer, request: bytes) -> tuple[asyncio.StreamReader, Any]:
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()
    return reader, writer


async def test_a_body_announced_but_not_sent_is_answered_408(start: StartServer) -> None:
    server = await start(body_read_timeout_s=0.5)
    reader, writer = await _raw(
        server, b"POST /threads HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{"
    )
    answer = await asyncio.wait_for(reader.read(), ANSWER_WAIT_S)
    writer.close()

    assert answer.startswith(b"HTTP/1.1 408")
    assert b"THREADLOOM_BODY_READ_TIMEOUT_S" in answer


async def test_a_huge_announced_body_is_refused_without_waiting_for_it(server: LiveServer) -> None:
    reader, writer = await _raw(
        server, b"POST /threads HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n"
    )
    answer = await asyncio.wait_for(reader.read(), ANSWER_WAIT_S)
    writer.close()

    assert answer.startswith(b"HTTP/1.1 413")


async def test_headers_that_never_end_close_the_connection(start: StartServer) -> None:
    server = await start(header_read_timeout_s=0.5)
    reader, writer = await _raw(server, b"GET /ok HTTP/1.1\r\nHost: t\r\nX-Slow: ")

    assert await asyncio.wait_for(reader.read(), ANSWER_WAIT_S) == b""  # closed, unanswered
    writer.close()


async def test_one_key_may_hold_only_so_many_requests_open(start: StartServer) -> None:
    server = await start(api_keys="a:key-a,b:key-b", max_open_requests_per_key=1)
    async with (
        httpx.AsyncClient(base_url=server.url, headers={"x-api-key": "key-a"}) as a,
        httpx.AsyncClient(base_url=server.url, headers={"x-api-key": "key-b"}) as b,
    ):
        thread_id = (await a.post("/threads", json={})).json()["thread_id"]
        async with a.stream("GET", f"/threads/{thread_id}/stream") as open_stream:
            assert open_stream.status_code == 200
            refused = await a.get(f"/threads/{thread_id}")
            other_key = await b.get("/threads/00000000-0000-4000-8000-000000000000")
        after = await a.get(f"/threads/{thread_id}")

    assert refused.status_code == 429
    assert "THREADLOOM_MAX_OPEN_REQUESTS_PER_KEY" in refused.json()["detail"]
    assert other_key.status_code == 404
    assert after.status_code == 200


@pytest.mark.parametrize("last_event_id", ["9" * 100, str(2**63), "x", "1.5"])
async def test_a_last_event_id_that_is_no_event_id_is_a_422(
    client: httpx.AsyncClient, thread_id: str, last_event_id: str
) -> None:
    body = run(input={"messages": [{"role": "user", "content": "6 * 7?"}]})
    await client.post(f"/threads/{thread_id}/runs/wait", json=body)
    (ended,) = (await client.get(f"/threads/{thread_id}/runs")).json()

    answer = await client.get(
        f"/threads/{thread_id}/runs/{ended['run_id']}/stream",
        headers={"Last-Event-ID": last_event_id},
    )

    assert answer.status_code == 422
    assert "Last-Event-ID" in answer.json()["detail"]
