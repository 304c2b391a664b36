"""Custom auth (`auth_path`): a `langgraph_sdk.Auth` policy written to a file, loaded by the
server, judging two users across every route, on SQLite and PostgreSQL.

Two policies, as LangGraph's docs write them: owner-only (a bearer token names the user; every
handler stamps and filters `{"owner": user}`), and role-based (an admin sees and changes
everything; a viewer only reads, and only threads and crons whose `readers` list names it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import StateGraph
from langgraph_sdk import get_client
from langgraph_sdk.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from typing_extensions import TypedDict

from tests.service.auth_policies import OWNER_ONLY
from tests.service.contract_graph import ContractModel, make_contract_graph
from tests.service.live_server import LiveServer, StartServer
from threadloom.service.app import create_app
from threadloom.service.errors import ConfigurationError
from threadloom.service.runs.spec import RunSpec
from threadloom.service.schemas.runs import RunCreate
from threadloom.service.settings import Settings
from threadloom.service.storage.assistants import Assistant

DEADLINE_S = 20  # a bound on waiting, so a bug fails the test instead of hanging it
ALICE = {"Authorization": "Bearer token-alice"}
BOB = {"Authorization": "Bearer token-bob"}
ADMIN = {"x-token": "token-ada"}
VIEWER = {"x-token": "token-vic"}

ROLES = '''
from langgraph_sdk import Auth

auth = Auth()
USERS = {
    "token-ada": {"identity": "ada", "role": "admin", "permissions": ["threads:write"]},
    "token-vic": {"identity": "vic", "role": "viewer", "permissions": []},
}
READS = {"read", "search", "get", "list_namespaces"}


@auth.authenticate
def authenticate(headers: dict) -> dict:  # a plain function: run off the event loop
    user = USERS.get(headers.get(b"x-token", b"").decode())
    if user is None:
        raise Auth.exceptions.HTTPException(status_code=403, detail="Unknown token")
    return user


@auth.on
async def by_role(ctx: Auth.types.AuthContext, value: dict):
    if ctx.user.role == "admin":
        return None
    if ctx.action not in READS:
        raise Auth.exceptions.HTTPException(status_code=403, detail="Viewers may only read")
    return {"$or": [{"readers": {"$contains": ctx.user.identity}}, {"public": True}]}


@auth.on.threads.create
async def admins_create(ctx: Auth.types.AuthContext, value: dict):
    return "threads:write" in ctx.permissions


@auth.on.store
async def store_by_role(ctx: Auth.types.AuthContext, value: dict):
    return ctx.user.role == "admin" or ctx.action in READS
'''


def ask(text: str, **body: Any) -> dict[str, Any]:
    return {
        "assistant_id": "agent",
        "input": {"messages": [{"role": "user", "content": text}]},
        **body,
    }


def policy_file(tmp_path: Path, text: str, name: str = "policy.py") -> str:
    path = tmp_path / name
    path.write_text(text)
    return f"{path}:auth"


@pytest.fixture
def contract_model() -> ContractModel:
    return ContractModel(started=asyncio.Event())


async def serve(
    start: StartServer,
    storage_settings: dict[str, Any],
    contract_model: ContractModel,
    auth_path: str,
) -> LiveServer:
    def graph(settings: Any) -> Any:
        return make_contract_graph(settings, contract_model)

    return await start(graph_factory=graph, auth_path=auth_path, **storage_settings)


@pytest.fixture
async def owner_server(
    storage_settings: dict[str, Any],
    start: StartServer,
    contract_model: ContractModel,
    tmp_path: Path,
) -> LiveServer:
    # (`storage_settings` first: its database must outlive the server, stopped by `start`.)
    path = policy_file(tmp_path, OWNER_ONLY)
    return await serve(start, storage_settings, contract_model, path)


@pytest.fixture
async def roles_server(
    storage_settings: dict[str, Any],
    start: StartServer,
    contract_model: ContractModel,
    tmp_path: Path,
) -> LiveServer:
    path = policy_file(tmp_path, ROLES)
    return await serve(start, storage_settings, contract_model, path)


async def http(server: LiveServer, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers=headers, timeout=DEADLINE_S)


async def ok(response: Any) -> Any:
    answer = await response
    assert answer.status_code in (200, 204), answer.text
    return answer.json() if answer.status_code == 200 else None


@pytest.fixture
async def clients(owner_server: LiveServer) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    async with await http(owner_server, ALICE) as alice, await http(owner_server, BOB) as bob:
        yield alice, bob


@pytest.mark.slow
async def test_owner_only_policy_keeps_each_user_to_their_own_on_every_route(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], contract_model: ContractModel
) -> None:
    alice, bob = clients
    assistant = await ok(alice.post("/assistants", json={"graph_id": "agent", "name": "a"}))
    assert assistant["metadata"]["owner"] == "alice"  # stamped on create
    # The system assistants' mark would make hers readable by everyone: refused.
    posing = {"graph_id": "agent", "metadata": {"created_by": "system"}}
    assert (await alice.post("/assistants", json=posing)).status_code == 403
    assistant_id = assistant["assistant_id"]
    thread = await ok(alice.post("/threads", json={"metadata": {"topic": "math"}}))
    assert thread["metadata"] == {"topic": "math", "owner": "alice"}
    thread_id = thread["thread_id"]
    await ok(alice.post(f"/threads/{thread_id}/runs/wait", json=ask("what is 6 * 7?")))
    (run,) = await ok(alice.get(f"/threads/{thread_id}/runs"))
    busy_id = (await ok(alice.post("/threads", json={})))["thread_id"]
    hanging = await ok(alice.post(f"/threads/{busy_id}/runs", json=ask("please hang")))
    async with asyncio.timeout(DEADLINE_S):
        await contract_model.started.wait()
    cron = await ok(
        alice.post(f"/threads/{thread_id}/runs/crons", json={**ask("1+1"), "schedule": "0 0 1 1 *"})
    )
    assert cron["metadata"]["owner"] == "alice"
    await ok(
        alice.put("/store/items", json={"namespace": ["alice", "notes"], "key": "k", "value": {}})
    )
    bobs_thread = (await ok(bob.post("/threads", json={})))["thread_id"]
    bobs_cron = await ok(bob.post("/runs/crons", json={**ask("2+2"), "schedule": "0 0 1 1 *"}))

    base, finished = f"/threads/{thread_id}", f"/threads/{thread_id}/runs/{run['run_id']}"
    running = f"/threads/{busy_id}/runs/{hanging['run_id']}"
    an_assistant, a_cron = f"/assistants/{assistant_id}", f"/runs/crons/{cron['cron_id']}"
    hidden: list[tuple[str, str, Any]] = [
        ("GET", base, None),
        ("PATCH", base, {"metadata": {"owner": "bob"}}),
        ("DELETE", base, None),
        ("GET", f"{base}/state", None),
        ("GET", f"{base}/state/{run['run_id']}", None),
        ("POST", f"{base}/state", {"values": {"messages": []}}),
        ("POST", f"{base}/state/checkpoint", {"checkpoint": {}}),
        ("GET", f"{base}/history", None),
        ("POST", f"{base}/history", {}),
        ("POST", f"{base}/copy", None),
        ("GET", f"{base}/stream", None),
        ("GET", f"{base}/runs", None),
        ("POST", f"{base}/runs", ask("1 + 1?")),
        ("POST", f"{base}/runs/wait", ask("1 + 1?", if_not_exists="create")),
        ("POST", f"{base}/runs/stream", ask("1 + 1?")),
        ("GET", finished, None),
        ("DELETE", finished, None),
        ("GET", f"{finished}/join", None),
        ("GET", f"{finished}/stream", None),
        ("GET", f"{running}/join", None),
        ("GET", f"{running}/stream", None),
        ("POST", f"{running}/cancel", None),
        ("POST", "/runs/cancel", {"thread_id": busy_id, "run_ids": [hanging["run_id"]]}),
        ("GET", an_assistant, None),
        ("PATCH", an_assistant, {"name": "bob's now"}),
        ("DELETE", an_assistant, None),
        ("POST", f"{an_assistant}/versions", {}),
        ("POST", f"{an_assistant}/latest", {"version": 1}),
        ("GET", f"{an_assistant}/graph", None),
        ("GET", f"{an_assistant}/schemas", None),
        ("GET", f"{an_assistant}/subgraphs", None),
        ("POST", "/runs/wait", ask("1 + 1?", assistant_id=assistant_id)),
        ("POST", "/runs/batch", [ask("1 + 1?", assistant_id=assistant_id)]),
        ("POST", f"/threads/{bobs_thread}/runs/wait", ask("1 + 1?", assistant_id=assistant_id)),
        ("GET", a_cron, None),
        ("PATCH", a_cron, {"enabled": False}),
        ("DELETE", a_cron, None),
        ("POST", f"{base}/runs/crons", {**ask("1+1"), "schedule": "0 0 1 1 *"}),
    ]
    for method, path, body in hidden:
        # (A join that wrongly follows alice's hanging run would wait for it forever.)
        async with asyncio.timeout(DEADLINE_S):
            answer = await bob.request(method, path, json=body)
        assert answer.status_code == 404, (method, path, answer.status_code, answer.text)

    # The store: another user's namespace is refused (the handler's assertion: 403).
    for method, path, body, params in [
        ("PUT", "/store/items", {"namespace": ["alice"], "key": "k", "value": {}}, None),
        ("GET", "/store/items", None, {"namespace": "alice.notes", "key": "k"}),
        ("DELETE", "/store/items", {"namespace": ["alice", "notes"], "key": "k"}, None),
        ("POST", "/store/items/search", {"namespace_prefix": ["alice"]}, None),
        ("POST", "/store/namespaces", {"prefix": ["alice"]}, None),
        ("POST", "/store/namespaces", {}, None),
    ]:
        answer = await bob.request(method, path, json=body, params=params)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["detail"] == "Not your namespace"

    # Searches and counts leave alice's out, even asked for by id or by her metadata.
    assert [t["thread_id"] for t in await ok(bob.post("/threads/search", json={}))] == [
        bobs_thread
    ]
    assert await ok(bob.post("/threads/search", json={"ids": [thread_id, busy_id]})) == []
    # (The handler rewrites the search's metadata to bob's own, as LangGraph's would.)
    asked_for_hers = await ok(bob.post("/threads/search", json={"metadata": {"owner": "alice"}}))
    assert [t["thread_id"] for t in asked_for_hers] == [bobs_thread]
    assert await ok(bob.post("/threads/count", json={})) == 1
    assert await ok(alice.post("/threads/count", json={})) == 2
    bobs_assistants = await ok(bob.post("/assistants/search", json={}))
    assert [a["metadata"] for a in bobs_assistants] == [{"created_by": "system"}]
    assert await ok(bob.post("/assistants/count", json={})) == 1
    assert [c["cron_id"] for c in await ok(bob.post("/runs/crons/search", json={}))] == [
        bobs_cron["cron_id"]
    ]
    assert await ok(bob.post("/runs/crons/count", json={})) == 1
    nothing = await bob.post("/runs/cancel", json={"status": "all"})  # alice's run is not his
    assert nothing.status_code == 404, nothing.text
    # Taking alice's thread id is refused and hands nothing over; pruning skips her threads.
    taken = await bob.post("/threads", json={"thread_id": thread_id, "if_exists": "do_nothing"})
    assert taken.status_code == 409, taken.text
    pruned = await ok(bob.post("/threads/prune", json={"thread_ids": [thread_id]}))
    assert pruned == {"pruned_count": 0}
    # Bob's own store namespace works.
    await ok(bob.put("/store/items", json={"namespace": ["bob"], "key": "k", "value": {"x": 1}}))
    assert (await ok(bob.get("/store/items", params={"namespace": "bob", "key": "k"})))["value"]

    # Alice's things are as she left them, and a patch cannot give them away.
    hers = (await ok(alice.get(base)))["metadata"]
    assert (hers["topic"], hers["owner"], hers["graph_id"]) == ("math", "alice", "agent")
    patched = await ok(alice.patch(base, json={"metadata": {"owner": "bob", "more": 1}}))
    assert patched["metadata"]["owner"] == "alice"
    copied = await ok(alice.post(f"{base}/copy"))
    assert copied["metadata"]["owner"] == "alice"
    assert [r["run_id"] for r in await ok(alice.get(f"{base}/runs"))] == [run["run_id"]]
    assert (await ok(alice.get(running)))["status"] == "running"
    assert (await ok(alice.get(an_assistant)))["version"] == 1
    assert (await ok(alice.get(a_cron)))["enabled"] is True
    cancelled = await alice.post(f"{running}/cancel", params={"wait": 1})
    assert cancelled.status_code == 200, cancelled.text


async def test_unauthenticated_requests_get_the_handlers_status_and_detail(
    owner_server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=owner_server.url, timeout=DEADLINE_S) as anonymous:
        for headers in ({}, {"Authorization": "Bearer stolen"}, {"x-api-key": "token-alice"}):
            refused = await anonymous.post("/threads/search", json={}, headers=headers)
            assert refused.status_code == 401
            assert refused.json() == {"detail": "Invalid or missing token"}
        assert (await anonymous.get("/ok")).status_code == 200  # probes need no token


@pytest.mark.slow
async def test_role_policy_lets_admins_do_all_and_viewers_only_read_what_names_them(
    roles_server: LiveServer,
) -> None:
    async with await http(roles_server, ADMIN) as ada, await http(roles_server, VIEWER) as vic:
        shared = await ok(ada.post("/threads", json={"metadata": {"readers": ["vic", "x"]}}))
        public = await ok(ada.post("/threads", json={"metadata": {"public": True}}))
        private = await ok(ada.post("/threads", json={"metadata": {"readers": ["x"]}}))
        await ok(ada.post(f"/threads/{shared['thread_id']}/runs/wait", json=ask("2 * 3?")))
        (run,) = await ok(ada.get(f"/threads/{shared['thread_id']}/runs"))
        cron_body = {**ask("1+1"), "schedule": "0 0 1 1 *", "metadata": {"readers": ["vic"]}}
        cron = await ok(ada.post("/runs/crons", json=cron_body))
        await ok(ada.post("/runs/crons", json={**cron_body, "metadata": {}}))
        await ok(ada.put("/store/items", json={"namespace": ["docs"], "key": "k", "value": {}}))
        assert await ok(ada.post("/threads/count", json={})) == 3

        seen = f"/threads/{shared['thread_id']}"
        for path in (
            seen,
            f"/threads/{public['thread_id']}",
            f"{seen}/state",
            f"{seen}/history",
            f"{seen}/runs",
            f"{seen}/runs/{run['run_id']}",
            f"{seen}/runs/{run['run_id']}/join",
            f"/runs/crons/{cron['cron_id']}",
            "/assistants/agent",
        ):
            assert (await vic.get(path)).status_code == 200, path
        found = await ok(vic.post("/threads/search", json={}))
        assert {t["thread_id"] for t in found} == {shared["thread_id"], public["thread_id"]}
        assert await ok(vic.post("/threads/count", json={})) == 2
        assert [c["cron_id"] for c in await ok(vic.post("/runs/crons/search", json={}))] == [
            cron["cron_id"]
        ]
        assert (await vic.get(f"/threads/{private['thread_id']}")).status_code == 404
        item = await ok(vic.get("/store/items", params={"namespace": "docs", "key": "k"}))
        assert item["key"] == "k"

        writes: list[tuple[str, str, Any]] = [
            ("POST", "/threads", {}),
            ("PATCH", seen, {"metadata": {"readers": []}}),
            ("DELETE", seen, None),
            ("POST", f"{seen}/state", {"values": {"messages": []}}),
            ("POST", f"{seen}/copy", None),
            ("POST", "/threads/prune", {"thread_ids": [shared["thread_id"]]}),
            ("POST", f"{seen}/runs", ask("1 + 1?")),
            ("POST", f"{seen}/runs/wait", ask("1 + 1?")),
            ("POST", "/runs/wait", ask("1 + 1?")),
            ("POST", "/runs/batch", [ask("1 + 1?")]),
            ("DELETE", f"{seen}/runs/{run['run_id']}", None),
            ("POST", f"{seen}/runs/{run['run_id']}/cancel", None),
            ("POST", "/assistants", {"graph_id": "agent"}),
            ("PATCH", "/assistants/agent", {"name": "mine"}),
            ("POST", "/runs/crons", cron_body),
            ("DELETE", f"/runs/crons/{cron['cron_id']}", None),
            ("PUT", "/store/items", {"namespace": ["docs"], "key": "k", "value": {"x": 1}}),
            ("DELETE", "/store/items", {"namespace": ["docs"], "key": "k"}),
        ]
        for method, path, body in writes:
            answer = await vic.request(method, path, json=body)
            assert answer.status_code == 403, (method, path, answer.status_code, answer.text)
        assert (await vic.post("/threads", json={})).json() == {"detail": "Forbidden"}
        assert (await vic.delete(seen)).json() == {"detail": "Viewers may only read"}

        # Nothing the viewer tried changed anything.
        assert await ok(ada.post("/threads/count", json={})) == 3
        assert (await ok(ada.get(seen)))["metadata"]["readers"] == ["vic", "x"]
        assert await ok(ada.post("/runs/crons/count", json={})) == 2
        assert (await ok(ada.get("/store/items", params={"namespace": "docs", "key": "k"})))[
            "value"
        ] == {}
        unknown = await vic.get("/ok", headers={"x-token": "nobody"})
        assert unknown.status_code == 200
        refused = await vic.post("/threads/search", json={}, headers={"x-token": "nobody"})
        assert refused.status_code == 403
        assert refused.json() == {"detail": "Unknown token"}


class SeenState(TypedDict, total=False):
    seen: dict[str, Any]


def user_echo_graph(settings: Any) -> StateGraph:
    """A graph that tells what it sees of the user in its configurable."""

    def look(state: SeenState, config: RunnableConfig) -> SeenState:
        configurable = config["configurable"]
        user = configurable["langgraph_auth_user"]
        return {
            "seen": {
                "identity": user.identity,
                "by_key": user["identity"],
                "role": getattr(user, "role", None),
                "name": getattr(user, "name", None),
                "is_authenticated": user.is_authenticated,
                "user_id": configurable["langgraph_auth_user_id"],
                "permissions": configurable["langgraph_auth_permissions"],
            }
        }

    graph = StateGraph(SeenState)
    graph.add_node("look", look)
    graph.set_entry_point("look")
    return graph


async def test_the_user_reaches_the_graphs_configurable(
    start: StartServer, tmp_path: Path
) -> None:
    server = await start(graph_factory=user_echo_graph, auth_path=policy_file(tmp_path, ROLES))
    async with get_client(url=server.url, headers=ADMIN) as ada:
        thread = await ada.threads.create()
        # A client cannot pose as another user through its own configurable.
        forged = {"langgraph_auth_user_id": "vic", "langgraph_auth_permissions": ["all"]}
        result = await ada.runs.wait(
            thread["thread_id"], "agent", input={}, config={"configurable": forged}
        )
        through_checkpoint = await ada.runs.wait(
            thread["thread_id"], "agent", input={}, checkpoint=forged
        )
        stateless = await ada.runs.wait(None, "agent", input={})
        run, *_ = await ada.runs.list(thread["thread_id"])
    # The run records its user, so a retry after a crash runs as the same user.
    recorded = run["kwargs"]["config"]["configurable"]
    assert recorded["langgraph_auth_user"]["role"] == "admin"
    assert recorded["langgraph_auth_user_id"] == "ada"
    expected = {
        "identity": "ada",
        "by_key": "ada",
        "role": "admin",
        "name": None,
        "is_authenticated": True,
        "user_id": "ada",
        "permissions": ["threads:write"],
    }
    assert result["seen"] == expected
    assert through_checkpoint["seen"] == expected
    assert stateless["seen"] == expected


async def test_the_sdk_client_sees_only_its_users_threads(
    owner_server: LiveServer,
) -> None:
    alice = get_client(url=owner_server.url, headers=ALICE)
    bob = get_client(url=owner_server.url, headers=BOB)
    nobody = get_client(url=owner_server.url, api_key=None)
    thread = await alice.threads.create(metadata={"who": "alice"})
    question = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}
    result = await alice.runs.wait(thread["thread_id"], "agent", input=question)
    assert result["messages"][-1]["content"] == "The answer is 42."
    with pytest.raises(NotFoundError):
        await bob.threads.get(thread["thread_id"])
    with pytest.raises(NotFoundError):
        await bob.runs.list(thread["thread_id"])
    with pytest.raises(PermissionDeniedError):
        await bob.store.put_item(("alice",), "k", {"v": 1})
    assert await bob.threads.search() == []
    with pytest.raises(AuthenticationError):
        await nobody.threads.search()


@pytest.mark.parametrize(
    ("text", "attribute", "cause"),
    [
        (None, "auth", "cannot import"),
        ("raise RuntimeError('broken policy')\n", "auth", "RuntimeError: broken policy"),
        ("auth = 42\n", "auth", "a int named 'auth'"),
        (OWNER_ONLY, "missing", "has no 'missing'"),
        ("from langgraph_sdk import Auth\nauth = Auth()\n", "auth", "no @auth.authenticate"),
        (
            "from langgraph_sdk import Auth\nauth = Auth()\n"
            "@auth.authenticate\nasync def who(token):\n    return 'x'\n",
            "auth",
            "asks for token",
        ),
    ],
)
def test_an_unusable_auth_path_stops_start_up_naming_the_path_and_cause(
    tmp_path: Path, text: str | None, attribute: str, cause: str
) -> None:
    path = tmp_path / "policy.py"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigurationError) as refused:
        create_app(Settings(db=tmp_path / "db.sqlite", auth_path=f"{path}:{attribute}"))
    assert str(path) in str(refused.value)
    assert cause in str(refused.value)


def test_api_keys_and_an_auth_policy_together_stop_start_up(tmp_path: Path) -> None:
    auth_path = policy_file(tmp_path, OWNER_ONLY)
    settings = Settings(db=tmp_path / "db.sqlite", auth_path=auth_path, api_keys="a:key")
    with pytest.raises(ConfigurationError, match="use one"):
        create_app(settings)


def test_a_run_read_back_from_its_record_runs_as_its_recorded_user() -> None:
    """What a replica taking over a crashed run builds: the user comes from the record, as an
    object, with no request (and so no policy caller) around."""
    now = datetime.now(UTC)
    assistant = Assistant(
        assistant_id=str(uuid4()),
        version=1,
        graph_id="agent",
        name="agent",
        description=None,
        config={},
        context={},
        metadata={},
        created_at=now,
        updated_at=now,
    )
    user = {"identity": "ada", "role": "admin", "is_authenticated": True, "display_name": "A"}
    recorded = RunCreate.model_validate(
        {
            "assistant_id": "agent",
            "config": {
                "configurable": {
                    "langgraph_auth_user": user,
                    "langgraph_auth_user_id": "ada",
                    "langgraph_auth_permissions": ["threads:write"],
                }
            },
        }
    )
    spec = RunSpec(str(uuid4()), str(uuid4()), assistant, recorded)
    configurable = spec.config()["configurable"]
    assert configurable["langgraph_auth_user"].identity == "ada"
    assert configurable["langgraph_auth_user"]["role"] == "admin"
    assert configurable["langgraph_auth_user_id"] == "ada"
    assert spec.record_kwargs()["config"]["configurable"]["langgraph_auth_user"] == user


def test_a_policy_that_judges_only_some_actions_is_warned_about_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    only_threads = (
        "from langgraph_sdk import Auth\nauth = Auth()\n"
        "@auth.authenticate\nasync def who(authorization):\n    return 'x'\n"
        "@auth.on.threads\nasync def mine(ctx, value):\n    return {'owner': 'x'}\n"
    )
    auth_path = policy_file(tmp_path, only_threads)
    create_app(Settings(db=tmp_path / "db.sqlite", auth_path=auth_path))
    (warning,) = [r.getMessage() for r in caplog.records if "no handler for" in r.getMessage()]
    assert "assistants.create" in warning and "store.put" in warning
    assert "threads." not in warning


REQUEST_PARTS = """
from langgraph_sdk import Auth
from starlette.authentication import BaseUser


