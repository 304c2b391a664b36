"""The ids every log line written during a run carries: run_id, thread_id and graph_id.

The run manager sets them (`run_log_context`) where it creates a run's tasks, which inherit
them; `RunIdsFilter`, on the log handler, copies them onto each record, where the formatters
(`service.observability.log_format`) write them as JSON fields or `key=value` pairs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

RUN_ID_FIELDS = ("run_id", "thread_id", "graph_id")

_run_ids: ContextVar[dict[str, str] | None] = ContextVar("threadloom_run_ids", default=None)


@contextmanager
def run_log_context(run_id: str, thread_id: str, graph_id: str) -> Iterator[None]:
    """Log lines written in this context, and in tasks created in it, carry these ids."""
    token = _run_ids.set({"run_id": run_id, "thread_id": thread_id, "graph_id": graph_id})
    try:
        yield
    finally:
        _run_ids.reset(token)


class RunIdsFilter(logging.Filter):
    """Puts the current run's ids on each record as attributes (None outside a run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _run_ids.get() or {}
        for field in RUN_ID_FIELDS:
            if not hasattr(record, field):  # an explicit `extra=` wins
                setattr(record, field, ids.get(field))
        return True
