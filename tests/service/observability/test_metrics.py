"""`GET /metrics` scraped from the real server after real runs (the fake model): runs by graph
and status, histograms, gauges back at 0, tool calls, HTTP requests by route template, open
streams, statement latency on both backends; no id in any label; open or keyed by setting."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import httpx
import pytest

from tests.service.live_server import LiveServer, StartServer
from tests.service.metrics_scrape import UUID, Scrape, scrape
from threadloom.graphs.tool_call_observer import tool_call_listener
from threadloom.models.generation_observer import first_token_listener
from threadloom.service.observability.metrics import Metrics, statement_kind
from threadloom.service.observability.run_observer import RunObserver

UUID_ZERO = "00000000-0000-4000-8000-000000000000"
ARITHMETIC = {"messages": [{"role": "user", "content": "What is 17 * 23?"}]}


def _run(**extra: object) -> dict[str, object]:
    return {"assistant_id": "agent", "input": ARITHMETIC, **extra}


async def test_runs_tools_requests_and_statements_are_counted(each_backend: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=each_backend.url, timeout=30) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        waited = await client.post(f"/threads/{thread_id}/runs/wait", json=_run())
        assert waited.status_code == 200
        streamed = await client.post(f"/threads/{thread_id}/runs/stream", json=_run())
        assert streamed.status_code == 200 and "event: values" in streamed.text
        missing = await client.get(f"/threads/{thread_id}/runs/{UUID_ZERO}")
        assert missing.status_code == 404
        assert (await client.get("/no/such/route")).status_code == 404
        metrics = await scrape(client)

    assert metrics.value("threadloom_runs_started_total", graph_id="agent") == 2
    assert metrics.value("threadloom_runs_finished_total", graph_id="agent", status="success") == 2
    assert metrics.value("threadloom_runs_pending", graph_id="agent") == 0
    assert metrics.value("threadloom_runs_running", graph_id="agent") == 0
    duration = metrics.buckets("threadloom_run_duration_seconds", graph_id="agent")
    assert duration[-1] == (float("inf"), 2)
    assert [count for _, count in duration] == sorted(count for _, count in duration)
    assert metrics.value(
        "threadloom_run_duration_seconds_count", graph_id="agent", status="success"
    ) == 2
    assert metrics.value("threadloom_tool_calls_total", tool="calculator", outcome="success") == 2

    runs_route = "/threads/{thread_id}/runs"
    assert metrics.value(
        "threadloom_http_requests_total", method="POST", route=f"{runs_route}/wait", status="200"
    ) == 1
    assert metrics.value(
        "threadloom_http_requests_total", method="GET", route=f"{runs_route}/{{run_id}}",
        status="404",
    ) == 1
    assert metrics.value(
        "threadloom_http_requests_total", method="GET", route="unmatched", status="404"
    ) == 1
    assert metrics.value("threadloom_open_streams", route=f"{runs_route}/stream") == 0

    settings = each_backend.app.state.services.settings
    backend = "sqlite" if settings.database_url is None else "postgres"
    selects = metrics.value(
        "threadloom_db_statement_duration_seconds_count", backend=backend, statement="select"
    )
    assert selects > 0
    assert metrics.buckets(
        "threadloom_db_statement_duration_seconds", backend=backend, statement="insert"
    )[-1][1] > 0

    _assert_no_ids(metrics, thread_id)


def _assert_no_ids(metrics: Scrape, thread_id: str) -> None:
    values = metrics.label_values()
    assert not [value for value in values if UUID.search(value)], values
    assert all(thread_id not in value for value in values)
    assert all(family.name.startswith("threadloom_") for family in metrics.families)


async def test_an_open_stream_is_counted_until_it_closes(client: httpx.AsyncClient) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    route = "/threads/{thread_id}/stream"
    async with client.stream("GET", f"/threads/{thread_id}/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert (await scrape(client)).value("threadloom_open_streams", route=route) == 1
    # The server sees the disconnect on its own schedule: wait for the gauge, bounded.
    async with asyncio.timeout(10):
        while (await scrape(client)).value("threadloom_open_streams", route=route) != 0:
            await asyncio.sleep(0.05)


async def test_metrics_are_open_to_scrapers_unless_the_setting_closes_them(
    start: StartServer,
) -> None:
    keyed = await start(api_keys="ops:key-of-ops")
    closed = await start(api_keys="ops:key-of-ops", metrics_public=False)
    async with httpx.AsyncClient(timeout=20) as http:
        assert (await http.get(f"{keyed.url}/metrics")).status_code == 200
        assert (await http.get(f"{keyed.url}/threads/search")).status_code == 401
        assert (await http.get(f"{closed.url}/metrics")).status_code == 401
        with_key = await http.get(f"{closed.url}/metrics", headers={"x-api-key": "key-of-ops"})
        assert with_key.status_code == 200 and "threadloom_runs_started_total" in with_key.text
        # Refused requests are counted under their route template too.
        refused = Scrape(with_key.text)
        assert refused.value(
            "threadloom_http_requests_total", method="GET", route="/metrics", status="401"
        ) == 1


async def test_each_app_counts_apart(start: StartServer) -> None:
    first, second = await start(), await start()
    async with httpx.AsyncClient(timeout=20) as http:
        await http.post(f"{first.url}/threads", json={})
        counted = Scrape((await http.get(f"{second.url}/metrics")).text)
    assert counted.value(
        "threadloom_http_requests_total", method="POST", route="/threads", status="200"
    ) == 0


def _spec(run_id: str, graph_id: str = "agent") -> SimpleNamespace:
    return SimpleNamespace(
        run_id=run_id, thread_id="thread", assistant=SimpleNamespace(graph_id=graph_id)
    )


def test_run_gauges_follow_a_run_from_pending_to_its_end() -> None:
    metrics = Metrics()
    observer = RunObserver(metrics)
    queued, ran = _spec("queued"), _spec("ran")

    def value(name: str, **labels: str) -> float:
        return Scrape(metrics.render().decode()).value(name, **labels)

    with observer.admitted(queued), observer.admitted(ran):
        pass
    assert value("threadloom_runs_pending", graph_id="agent") == 2
    with observer.executing(ran):
        assert value("threadloom_runs_pending", graph_id="agent") == 1
        assert value("threadloom_runs_running", graph_id="agent") == 1
        listener = first_token_listener.get()
        assert listener is not None
        listener()
        listener()  # a second generation of the same run: not its first token
        tool_call_listener.get()("calculator", "timeout")  # type: ignore[misc]
    assert first_token_listener.get() is None and tool_call_listener.get() is None
    observer.ended(ran, "success")
    observer.ended(queued, "interrupted")  # cancelled before its turn
    assert value("threadloom_runs_pending", graph_id="agent") == 0
    assert value("threadloom_runs_running", graph_id="agent") == 0
    assert value("threadloom_runs_finished_total", graph_id="agent", status="interrupted") == 1
    assert value("threadloom_run_time_to_first_token_seconds_count", graph_id="agent") == 1
    assert value("threadloom_run_duration_seconds_count", graph_id="agent", status="success") == 1
    # A run that never ran has no duration.
    assert value(
        "threadloom_run_duration_seconds_count", graph_id="agent", status="interrupted"
    ) == 0
    assert value("threadloom_tool_calls_total", tool="calculator", outcome="timeout") == 1


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("SELECT 1", "select"),
        ("\n  insert INTO runs VALUES (?)", "insert"),
        ("PRAGMA user_version", "other"),
        ("", "other"),
    ],
)
def test_statement_kind_is_a_bounded_label(sql: str, kind: str) -> None:
    assert statement_kind(sql) == kind
