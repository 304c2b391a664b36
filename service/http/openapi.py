"""`install_openapi`: the app's OpenAPI document, completed with what every route can answer.

Routes declare their own answers (`service.schemas.responses.answers`); this adds, once, the
errors that come from the layers around them: 422 as `{"detail": ...}` (the shape we send,
not FastAPI's list), 408 and 413 on routes that take a body (`service.http.limits`), 400 on those
too (a body that is not UTF-8 text cannot be parsed at all), and 401 and 429
on every route but the open ones when API keys are on. The OpenAI-compatible routes (`/v1/...`)
answer a bad body with 400 and a missing key with 401 in OpenAI's error shape, as their clients
expect; what the layers around them refuse (an unreadable body's 422, 408, 413, 429) keeps ours.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from threadloom.service.auth.api_keys import OPEN_PATHS
from threadloom.service.protocols.openai.error_shape import PREFIX as OPENAI_PREFIX
from threadloom.service.schemas.responses import ERROR_DESCRIPTIONS, ErrorBody

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_OPENAI_ERROR_REF = {"$ref": "#/components/schemas/OpenAIErrorBody"}
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


def install_openapi(
    app: FastAPI, *, auth_on: bool, open_paths: frozenset[str] = OPEN_PATHS
) -> None:
    """Make `app.openapi()` build (once) the completed document; `open_paths` need no key."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = complete(document, auth_on=auth_on, open_paths=open_paths)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(
    document: dict[str, Any], *, auth_on: bool, open_paths: frozenset[str] = OPEN_PATHS
) -> dict[str, Any]:
    """`document` with the shared error answers added to each operation."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            openai = path.startswith(OPENAI_PREFIX)
            codes = set()
            if operation.get("parameters") and not openai:
                codes.add(422)
            if "requestBody" in operation:
                codes |= {408, 413, 422}  # 422: also the JSON guard's, before any route
                if not openai:
                    codes.add(400)
            if auth_on and path not in open_paths:
                codes |= {401, 429}
            responses = operation.setdefault("responses", {})
            for answer in responses.values():
                _drop_default_type(answer)
            for code in sorted(codes):
                responses[str(code)] = _error(code, openai and code == 401)
    return document


def _drop_default_type(answer: dict[str, Any]) -> None:
    # FastAPI gives our JsonResponse class the schema {"type": "string"} and merges a route's
    # model into it ({"type": "string", "$ref": ...}): the model alone is the truth.
    schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
    if schema.get("type") == "string" and len(schema) > 1:
        del schema["type"]


def _error(code: int, openai_shape: bool = False) -> dict[str, Any]:
    schema = _OPENAI_ERROR_REF if openai_shape else _ERROR_REF
    content = {"application/json": {"schema": schema}}
    return {"description": ERROR_DESCRIPTIONS[code], "content": content}
