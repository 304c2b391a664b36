"""A user's LangGraph app, made in a temporary folder, served by `threadloom serve --config`
(a real process) and by `langgraph dev` from the same `langgraph.json`; the SDK contract holds on
both, and the app's threads survive threadloom being killed and started again.

The app is what a user brings: its own `langgraph.json`, a graph with a custom state and an
interrupt (a copy of `counter_graph.py`), a factory graph that reads its `env` and the run's
config, its own top-level `tools`, `models`, `utils` and `graphs` packages (names threadloom must
not occupy), a web app of its own (`http.app`), an auth policy (`auth.path`: each user sees only
their own threads) and a store with semantic search through its own embed function
(`store.index`). `SAMPLE_FILES` and `SAMPLE_CONFIG` are the whole app.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import AuthenticationError, NotFoundError

from tests.e2e.server_process import ServerProcess
from tests.service.counter_graph import HANG
from tests.service.routes.test_sdk_contract import langgraph_dev
from tests.service.sdk_contract import check_contract

HERE = Path(__file__).resolve().parents[1]

SAMPLE_CONFIG: dict[str, Any] = {
    "dependencies": ["."],
    "graphs": {
        "counter": "./graphs/counter.py:graph",
        "greeter": "./graphs/greeter.py:make_graph",
    },
    "env": {"SAMPLE_GREETING": "Ahoy"},
    "http": {"app": "./webapp.py:app"},
    "auth": {"path": "./auth.py:auth"},
    "store": {"index": {"embed": "./embed.py:embed", "dims": 3, "fields": ["text"]}},
    "python_version": "3.11",
}

SAMPLE_FILES: dict[str, str] = {
    "graphs/__init__.py": "",
    "graphs/counter.py": (HERE / "counter_graph.py").read_text(),
    "graphs/greeter.py": '''
"""A factory graph: made for each run, from the app's env and the run's config."""

import os

from langchain_core.runnables import RunnableConfig
from langgraph.graph import StateGraph
from typing_extensions import TypedDict

from models.greeting import Greeting
from tools.shout import shout
from utils.marks import DEFAULT_MARK


class GreeterState(TypedDict, total=False):
    name: str
    greeting: str


def make_graph(config: RunnableConfig) -> StateGraph:
    greeting = Greeting(os.environ["SAMPLE_GREETING"])
    mark = config.get("configurable", {}).get("mark", DEFAULT_MARK)

    def greet(state: GreeterState) -> GreeterState:
        return {"greeting": shout(greeting.to(state["name"])) + mark}

    builder = StateGraph(GreeterState)
    builder.add_node("greet", greet)
    builder.set_entry_point("greet")
    return builder
''',
    "models/__init__.py": "",
    "models/greeting.py": """
from dataclasses import dataclass


@dataclass(frozen=True)
class Greeting:
    word: str

    def to(self, name: str) -> str:
        return f"{self.word}, {name}"
""",
    "tools/__init__.py": "",
    "tools/shout.py": "def shout(text: str) -> str:\n    return text.upper()\n",
    "utils/__init__.py": "",
    "utils/marks.py": 'DEFAULT_MARK = "!"\n',
    "auth.py": '''
"""Users are named by their bearer token; no token is the anonymous user. Each user sees only
the threads (and their runs) they made; assistants, crons and the store are shared."""

from langgraph_sdk import Auth

auth = Auth()


@auth.authenticate
async def authenticate(authorization: str | None) -> str:
    if authorization is None:
        return "anonymous"
    scheme, _, user = authorization.partition(" ")
    if scheme.lower() != "bearer" or not user.isalnum():
        raise Auth.exceptions.HTTPException(status_code=401, detail="Use: Bearer <user name>")
    return user


@auth.on.threads
async def own_threads(ctx: Auth.types.AuthContext, value: dict) -> dict:
    owner = {"owner": ctx.user.identity}
    value.setdefault("metadata", {}).update(owner)
    return owner
''',
    "embed.py": '''
"""A toy embedding: how much a text is about fruit, animals and numbers."""

TOPICS = (("apple", "pear", "fruit"), ("zebra", "lion", "animal"), ("one", "two", "number"))


async def embed(texts: list[str]) -> list[list[float]]:
    return [[float(sum(text.count(word) for word in topic)) + 0.01 for topic in TOPICS]
            for text in texts]
''',
    "webapp.py": """
from fastapi import FastAPI

from tools.shout import shout

app = FastAPI()


@app.get("/sample/hello")
async def hello():
    return {"said": shout("hello")}
