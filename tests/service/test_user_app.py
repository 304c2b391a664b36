"""A user's LangGraph app, made in a temporary folder, served by `threadloom serve --config`
(a real process) and by `langgraph dev` from the same `langgraph.json`; the SDK contract holds on
both, and the app's threads survive threadloom being killed and started again.

The app is what a user brings: its own `langgraph.json`, a graph with a custom state and an
interrupt (a copy of `counter_graph.py`), a factory graph that reads its `env` and the run's
config, its own top-level `tools`, `models`, `utils` and `graphs` packages (names threadloom must
not occupy), and a web app of its own (`http.app`). `SAMPLE_FILES` and `SAMPLE_CONFIG` are the
whole app: a key added to the config (`auth`, `store`...) with its files is served by both.
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

from tests.e2e.server_process import ServerProcess
from tests.service.counter_graph import HANG
from tests.service.sdk_contract import check_contract
from tests.service.test_sdk_contract import langgraph_dev

HERE = Path(__file__).resolve().parent

SAMPLE_CONFIG: dict[str, Any] = {
    "dependencies": ["."],
    "graphs": {
        "counter": "./graphs/counter.py:graph",
        "greeter": "./graphs/greeter.py:make_graph",
    },
    "env": {"SAMPLE_GREETING": "Ahoy"},
    "http": {"app": "./webapp.py:app"},
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
