"""The OpenAI-compatible routes: `/v1/models`, `/v1/chat/completions`, `/v1/responses`.

Every request runs an assistant (its graph id or assistant id is the `model`) through the
`RunManager`, as `/threads/{id}/runs` does; errors answer in OpenAI's shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette import status
from starlette.responses import StreamingResponse

from threadloom.service.errors import InvalidRequest, NotFound, thread_not_found
from threadloom.service.http.deps import ServicesDep
from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.ids import new_id
from threadloom.service.protocols.openai.agent_run import AgentTurn
from threadloom.service.protocols.openai.bodies import (
    ChatCompletion,
    ChatCompletionRequest,
    ModelList,
    ModelObject,
    OpenAIErrorBody,
    ResponseObject,
    ResponseRequest,
)
from threadloom.service.protocols.openai.chat_completions import chat_completion, completion_chunks
from threadloom.service.protocols.openai.conversation import (
    chat_input,
    previous_response_not_found,
    response_point,
    responses_input,
    thread_of_chat,
)
from threadloom.service.protocols.openai.error_shape import (
    OpenAIError,
    OpenAIRoute,
    model_not_found,
)
from threadloom.service.protocols.openai.responses import (
    ResponseDraft,
    finished_response,
    response_events,
)
from threadloom.service.schemas.assistants import AssistantSearch
from threadloom.service.storage.assistants import Assistant
from threadloom.service.threads.access import thread_for_caller

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": OpenAIErrorBody,
        "description": "The body is invalid (OpenAI answers 400, not 422)",
    },
    404: {"model": OpenAIErrorBody, "description": "Unknown model, thread or previous response"},
    "default": {"model": OpenAIErrorBody, "description": "Any other error, in the same shape"},
}


def success(model: type[BaseModel], streamed: bool = False) -> dict[int | str, dict[str, Any]]:
    """The 200 answer of a route: `model` as JSON, and with `stream: true` server-sent events."""
    answer: dict[str, Any] = {"model": model, "description": "Success."}
    if streamed:
        answer["content"] = {"text/event-stream": {"schema": {"type": "string"}}}
    return {200: answer}

# The methods the catch-all route answers for unserved `/v1` routes (not OPTIONS: CORS's).
SERVED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# The most assistants `/v1/models` lists.
MODELS_LIMIT = 1000

router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIRoute, responses=ERRORS)


@router.get("/models", responses=success(ModelList))
async def list_models(services: ServicesDep) -> JsonResponse:
    """One model per assistant: a graph's own assistant under the graph id, the others under
    their assistant id."""
    assistants = await services.assistants.visible(AssistantSearch(limit=MODELS_LIMIT))
    models = ModelList(data=[_model(assistant) for assistant in assistants])
    return JsonResponse(models.model_dump())


@router.get("/models/{model}", responses=success(ModelObject))
async def get_model(model: str, services: ServicesDep) -> JsonResponse:
    return JsonResponse(_model(await _assistant(services, model)).model_dump())


@router.post(
    "/chat/completions", response_model=None, responses=success(ChatCompletion, streamed=True)
)
async def create_chat_completion(
    body: ChatCompletionRequest,
    services: ServicesDep,
    x_thread_id: Annotated[str | None, Header()] = None,
) -> JsonResponse | StreamingResponse:
    """Run the assistant on the messages; the last AI message is the completion. Naming a
    thread (`X-Thread-Id`, or `metadata.thread_id`) keeps the conversation there."""
    assistant = await _assistant(services, body.model)
    thread_id = thread_of_chat(x_thread_id, body.metadata)
    if thread_id is not None and await services.threads.hidden(thread_id):
        raise thread_not_found(thread_id)
    turn = await AgentTurn.start(
        services.run_manager,
        assistant.assistant_id,
        chat_input(body.messages, on_thread=thread_id is not None),
        thread_id=thread_id,
        metadata=body.metadata,
    )
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        return _streamed(turn, completion_chunks(turn, body.model, include_usage=include_usage))
    try:
        completion = await chat_completion(turn, body.model, stateful=thread_id is not None)
    finally:
        turn.cancel_unless_done()
    return JsonResponse(completion.model_dump())


@router.post(
    "/responses", response_model=None, responses=success(ResponseObject, streamed=True)
)
async def create_response(
    body: ResponseRequest, services: ServicesDep
) -> JsonResponse | StreamingResponse:
    """Run the assistant on `input`; `previous_response_id` goes on from that response's
    point in its thread. Without `store`, the run is stateless."""
    assistant = await _assistant(services, body.model)
    thread_id, checkpoint_id = None, None
    if body.previous_response_id is not None:
        thread_id, checkpoint_id = await _response_checkpoint(services, body.previous_response_id)
    turn = await AgentTurn.start(
        services.run_manager,
        assistant.assistant_id,
        responses_input(body.input, body.instructions),
        # A stored response needs a thread of its own to be continued from.
        thread_id=thread_id or (new_id() if body.store else None),
        checkpoint_id=checkpoint_id,
        metadata=body.metadata,
    )
    draft = ResponseDraft(
        model=body.model,
        previous_response_id=body.previous_response_id,
        instructions=body.instructions,
        metadata=body.metadata or {},
        store=body.store,
    )
    if body.stream:
        return _streamed(turn, response_events(turn, draft))
    try:
        response = await finished_response(turn, draft)
    finally:
        turn.cancel_unless_done()
    return JsonResponse(response.model_dump())


async def _assistant(services: ServicesDep, model: str) -> Assistant:
    try:
        return await services.assistants.read(model)
    except (InvalidRequest, NotFound):
        raise model_not_found(model) from None


async def _response_checkpoint(services: ServicesDep, previous: str) -> tuple[str, str]:
    """The thread and the checkpoint the response `previous` left."""
    thread_id, run_id = response_point(previous)
    if await thread_for_caller(services.threads, thread_id) is None:
        raise previous_response_not_found(previous)
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    async for saved in services.checkpointer.alist(config, filter={"run_id": run_id}, limit=1):
        return thread_id, saved.config["configurable"]["checkpoint_id"]
    raise previous_response_not_found(previous)


def _model(assistant: Assistant) -> ModelObject:
    system = assistant.metadata.get("created_by") == "system"
    return ModelObject(
        id=assistant.graph_id if system else assistant.assistant_id,
        created=int(assistant.created_at.timestamp()),
        assistant_id=assistant.assistant_id,
        graph_id=assistant.graph_id,
        name=assistant.name,
    )


def _streamed(turn: AgentTurn, frames: AsyncIterator[bytes]) -> StreamingResponse:
    """Stream `frames`; a client that leaves before the end stops the run."""

    async def body() -> AsyncIterator[bytes]:
        try:
            async for frame in frames:
                yield frame
        finally:
            turn.cancel_unless_done()

    return StreamingResponse(
        body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


@router.get("/responses/{response_id}", include_in_schema=False)
async def retrieve_response(response_id: str) -> JsonResponse:
    """Responses are not kept apart from their threads, so none can be fetched by id."""
    raise OpenAIError(
        f"Response {response_id!r} cannot be retrieved: this server does not keep responses. "
        "Continue a stored response with `previous_response_id` instead.",
        status.HTTP_404_NOT_FOUND,
        param="response_id",
        code="not_found",
    )


@router.api_route("/{path:path}", methods=SERVED_METHODS, include_in_schema=False)
async def unserved(path: str, request: Request) -> JsonResponse:
    """Any other `/v1` route, answered in OpenAI's shape (clients show `error.message`)."""
    served = [route.path for route in router.routes if isinstance(route, APIRoute)]
    if request.url.path in served:
        raise OpenAIError(
            f"{request.method} is not allowed on {request.url.path}.",
            status.HTTP_405_METHOD_NOT_ALLOWED,
        )
    raise OpenAIError(
        f"Unknown route {request.method} {request.url.path}. This server serves "
        "/v1/models, /v1/chat/completions and /v1/responses.",
        status.HTTP_404_NOT_FOUND,
        code="unknown_url",
    )
