"""Compact JSON for HTTP bodies and SSE frames, the way the LangGraph Server writes it.

Messages and other pydantic models become their `model_dump()`, dataclasses (such as
`Interrupt`) their fields, exceptions `{"error": TypeName, "message": ...}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.responses import Response

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> bytes:
    """Serialise `value` to compact UTF-8 JSON (no spaces after separators)."""
    return orjson.dumps(value, default=_fallback, option=_OPTIONS)


def loads(data: bytes | str) -> Any:
    """Parse JSON text."""
    return orjson.loads(data)


def _fallback(value: Any) -> Any:
    # orjson handles dicts, lists, dataclasses, datetimes and UUIDs; this covers the rest.
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, BaseException):
        return {"error": type(value).__name__, "message": str(value)}
    if isinstance(value, set | frozenset):
        return list(value)
    # Anything else (a tool's odd return value) is shown as text rather than failing the run.
    return str(value)


class JsonResponse(Response):
    """A JSON response encoded with `dumps`, so bodies match the SSE frames byte for byte."""

    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(content, status_code, headers, self.media_type, background)

    def render(self, content: Any) -> bytes:
        return dumps(content)
