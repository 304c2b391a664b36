"""How the server's log lines look: `text` (the default) or `json`, one object per line.

Both carry the current run's ids (`service.observability.log_context`): text as trailing
`run_id=... thread_id=... graph_id=...` pairs, JSON as fields. uvicorn's own loggers (start-up
lines and the access log) go through the same handler, so every line has the chosen format.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from threadloom.service.observability.log_context import RUN_ID_FIELDS, RunIdsFilter

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class TextFormatter(logging.Formatter):
    """`time LEVEL logger message`, then the run's ids as `key=value` pairs."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        pairs = [
            f"{field}={value}"
            for field in RUN_ID_FIELDS
            if (value := getattr(record, field, None)) and f"{field}={value}" not in line
        ]
        return " ".join([line, *pairs]) if pairs else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the run's ids
    when logged during a run, the request's fields for uvicorn's access log, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in RUN_ID_FIELDS:
            if (value := getattr(record, field, None)) is not None:
                entry[field] = value
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            entry.update(_access_fields(record.args))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _access_fields(args: tuple[Any, ...]) -> dict[str, Any]:
    # uvicorn logs each request with (client, method, path, http version, status).
    if len(args) != 5:
        return {}
    client, method, path, http_version, status = args
    return {
        "client": client, "method": method, "path": path,
        "http_version": http_version, "status": status,
    }


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs: one line per record, to stderr."""


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Send every log line (ours, uvicorn's, the libraries') to stderr in `log_format`."""
    handler = LineHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RunIdsFilter())
    root = logging.getLogger()
    # Replaces the handler an earlier call installed; others (a test's capture) stay.
    for old in [old for old in root.handlers if isinstance(old, LineHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # warnings too become lines in this format
    _through_root("transformers")
    if log_format == "json":
        _hide_progress_bars()
    # uvicorn is started with log_config=None, so its loggers reach this handler.
    for name in UVICORN_LOGGERS:
        _through_root(name)


def _through_root(name: str) -> None:
    """Make logger `name` (which a library may have given a handler of its own, as
    transformers does) write through the root's handler only."""
    logger = logging.getLogger(name)
    logger.handlers.clear()
    logger.propagate = True


def _hide_progress_bars() -> None:
    """Progress bars (model loading) are not lines a log collector can read; the loading and
    loaded lines of `models.loading` say the same in JSON."""
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as transformers_logging

    disable_progress_bars()  # downloads
    transformers_logging.disable_progress_bar()  # loading the weights
