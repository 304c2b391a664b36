"""What the routes answer, as pydantic models for the OpenAPI document, and `answers`, the one
way a route declares its responses.

Routes still answer with `JsonResponse` (the models document, they do not filter or re-encode).
Every route declares its success body and the errors it can answer itself:

    @router.get("/{thread_id}", responses=answers(Thread, 404))
    @router.post("/stream", responses=answers(SSE, 404, 409), response_class=EventSourceResponse)
    @router.delete("/{thread_id}", status_code=204, responses=answers(None, 404))

`answers(model, *codes)`: `model` is the 200 body (`None` for no body, `SSE` for an event
stream), `codes` the error statuses (each with the `{"detail": ...}` body, `ErrorBody`).
Errors that every route can answer are added to the document once by `service.http.openapi`: 422
(invalid input, and the JSON body checks), 408/413 on routes with a body, 401 and 429 with API
keys on. A new route that forgets `answers` gets no 200 schema: the schemathesis suite
(tests/service/http/test_openapi_conformance.py) then reports it.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

# What a route that starts runs can answer besides 422.
RUN_ERRORS = (400, 404, 409, 501, 503)
# Why each error status is answered, as the document says it.
ERROR_DESCRIPTIONS = {
    400: (
        "The request contradicts itself or the resource it acts on, or its body cannot be "
        "parsed (not UTF-8)."
    ),
    401: "No API key, or an unknown one (API keys are on).",
    403: "The key may see the resource but not change it.",
    404: "The resource does not exist (or belongs to another owner).",
    408: "The request body did not arrive in time.",
    409: "The request conflicts with the current state (a busy thread, an existing id).",
    413: "The request body is larger than the server accepts.",
    422: "The input is invalid or out of bounds; the detail names the field and the bound.",
    429: "This API key has too many requests open.",
    501: "A LangGraph Server option this server does not implement.",
    503: "The server is shutting down and takes no new runs.",
}


class ErrorBody(BaseModel):
    """Every error answer: one readable sentence (or several lines) saying what to change."""

    detail: str


class SSE:
    """Marks a route that answers a `text/event-stream` of SSE frames."""


class _Answer(BaseModel):
    # Newer servers may add fields; clients must ignore the ones they do not know.
    model_config = ConfigDict(extra="allow")


class Thread(_Answer):
    thread_id: str
    created_at: datetime
    updated_at: datetime
    state_updated_at: datetime | None = None
    metadata: dict[str, Any]
    status: str
    config: dict[str, Any]
    values: Any
    interrupts: Any
    error: Any = None


class Run(_Answer):
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: datetime
    updated_at: datetime
    status: str
    metadata: dict[str, Any]
    kwargs: dict[str, Any]
    multitask_strategy: str


class AssistantVersion(_Answer):
    assistant_id: str
    graph_id: str
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: dict[str, Any]
    name: str
    created_at: datetime
    version: int
    description: str | None


class Assistant(AssistantVersion):
    updated_at: datetime


class Cron(_Answer):
    cron_id: str
    assistant_id: str | None
    thread_id: str | None
    user_id: str | None
    end_time: datetime | None
    schedule: str
    timezone: str | None
    payload: dict[str, Any]
    next_run_date: datetime | None
    metadata: dict[str, Any]
    on_run_completed: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime


class Item(_Answer):
    namespace: list[str]
    key: str
    value: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class SearchItem(Item):
    score: float | None


class SearchItems(_Answer):
    items: list[SearchItem]


class Namespaces(_Answer):
    namespaces: list[list[str]]


class ThreadState(_Answer):
    values: Any
    next: list[str]
    tasks: list[dict[str, Any]]
    metadata: dict[str, Any] | None
    created_at: str | None
    checkpoint: dict[str, Any] | None
    parent_checkpoint: dict[str, Any] | None = None
    interrupts: Any = None


class StateWritten(_Answer):
    checkpoint: dict[str, Any]
    configurable: dict[str, Any]
    checkpoint_id: str


class Pruned(_Answer):
    pruned_count: int


class Ok(_Answer):
    ok: bool


class Info(_Answer):
    version: str
    langgraph_py_version: str
    flags: dict[str, Any]
    host: dict[str, Any]
    # The remote model servers tried, how to point at each, and what was verified.
    remote_servers: list[dict[str, Any]]
    # The configured model: name, remote or not, state (loading / ready / failed), error.
    model: dict[str, Any]


class RunResult(BaseModel):
    """The run's final values, or `{"__error__": ...}` / `{"__interrupt__": [...]}`."""

    model_config = ConfigDict(extra="allow")


class Stopped(_Answer):
    """An empty object: the run has stopped."""


@cache
def selectable(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with every field optional: a search's `select` keeps only the fields it names."""
    fields: dict[str, Any] = {
        name: (info.annotation, None) for name, info in model.model_fields.items()
    }
    return create_model(f"Selected{model.__name__}", __base__=_Answer, **fields)


def answers(model: Any, *codes: int, status_code: int = 200) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: its success body `model` and its own error `codes`."""
    responses: dict[int | str, dict[str, Any]] = {}
    if model is SSE:
        responses[status_code] = {
            "description": "Server-sent events (`event:`, `data:` JSON, `id:` lines).",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    elif model is None:
        responses[status_code] = {"description": "Done; no body."}
    else:
        responses[status_code] = {"model": model, "description": "Success."}
    for code in codes:
        responses[code] = {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[code]}
    return responses
