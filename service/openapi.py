"""`install_openapi`: the app's OpenAPI document, completed with what every route can answer.

Routes declare their own answers (`service.schemas.responses.answers`); this adds, once, the
errors that come from the layers around them: 422 as `{"detail": ...}` (the shape we send,
not FastAPI's list), 408 and 413 on routes that take a body (`service.limits`), and 401 and 429
on every route but the open ones when API keys are on.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from threadloom.service.auth import OPEN_PATHS
from threadloom.service.schemas.responses import ERROR_DESCRIPTIONS, ErrorBody

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


def install_openapi(app: FastAPI, *, auth_on: bool) -> None:
    """Make `app.openapi()` build (once) the completed document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = complete(document, auth_on=auth_on)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any], *, auth_on: bool) -> dict[str, Any]:
    """`document` with the shared error answers added to each operation."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            codes = set()
            if operation.get("parameters") or "requestBody" in operation:
                codes.add(422)
            if "requestBody" in operation:
                codes |= {408, 413}
            if auth_on and path not in OPEN_PATHS:
                codes |= {401, 429}
            responses = operation.setdefault("responses", {})
            for answer in responses.values():
                _drop_default_type(answer)
            for code in sorted(codes):
                responses[str(code)] = _error(code)
    return document


def _drop_default_type(answer: dict[str, Any]) -> None:
    # FastAPI gives our JsonResponse class the schema {"type": "string"} and merges a route's
    # model into it ({"type": "string", "$ref": ...}): the model alone is the truth.
    schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
    if schema.get("type") == "string" and len(schema) > 1:
        del schema["type"]


def _error(code: int) -> dict[str, Any]:
    return {
        "description": ERROR_DESCRIPTIONS[code],
        "content": {"application/json": {"schema": _ERROR_REF}},
    }
