"""memory-template's shape, end to end on SQLite and on PostgreSQL: a chatbot graph that enqueues
a memory graph on its own thread through `get_client()` with no URL, a store indexed with
`"openai:text-embedding-3-small"` embeddings that an OpenAI-compatible server on loopback
computes (`OPENAI_BASE_URL`), an auth handler; served by `threadloom serve --config` (a real
process), which is killed while a memory run waits and started again."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client

from tests.e2e.server_process import ServerProcess
from tests.service.deployment.parity_scenario import ALICE
from tests.service.embeddings_server import DIMS, EmbeddingsServer, embeddings_server

APP = Path(__file__).resolve().parents[1] / "parity_app"

pytestmark = pytest.mark.slow


@pytest.fixture
def openai_embeddings() -> Iterator[EmbeddingsServer]:
    with embeddings_server() as server:
        yield server


def _memory_app(folder: Path) -> Path:
    shutil.copytree(APP, folder, ignore=shutil.ignore_patterns("__pycache__"))
    config = json.loads((folder / "langgraph.json").read_text())
    config["graphs"] = {name: config["graphs"][name] for name in ("chatbot", "memory")}
    embed = {"embed": "openai:text-embedding-3-small", "dims": DIMS, "fields": ["text"]}
    config["store"] = {"index": embed}
    path = folder / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


async def _chat(url: str, thread_id: str, said: str, **context: Any) -> str:
    async with get_client(url=url, headers=ALICE) as alice:
        result = await alice.runs.wait(
            thread_id,
            "chatbot",
            input={"messages": [{"role": "user", "content": said}]},
            context={"user_id": "alice", **context},
        )
        return result["messages"][-1]["content"]


async def _settle(url: str, thread_id: str) -> list[str]:
    """Join the thread's runs; their statuses."""
    async with get_client(url=url, headers=ALICE) as alice:
        for run in await alice.runs.list(thread_id):
            await alice.runs.join(thread_id, run["run_id"])
        return sorted(run["status"] for run in await alice.runs.list(thread_id))


async def _new_thread(url: str) -> str:
    async with get_client(url=url, headers=ALICE) as alice:
        return (await alice.threads.create())["thread_id"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_memory_template_runs_end_to_end(
    backend: str,
    tmp_path: Path,
    openai_embeddings: EmbeddingsServer,
    request: pytest.FixtureRequest,
) -> None:
    env = {"OPENAI_BASE_URL": openai_embeddings.url, "OPENAI_API_KEY": "sk-loopback"}
    env["THREADLOOM_RECOVERY"] = "retry"  # see test_langgraph_parity
    if backend == "postgres":
        env["THREADLOOM_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    config = ["--config", str(_memory_app(tmp_path / "app"))]
    server = ServerProcess(tmp_path / "threadloom.sqlite", config, env=env)
    url = server.start()
    try:
        thread_id = asyncio.run(_new_thread(url))
        assert asyncio.run(_chat(url, thread_id, "I love my cat")) == "I remember: nothing yet"
        assert asyncio.run(_settle(url, thread_id)) == ["success", "success"]
        # The memory run this turn enqueues waits: the server dies before it starts.
        said = "tell me about cats"
        answer = asyncio.run(_chat(url, thread_id, said, memory_delay_s=2))
        assert answer == "I remember: I love my cat"
        server.stop(signal.SIGKILL)
        url = server.start()
        assert asyncio.run(_settle(url, thread_id)) == ["success"] * 4
    finally:
        server.stop()
    filed = [text for r in openai_embeddings.requests for text in r["input"]]
    assert {"I love my cat", "tell me about cats"} <= set(filed)
    assert all(r["model"] == "text-embedding-3-small" for r in openai_embeddings.requests)
