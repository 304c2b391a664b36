"""Replicas on one PostgreSQL database serve the graphs of one langgraph.json together: a thread
of any graph started on one replica goes on, and is described, on the other."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph_sdk import get_client

from tests.service.live_server import StartServer
from tests.service.routes.test_sdk_contract import contract_config

pytestmark = pytest.mark.postgres


async def test_an_interrupted_counter_started_on_one_replica_resumes_on_the_other(
    start: StartServer, postgres_url: str, tmp_path: Path
) -> None:
    config = contract_config(tmp_path)
    shared = {"database_url": postgres_url, "db": tmp_path / "unused.sqlite"}
    one = await start(config=config, replica_id="one", **shared)
    other = await start(config=config, replica_id="other", **shared)
    async with get_client(url=one.url) as first, get_client(url=other.url) as second:
        thread_id = (await first.threads.create())["thread_id"]
        paused = await first.runs.wait(thread_id, "counter", input={"added": [90, 20]})
        assert paused["__interrupt__"][0]["value"]["total"] == 110

        assert (await second.threads.get(thread_id))["status"] == "interrupted"
        assert (await second.threads.get_state(thread_id))["next"] == ["review"]
        done = await second.runs.wait(thread_id, "counter", command={"resume": "keep"})
        assert done == {"added": [90, 20], "total": 110, "verdict": "kept"}
        filed = await first.store.get_item(["counters"], thread_id)
        assert filed is not None and filed["value"] == {"total": 110}

        # Assistants made on one replica run their graph on the other.
        own = await first.assistants.create("counter", metadata={"made_on": "one"})
        again = await second.runs.wait(None, own["assistant_id"], input={"added": [1]})
        assert again == {"added": [1], "total": 1, "verdict": "ok"}
        systems = await second.assistants.search(metadata={"created_by": "system"})
        assert sorted(a["graph_id"] for a in systems) == ["agent", "counter"]
