"""`Metrics`: every Prometheus metric of one app, in the app's own registry.

Each app (`create_app`) makes one; nothing is registered globally, so two apps in one process
(tests, an embedding application) count apart. Label values are bounded: graph ids, statuses,
route templates, tool names the server knows; never a run, thread or assistant id.

One process serves each replica (`threadloom serve` runs one uvicorn worker; scale out with
more replicas on one PostgreSQL), so each replica's `/metrics` reports that replica and
Prometheus adds them up. prometheus_client's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`)
is for several worker processes behind one port, which threadloom never runs; the model and
run gauges are read from this process's objects at scrape time and could not be shared anyway.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from threadloom.service.observability.model_collector import ModelCollector

RUN_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
FIRST_TOKEN_SECONDS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
HTTP_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STATEMENT_SECONDS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)
# Labelled series kept per statement text (bounded: queries are built from a few templates).
SERIES_CACHE_SIZE = 4096
STATEMENT_KINDS = frozenset({"select", "insert", "update", "delete", "with", "create", "alter"})


class Metrics:
    """The app's registry and its metrics; `render()` is what `GET /metrics` answers."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.runs_started = Counter(
            "threadloom_runs_started_total", "Runs admitted, by graph.",
            ["graph_id"], registry=registry,
        )
        self.runs_finished = Counter(
            "threadloom_runs_finished_total", "Runs ended, by graph and final status.",
            ["graph_id", "status"], registry=registry,
        )
        self.run_duration = Histogram(
            "threadloom_run_duration_seconds",
            "From a run's turn (it starts executing) to its end.",
            ["graph_id", "status"], buckets=RUN_SECONDS, registry=registry,
        )
        self.run_first_token = Histogram(
            "threadloom_run_time_to_first_token_seconds",
            "From a run's admission to the first token of its first local model generation.",
            ["graph_id"], buckets=FIRST_TOKEN_SECONDS, registry=registry,
        )
        self.runs_pending = Gauge(
            "threadloom_runs_pending", "Runs admitted here and waiting for their turn.",
            ["graph_id"], registry=registry,
        )
        self.runs_running = Gauge(
            "threadloom_runs_running", "Runs executing here.", ["graph_id"], registry=registry,
        )
        self.tool_calls = Counter(
            "threadloom_tool_calls_total", "Tool calls of the agent's tools node, by outcome.",
            ["tool", "outcome"], registry=registry,
        )
        self.http_requests = Counter(
            "threadloom_http_requests_total", "HTTP requests answered, by route template.",
            ["method", "route", "status"], registry=registry,
        )
        self.http_duration = Histogram(
            "threadloom_http_request_duration_seconds",
            "From a request's arrival to the end of its response (a stream's whole life).",
            ["method", "route"], buckets=HTTP_SECONDS, registry=registry,
        )
        self.open_streams = Gauge(
            "threadloom_open_streams", "Server-sent event streams open now, by route template.",
            ["route"], registry=registry,
        )
        self.statement_duration = Histogram(
            "threadloom_db_statement_duration_seconds",
            "Statements on the service's tables, by backend and kind (the first SQL keyword).",
            ["backend", "statement"], buckets=STATEMENT_SECONDS, registry=registry,
        )
        registry.register(ModelCollector())
        self._statement_series: dict[tuple[str, str], Any] = {}

    def count_tool_call(self, tool: str, outcome: str) -> None:
        """A tool call ended (the listener of `graphs.tool_call_observer`)."""
        self.tool_calls.labels(tool, outcome).inc()

    def observe_statement(self, backend: str, sql: str, seconds: float) -> None:
        """A `StatementObserver` (see `service.storage.timed_database`)."""
        # Runs on every statement: the labelled series is looked up once per SQL text.
        series = self._statement_series.get((backend, sql))
        if series is None:
            series = self.statement_duration.labels(backend, statement_kind(sql))
            if len(self._statement_series) < SERIES_CACHE_SIZE:
                self._statement_series[(backend, sql)] = series
        series.observe(seconds)

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


@lru_cache(maxsize=1024)
def statement_kind(sql: str) -> str:
    """The statement's first keyword, lower case ("other" for any but the common ones)."""
    words = sql.split(maxsplit=1)
    kind = words[0].lower() if words else ""
    return kind if kind in STATEMENT_KINDS else "other"
