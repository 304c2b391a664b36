"""Log lines written during a run carry its run, thread and graph ids: JSON fields, or
`key=value` pairs in text. (The real `threadloom serve` process with `LOG_FORMAT=json` is
tested in tests/e2e/test_observability.py.)"""

from __future__ import annotations

import io
import json
import logging

from threadloom.service.observability.log_context import RunIdsFilter, run_log_context
from threadloom.service.observability.log_format import JsonFormatter, TextFormatter


def _line(formatter: logging.Formatter, message: str, *args: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RunIdsFilter())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue().rstrip("\n")


def test_text_lines_carry_the_run_ids_as_pairs_once() -> None:
    assert _line(TextFormatter(), "outside a run").endswith("WARNING tests.logs outside a run")
    with run_log_context("r-1", "t-1", "agent"):
        plain = _line(TextFormatter(), "step done")
        named = _line(TextFormatter(), "run started run_id=%s", "r-1")
        entry = json.loads(_line(JsonFormatter(), "step %d done", 2))
    assert plain.endswith("step done run_id=r-1 thread_id=t-1 graph_id=agent")
    assert named.endswith("run started run_id=r-1 thread_id=t-1 graph_id=agent")
    assert entry["message"] == "step 2 done"
    assert (entry["run_id"], entry["thread_id"], entry["graph_id"]) == ("r-1", "t-1", "agent")
