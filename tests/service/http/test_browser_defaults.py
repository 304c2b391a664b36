"""Browsers and UIs with no setting changed: JSON sent as `text/plain` (agent-chat-ui's API
passthrough) is read, hosted Studio's origin may call the API, and private-network preflights
are answered for allowed origins."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.service.live_server import StartServer, parse_frames

STUDIO = "https://smith.langchain.com"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}
# What `langgraph-nextjs-api-passthrough` (agent-chat-ui's /api route) sends upstream: the page's
# `x-*` headers and its API key, a body re-read as text and sent with Node's `fetch`, which
# types a string body `text/plain;charset=UTF-8`; no Origin (the proxy is no browser).
PASSTHROUGH_HEADERS = {
    "x-api-key": "remove-me",
    "content-type": "text/plain;charset=UTF-8",
    "accept": "*/*",
    "accept-language": "*",
    "sec-fetch-mode": "cors",
    "user-agent": "node",
    "accept-encoding": "gzip, deflate",
}


POSTS_TO_THREADS = 'threadloom_http_requests_total{method="POST",route="/threads",status="200"}'


def _passthrough(body: object) -> dict[str, object]:
    # JSON.stringify's compact form, as the SDK writes it in the page.
    return {"content": json.dumps(body, separators=(",", ":")), "headers": PASSTHROUGH_HEADERS}


async def test_the_chat_ui_passthrough_request_runs_and_streams(client: httpx.AsyncClient) -> None:
    created = await client.post("/threads", **_passthrough({"metadata": {}}))  # type: ignore[arg-type]
    assert created.status_code == 200, created.text
    thread_id = created.json()["thread_id"]
    body = {
        "input": {"messages": [{"type": "human", "content": "what is 6 * 7?"}]},
        "stream_mode": ["values", "messages-tuple", "custom"],
        "stream_subgraphs": True,
        "stream_resumable": True,
        "assistant_id": "agent",
        "on_disconnect": "continue",
    }
    async with client.stream(
        "POST",
        f"/threads/{thread_id}/runs/stream",
        **_passthrough(body),  # type: ignore[arg-type]
    ) as response:
        raw = await response.aread()
    assert response.status_code == 200, raw
    frames = parse_frames(raw)
    assert frames[0].event == "metadata"
    assert frames[-1].event == "values"
    assert frames[-1].data["messages"][0]["content"] == "what is 6 * 7?"

    searched = await client.post("/threads/search", **_passthrough({"limit": 100}))  # type: ignore[arg-type]
    assert [t["thread_id"] for t in searched.json()] == [thread_id]


async def test_a_text_plain_body_from_a_foreign_page_is_not_read(
    client: httpx.AsyncClient,
) -> None:
    """`text/plain` is a "simple" type: a page anywhere may post it without a preflight."""
    body = b'{"assistant_id": "agent", "input": {"messages": []}}'
    headers = {"Origin": "https://evil.example", "Content-Type": "text/plain"}
    refused = await client.post("/runs/wait", content=body, headers=headers)
    assert refused.status_code == 422
    assert (await client.post("/threads/search", json={})).json() == []


async def test_a_text_plain_body_is_guarded_as_json(client: httpx.AsyncClient) -> None:
    deep = b"[" * 500 + b"]" * 500
    answer = await client.post("/threads", content=deep, headers={"Content-Type": "text/plain"})
    assert answer.status_code == 422
    assert "deeper than" in answer.json()["detail"]


async def test_hosted_studio_may_call_the_api_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/assistants/search",
        headers={**PREFLIGHT, "Origin": STUDIO, "Access-Control-Request-Private-Network": "true"},
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == STUDIO
    assert preflight.headers["access-control-allow-private-network"] == "true"
    answer = await client.post("/assistants/search", json={}, headers={"Origin": STUDIO})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == STUDIO


async def test_loopback_pages_get_private_network_access(client: httpx.AsyncClient) -> None:
    origin = "http://localhost:3000"
    preflight = await client.options(
        "/threads",
        headers={**PREFLIGHT, "Origin": origin, "Access-Control-Request-Private-Network": "true"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-private-network"] == "true"


async def test_a_foreign_page_gets_no_private_network_access(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/threads",
        headers={
            **PREFLIGHT,
            "Origin": "https://evil.example",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize(
    ("settings", "allowed"),
    [({"cors_allow_studio": False}, False), ({"cors_origins": ["https://app.example"]}, False)],
)
async def test_studio_is_refused_when_turned_off_or_origins_are_configured(
    start: StartServer, settings: dict[str, object], allowed: bool
) -> None:
    server = await start(**settings)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        preflight = await http.options("/threads", headers={**PREFLIGHT, "Origin": STUDIO})
        local = await http.options(
            "/threads", headers={**PREFLIGHT, "Origin": "http://localhost:3000"}
        )
    assert (preflight.status_code == 200) is allowed
    assert "access-control-allow-origin" not in preflight.headers
    assert (local.status_code == 200) is ("cors_allow_studio" in settings)


async def test_untyped_requests_keep_their_route_for_the_layers_around(
    start: StartServer,
) -> None:
    """Requests rewritten as JSON (or left alone) keep the route the router found, so the
    metrics layer need not match paths itself: its fallback builds the whole OpenAPI document
    on the event loop the first time, and a test's first `/ok` probe (a request without a
    body type, whose scope was copied) waited 1.16 s for it on a busy machine."""
    server = await start()
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        assert (await http.get("/ok")).status_code == 200
        typed_as_text = {"Content-Type": "text/plain;charset=UTF-8"}
        assert (await http.post("/threads", content=b"{}", headers=typed_as_text)).is_success
        assert (await http.post("/threads", content=b"{}")).is_success
        metrics = (await http.get("/metrics")).text

    assert server.app.openapi_schema is None
    posted = [line for line in metrics.splitlines() if line.startswith(POSTS_TO_THREADS)]
    assert posted == [f"{POSTS_TO_THREADS} 2.0"]
