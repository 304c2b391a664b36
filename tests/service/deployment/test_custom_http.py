"""`http.app`, `http.cors` and `http.configurable_headers`: a user's own app served beside the
API (its routes, middleware and lifespan; the API's routes first; keys as configured), CORS as
given, and named request headers reaching the run's configurable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from langchain_core.runnables import RunnableConfig
from langgraph.graph import StateGraph
from typing_extensions import TypedDict

from tests.fakes import FakeToolCallingModel
from tests.service.live_server import LiveServer, StartServer
from threadloom.service.deployment.builtin_agent import agent_graph
from threadloom.service.settings import Settings

KEY = {"x-api-key": "key-a"}
USER_APP = """
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.base import BaseHTTPMiddleware

started = []


@asynccontextmanager
async def lifespan(app):
    started.append("up")
    yield


app = FastAPI(lifespan=lifespan)


class Stamp(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        response = await call_next(request)
        response.headers["x-stamped"] = "yes"
        return response


app.add_middleware(Stamp)


@app.get("/hello")
async def hello():
    return {"hello": "world", "started": started}


@app.post("/threads/search")
async def shadowing():
    return {"shadowed": True}
"""


class Seen(TypedDict, total=False):
    seen: dict[str, Any]


def echo_graph() -> StateGraph:
    """Answers the configurable keys a run got that look like headers."""

    def look(state: Seen, config: RunnableConfig) -> Seen:
        configurable = config["configurable"]
        return {"seen": {k: v for k, v in configurable.items() if k.startswith(("x-", "auth"))}}

    graph = StateGraph(Seen)
    graph.add_node("look", look)
    graph.set_entry_point("look")
    return graph


async def serve(start: StartServer, tmp_path: Path, **settings: Any) -> LiveServer:
    (tmp_path / "webapp.py").write_text(USER_APP)
    agent = agent_graph(Settings(), FakeToolCallingModel())
    return await start(
        graphs={"agent": agent, "echo": echo_graph()},
        http_app=f"{tmp_path / 'webapp.py'}:app",
        api_keys="alice:key-a",
        **settings,
    )


async def test_the_users_app_is_served_beside_the_api(start: StartServer, tmp_path: Path) -> None:
    server = await serve(start, tmp_path)
    async with httpx.AsyncClient(base_url=server.url) as http:
        hello = await http.get("/hello")  # its routes need no key by default
        assert hello.json() == {"hello": "world", "started": ["up"]}  # its lifespan ran
        assert hello.headers["x-stamped"] == "yes"

        # The API keeps its paths, and its keys; the user's middleware runs on every request.
        refused = await http.post("/threads/search", json={})
        assert refused.status_code == 401 and refused.headers["x-stamped"] == "yes"
        ours = await http.post("/threads/search", json={}, headers=KEY)
        assert ours.status_code == 200 and ours.json() == []
        assert (await http.get("/ok")).headers["x-stamped"] == "yes"
        assert (await http.get("/nowhere", headers=KEY)).status_code == 404


async def test_auth_first_and_custom_route_auth(start: StartServer, tmp_path: Path) -> None:
    server = await serve(
        start, tmp_path, middleware_order="auth_first", enable_custom_route_auth=True
    )
    async with httpx.AsyncClient(base_url=server.url) as http:
        refused = await http.get("/hello")
        assert refused.status_code == 401 and "x-stamped" not in refused.headers
        hello = await http.get("/hello", headers=KEY)
        assert hello.status_code == 200 and hello.headers["x-stamped"] == "yes"


async def test_configured_headers_reach_the_run_and_credentials_never_do(
    start: StartServer, tmp_path: Path
) -> None:
    server = await serve(
        start, tmp_path, configurable_headers={"include": ["x-user-*"], "exclude": ["x-user-pin"]}
    )
    headers = {
        **KEY,
        "X-User-Id": "42",
        "x-user-pin": "1234",
        "x-other": "no",
        "authorization": "Bearer key-a",
    }
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        waited = await http.post("/runs/wait", json={"assistant_id": "echo", "input": {}})
        assert waited.json() == {"seen": {"x-user-id": "42"}}
        # Over a value the body gives for the same key; into `context` when that is used.
        body = {"assistant_id": "echo", "input": {}, "context": {"x-user-id": "from body"}}
        waited = await http.post("/runs/wait", json=body)
        assert waited.json() == {"seen": {"x-user-id": "42"}}


async def test_without_the_setting_no_header_reaches_the_run(
    start: StartServer, tmp_path: Path
) -> None:
    server = await serve(start, tmp_path)
    async with httpx.AsyncClient(base_url=server.url, headers={**KEY, "x-user-id": "42"}) as http:
        waited = await http.post("/runs/wait", json={"assistant_id": "echo", "input": {}})
        assert waited.json() == {"seen": {}}


async def test_cors_as_the_file_gives_it(start: StartServer, tmp_path: Path) -> None:
    server = await serve(
        start, tmp_path, cors={"allow_origins": ["https://app.example"], "allow_credentials": True}
    )
    preflight = {"Access-Control-Request-Method": "POST"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        allowed = await http.options(
            "/threads", headers={"Origin": "https://app.example", **preflight}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert allowed.headers["access-control-allow-credentials"] == "true"
        other = await http.options(
            "/threads", headers={"Origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in other.headers