class Member(BaseUser):
    def __init__(self, name):
        self.name = name

    @property
    def identity(self):
        return self.name

    @property
    def is_authenticated(self):
        return True


auth = Auth()


@auth.authenticate
async def authenticate(request, path, method, query_params, scopes):
    token = request.headers.get("x-token") or query_params.get("token")
    if token != "good":
        raise Auth.exceptions.HTTPException(401, detail=f"{method} {path} needs a token")
    return ["p1"], Member("m")
"""


async def test_authenticate_gets_the_request_parts_it_names_and_may_return_a_user_object(
    start: StartServer, tmp_path: Path
) -> None:
    path = policy_file(tmp_path, REQUEST_PARTS)
    server = await start(graph_factory=user_echo_graph, auth_path=path)
    async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE_S) as anyone:
        refused = await anyone.post("/threads/search", json={})
        assert refused.status_code == 401
        assert refused.json() == {"detail": "POST /threads/search needs a token"}
        by_query = await anyone.post("/threads/search", params={"token": "good"}, json={})
        assert by_query.status_code == 200, by_query.text
        run = {"assistant_id": "agent", "input": {}}
        ran = await anyone.post("/runs/wait", json=run, headers={"x-token": "good"})
        assert ran.status_code == 200, ran.text
    assert ran.json()["seen"] == {
        "identity": "m",
        "by_key": "m",
        "role": None,
        "name": "m",  # the user object's own attribute reaches the graph too
        "is_authenticated": True,
        "user_id": "m",
        "permissions": ["p1"],
    }
