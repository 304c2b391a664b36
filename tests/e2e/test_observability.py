"""What an operator sees of `threadloom serve` with the bundled model, after one real run:
the model's token and batching metrics and the run's time to first token on `/metrics`, the
model's state on `/info`, and JSON log lines that carry the run's ids (`LOG_FORMAT=json`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.server_process import ServerProcess
from tests.service.metrics_scrape import UUID, Scrape, scrape_sync


@dataclass(frozen=True)
class Observed:
    server: ServerProcess
    thread_id: str
    run_id: str
    metrics: Scrape
    info: dict


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    db: Path = tmp_path_factory.mktemp("observability") / "threadloom.sqlite"
    server = ServerProcess(db, env={"LOG_FORMAT": "json"})
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=300) as client:
            thread_id = client.post("/threads", json={}).json()["thread_id"]
            body = {"assistant_id": "agent", "input": {"messages": [("user", "compute 17*23")]}}
            ran = client.post(f"/threads/{thread_id}/runs/wait", json=body)
            assert ran.status_code == 200 and "391" in ran.json()["messages"][-1]["content"]
            run_id = ran.headers["content-location"].rsplit("/", 1)[1]
            server.wait_for_log("run finished")
            info = client.get("/info").json()
        yield Observed(server, thread_id, run_id, scrape_sync(server.url), info)
    finally:
        server.stop()


def test_model_tokens_throughput_and_batch_state_are_exported(observed: Observed) -> None:
    metrics = observed.metrics
    tokens = metrics.value("threadloom_model_generated_tokens_total", model="bundled")
    assert tokens > 10  # a tool call and an answer
    assert metrics.value("threadloom_model_busy_seconds_total", model="bundled") > 0
    assert metrics.value("threadloom_model_tokens_per_second", model="bundled") > 0
    # The run is over: nothing decodes or waits.
    assert metrics.value("threadloom_model_batch_size", model="bundled") == 0
    assert metrics.value("threadloom_model_queue_depth", model="bundled") == 0


def test_the_run_is_counted_with_its_first_token_and_tool_call(observed: Observed) -> None:
    metrics = observed.metrics
    assert metrics.value("threadloom_runs_finished_total", graph_id="agent", status="success") == 1
    first_token = metrics.buckets("threadloom_run_time_to_first_token_seconds", graph_id="agent")
    assert first_token[-1] == (float("inf"), 1)  # one run, timed once over its generations
    assert metrics.value("threadloom_tool_calls_total", tool="calculator", outcome="success") == 1
    assert metrics.value("threadloom_runs_running", graph_id="agent") == 0
    values = metrics.label_values()
    assert not [value for value in values if UUID.search(value)], values


def test_info_reports_the_model_ready(observed: Observed) -> None:
    model = observed.info["model"]
    assert model["name"] == "bundled" and model["state"] == "ready" and model["error"] is None
    assert model["load_seconds"] > 0


def test_every_log_line_is_json_and_the_run_lines_carry_its_ids(observed: Observed) -> None:
    entries = [json.loads(line) for line in observed.server.log]  # each line one object
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    of_run = [entry for entry in entries if entry.get("run_id") == observed.run_id]
    messages = [entry["message"] for entry in of_run]
    assert any(m.startswith("run started") for m in messages), messages
    assert any(m.startswith("run finished") for m in messages), messages
    assert all(
        (entry["thread_id"], entry["graph_id"]) == (observed.thread_id, "agent")
        for entry in of_run
    )
    assert any(entry["message"].startswith("loaded model=bundled") for entry in entries)
    access = [entry for entry in entries if entry["logger"] == "uvicorn.access"]
    wait = next(entry for entry in access if entry["path"].endswith("/runs/wait"))
    assert (wait["method"], wait["status"]) == ("POST", 200)
    assert all("run_id" not in entry for entry in access)  # requests are not runs