""",
}


def make_sample_app(folder: Path) -> Path:
    """Write the app into `folder`; returns its langgraph.json."""
    for name, text in SAMPLE_FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip())
    config = folder / "langgraph.json"
    config.write_text(json.dumps(SAMPLE_CONFIG, indent=2))
    return config


async def check_sample_app(url: str) -> None:
    """The contract on the counter graph, and what only this app's own graphs can show."""
    await check_contract(url, agent=None, counter="counter")
    async with get_client(url=url, timeout=60) as client:
        greeted = await client.runs.wait(None, "greeter", input={"name": "ada"})
        assert greeted == {"name": "ada", "greeting": "AHOY, ADA!"}
        asking = await client.assistants.create("greeter", config={"configurable": {"mark": "?"}})
        greeted = await client.runs.wait(None, asking["assistant_id"], input={"name": "bo"})
        assert greeted["greeting"] == "AHOY, BO?"  # the factory got the run's config
        schemas = await client.assistants.get_schemas(asking["assistant_id"])
        assert set(schemas["state_schema"]["properties"]) == {"name", "greeting"}
        ids = {
            a["graph_id"] for a in await client.assistants.search(metadata={"created_by": "system"})
        }
        assert ids == {"counter", "greeter"}
        await client.assistants.delete(asking["assistant_id"])
    async with httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/sample/hello")).json() == {"said": "HELLO"}
    await check_auth_policy(url)
    await check_semantic_store(url)


async def check_auth_policy(url: str) -> None:
    """The app's policy: a thread is its maker's alone; a bad token is refused."""
    alice = get_client(url=url, headers={"Authorization": "Bearer alice"})
    bob = get_client(url=url, headers={"Authorization": "Bearer bob"})
    thread = await alice.threads.create()
    assert thread["metadata"]["owner"] == "alice"
    with pytest.raises(NotFoundError):
        await bob.threads.get(thread["thread_id"])
    assert thread["thread_id"] not in {t["thread_id"] for t in await bob.threads.search()}
    assert thread["thread_id"] in {t["thread_id"] for t in await alice.threads.search()}
    with pytest.raises(AuthenticationError):
        await get_client(url=url, headers={"Authorization": "Basic x"}).threads.search()


async def check_semantic_store(url: str) -> None:
    """Store items ranked by the app's own embed function."""
    async with get_client(url=url) as client:
        namespace = ("sample", "notes")
        await client.store.put_item(namespace, "fruit", {"text": "an apple and a pear"})
        await client.store.put_item(namespace, "zoo", {"text": "a zebra and a lion"})
        found = await client.store.search_items(namespace, query="which animal", limit=2)
        ranked = [item["key"] for item in found["items"]]
        assert ranked == ["zoo", "fruit"]
        assert found["items"][0]["score"] > found["items"][1]["score"]


async def start_hanging_counter(client: LangGraphClient, thread_id: str) -> str:
    """A counter run that waits in `add` until cancelled, its input checkpointed."""
    created: list[Any] = []
    parts = client.runs.stream(
        thread_id,
        "counter",
        input={"added": [HANG]},
        stream_mode="values",
        durability="sync",
        on_run_created=created.append,
    )
    async for part in parts:
        if part.event == "values":
            break
    await parts.aclose()
    return created[0]["run_id"]


@pytest.mark.slow
async def test_threadloom_serves_the_users_app_and_its_threads_survive_a_crash(
    tmp_path: Path,
) -> None:
    config = make_sample_app(tmp_path / "app")
    db = tmp_path / "threadloom.sqlite"
    first = ServerProcess(db, ["--config", str(config)])
    try:
        url = first.start()
        await check_sample_app(url)
        async with get_client(url=url, timeout=60) as client:
            counted = (await client.threads.create())["thread_id"]
            paused = await client.runs.wait(counted, "counter", input={"added": [70, 40]})
            assert paused["__interrupt__"][0]["value"]["total"] == 110
            greeted = (await client.threads.create())["thread_id"]
            await client.runs.wait(greeted, "greeter", input={"name": "cy"})
            cut = (await client.threads.create())["thread_id"]
            cut_run = await start_hanging_counter(client, cut)
    finally:
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL

    second = ServerProcess(db, ["--config", str(config)])
    try:
        url = second.start()
        async with get_client(url=url, timeout=60) as client:
            thread = await client.threads.get(counted)
            assert thread["status"] == "interrupted"
            assert (await client.threads.get_state(counted))["next"] == ["review"]
            done = await client.runs.wait(counted, "counter", command={"resume": "keep"})
            assert done == {"added": [70, 40], "total": 110, "verdict": "kept"}
            state = await client.threads.get_state(greeted)
            assert state["values"] == {"name": "cy", "greeting": "AHOY, CY!"}
            # The run the crash cut short is settled; its thread waits at the step it was in.
            assert (await client.runs.get(cut, cut_run))["status"] == "interrupted"
            assert (await client.threads.get(cut))["status"] == "interrupted"
            assert (await client.threads.get_state(cut))["next"] == ["add"]
    finally:
        assert second.stop() == 0


@pytest.mark.slow
@pytest.mark.langgraph_dev
async def test_langgraph_dev_serves_the_same_app(tmp_path: Path) -> None:
    with langgraph_dev(make_sample_app(tmp_path / "app")) as url:
        await check_sample_app(url)
