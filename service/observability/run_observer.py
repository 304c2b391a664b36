"""`RunObserver`: what the run manager says about each run, turned into metrics and log ids.

The manager calls three hooks: `admitted` (around creating the run's tasks, which inherit the
run's log ids), `executing` (around the graph's execution: the run is running; its model's
first token and its tool calls are heard through the context variables of
`models.generation_observer` and `graphs.tool_call_observer`), and `ended` (with the status).
Without `Metrics`, only the log ids are set.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from threadloom.graphs.tool_call_observer import tool_call_listener
from threadloom.models.generation_observer import first_token_listener
from threadloom.service.observability.log_context import run_log_context
from threadloom.service.observability.metrics import Metrics
from threadloom.service.runs.spec import RunSpec


@dataclass
class _RunTimes:
    graph_id: str
    admitted_at: float
    started_at: float | None = None
    first_token_seen: bool = False


class RunObserver:
    """Counts runs by graph and status, times them, and keeps the pending/running gauges."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics
        self._runs: dict[str, _RunTimes] = {}

    @contextmanager
    def admitted(self, spec: RunSpec) -> Iterator[None]:
        """The run was admitted; tasks created in this context log with its ids."""
        graph_id = spec.assistant.graph_id
        if self._metrics is not None and spec.run_id not in self._runs:
            self._runs[spec.run_id] = _RunTimes(graph_id, time.perf_counter())
            self._metrics.runs_started.labels(graph_id).inc()
            self._metrics.runs_pending.labels(graph_id).inc()
        with run_log_context(spec.run_id, spec.thread_id, graph_id):
            yield

    @contextmanager
    def executing(self, spec: RunSpec) -> Iterator[None]:
        """The run's turn came: it runs until this context ends."""
        times = self._runs.get(spec.run_id)
        if self._metrics is None or times is None:
            yield
            return
        times.started_at = time.perf_counter()
        self._metrics.runs_pending.labels(times.graph_id).dec()
        self._metrics.runs_running.labels(times.graph_id).inc()
        first_token = first_token_listener.set(lambda: self._first_token(times))
        tool_call = tool_call_listener.set(self._metrics.count_tool_call)
        try:
            yield
        finally:
            tool_call_listener.reset(tool_call)
            first_token_listener.reset(first_token)

    def ended(self, spec: RunSpec, status: str) -> None:
        """The run ended with `status`; call once, whether or not it got to run."""
        times = self._runs.pop(spec.run_id, None)
        if self._metrics is None or times is None:
            return
        metrics, graph_id = self._metrics, times.graph_id
        metrics.runs_finished.labels(graph_id, status).inc()
        if times.started_at is None:
            metrics.runs_pending.labels(graph_id).dec()
            return
        metrics.runs_running.labels(graph_id).dec()
        duration = time.perf_counter() - times.started_at
        metrics.run_duration.labels(graph_id, status).observe(duration)

    def _first_token(self, times: _RunTimes) -> None:
        if times.first_token_seen or self._metrics is None:
            return
        times.first_token_seen = True
        elapsed = time.perf_counter() - times.admitted_at
        self._metrics.run_first_token.labels(times.graph_id).observe(elapsed)
