"""What a chat UI in a browser needs with no setting changed: loopback pages may call the API,
JSON bodies need no `Content-Type`, and the calls the JavaScript SDK makes answer as LangGraph
Server does (history `before` a config, `Last-Event-ID: -`, thread search `select`)."""

from __future__ import annotations

import httpx
import pytest

from tests.service.live_server import StartServer, parse_frames

QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}


@pytest.mark.parametrize(
    "origin", ["http://localhost:3000", "http://127.0.0.1:5173", "http://[::1]:8080"]
)
async def test_loopback_pages_may_call_the_api_by_default(
    client: httpx.AsyncClient, origin: str
) -> None:
    preflight = await client.options("/threads/search", headers={**PREFLIGHT, "Origin": origin})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    answer = await client.post("/threads/search", json={}, headers={"Origin": origin})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost.evil.example:3000"])
async def test_other_pages_are_not_allowed_by_default(
    client: httpx.AsyncClient, origin: str
) -> None:
    preflight = await client.options("/threads/search", headers={**PREFLIGHT, "Origin": origin})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers


async def test_configured_origins_replace_the_loopback_default(start: StartServer) -> None:
    server = await start(cors_origins=["https://app.example"])
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        local = {**PREFLIGHT, "Origin": "http://localhost:3000"}
        assert (await http.options("/threads/search", headers=local)).status_code == 400


async def test_a_json_body_without_content_type_is_read(client: httpx.AsyncClient) -> None:
    body = b'{"metadata": {"from": "a proxy"}}'
    created = await client.post("/threads", content=body)  # httpx sends no Content-Type
    assert "content-type" not in created.request.headers
    assert created.status_code == 200, created.text
    assert created.json()["metadata"] == {"from": "a proxy"}

    local = await client.post("/threads", content=body, headers={"Origin": "http://localhost:3000"})
    assert local.status_code == 200 and local.json()["metadata"] == {"from": "a proxy"}


async def test_an_untyped_body_from_a_foreign_page_is_not_read(
    client: httpx.AsyncClient,
) -> None:
    """A page elsewhere can post an untyped body without a preflight: it must start nothing."""
    body = b'{"assistant_id": "agent", "input": {"messages": []}}'
    refused = await client.post(
        "/runs/wait", content=body, headers={"Origin": "https://evil.example"}
    )
    assert refused.status_code == 422
    assert (await client.post("/threads/search", json={})).json() == []


async def test_history_before_a_config_pages_back(client: httpx.AsyncClient) -> None:
    thread_id = await _thread_with_a_run(client)
    history = (await client.post(f"/threads/{thread_id}/history", json={"limit": 100})).json()
    assert len(history) >= 4
    newest = history[0]["checkpoint"]["checkpoint_id"]

    for before in (newest, {"checkpoint_id": newest}, {"configurable": {"checkpoint_id": newest}}):
        older = await client.post(
            f"/threads/{thread_id}/history", json={"limit": 100, "before": before}
        )
        assert older.status_code == 200
        assert older.json() == history[1:]


async def test_last_event_id_dash_replays_the_whole_run(client: httpx.AsyncClient) -> None:
    thread_id = await _thread_with_a_run(client, stream_resumable=True)
    [run] = (await client.get(f"/threads/{thread_id}/runs")).json()
    async with client.stream(
        "GET", f"/threads/{thread_id}/runs/{run['run_id']}/stream", headers={"Last-Event-ID": "-"}
    ) as response:
        raw = await response.aread()
    assert response.status_code == 200, raw
    frames = parse_frames(raw)
    assert frames[0].event == "metadata" and frames[0].data["run_id"] == run["run_id"]
    assert [frame.id for frame in frames] == [str(n) for n in range(len(frames))]
    assert frames[-1].event == "values"


async def test_thread_search_answers_only_the_selected_fields(client: httpx.AsyncClient) -> None:
    await client.post("/threads", json={"metadata": {"kind": "selected"}})
    found = await client.post(
        "/threads/search",
        json={"metadata": {"kind": "selected"}, "select": ["thread_id", "metadata"]},
    )
    assert found.status_code == 200
    [thread] = found.json()
    assert set(thread) == {"thread_id", "metadata"}
    assert thread["metadata"] == {"kind": "selected"}

    unknown = await client.post("/threads/search", json={"select": ["thread_id", "secrets"]})
    assert unknown.status_code == 422
    assert "select" in unknown.json()["detail"]


async def _thread_with_a_run(client: httpx.AsyncClient, **options: object) -> str:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    body = {"assistant_id": "agent", "input": QUESTION, **options}
    done = await client.post(f"/threads/{thread_id}/runs/wait", json=body)
    assert done.status_code == 200, done.text
    return thread_id
