"""A2A: each assistant is an agent at `/a2a/{assistant_id}` (JSON-RPC 2.0), with its agent card
at `/a2a/{assistant_id}/.well-known/agent-card.json` and
`/.well-known/agent-card.json?assistant_id=...`, as LangGraph Server serves them.

Methods (A2A 1.0 names; the 0.3 names in brackets answer in 0.3's JSON):
- `SendMessage` (`message/send`) runs the assistant on the message's context (a thread; a new
  one without a `contextId`) and answers the finished task (at once, submitted, with
  `returnImmediately`);
- `SendStreamingMessage` (`message/stream`) answers SSE: the task submitted, working, a
  working status per tool call and tool answer, its answer artifact, and its final status;
- `GetTask` (`tasks/get`) and `CancelTask` (`tasks/cancel`).
A run that stops at `interrupt()` leaves its task `input-required` with the interrupts as an
artifact's data parts; the next message naming that task (`taskId`) resumes it, with its data
part's `resume` value if it has one, else its text (`Command(resume=...)`), as LangGraph Server
does.
Runs go through the run manager, as every run. Errors are JSON-RPC errors (HTTP 200) with
A2A's codes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from importlib.metadata import version
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse

from threadloom.service.auth.policy import authorize
from threadloom.service.errors import InvalidRequest, NotFound, ServiceError
from threadloom.service.http.deps import Services, ServicesDep
from threadloom.service.http.json_codec import JsonResponse, dumps, loads
from threadloom.service.http.sse import frame, sse_response
from threadloom.service.ids import new_id
from threadloom.service.protocols import a2a_tasks
from threadloom.service.protocols.a2a_tasks import Json
from threadloom.service.runs.events import RunEvent
from threadloom.service.runs.manager import ActiveRun
from threadloom.service.schemas.responses import answers
from threadloom.service.schemas.runs import RunCreate
from threadloom.service.storage.assistants import Assistant
from threadloom.service.threads.access import thread_for_caller

router = APIRouter(tags=["a2a"])

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
TASK_NOT_FOUND, TASK_NOT_CANCELABLE, UNSUPPORTED_OPERATION = -32001, -32002, -32004
CONTENT_TYPE_NOT_SUPPORTED = -32005
LEGACY_METHODS = {
    "message/send": "SendMessage",
    "message/stream": "SendStreamingMessage",
    "tasks/get": "GetTask",
    "tasks/cancel": "CancelTask",
}
TEXT_MODES = ["text/plain"]
# Where a run's result holds the interrupts it stopped at (as `/runs/wait` answers them).
INTERRUPTS = "__interrupt__"


class RpcError(Exception):
    """A JSON-RPC error object's code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@router.get("/.well-known/agent-card.json", responses=answers(dict[str, Any], 404))
async def agent_card_by_query(
    request: Request, services: ServicesDep, assistant_id: str
) -> JsonResponse:
    """The agent card of the assistant `assistant_id` (a UUID or a graph name)."""
    return JsonResponse(await _card(request, services, assistant_id))


@router.get(
    "/a2a/{assistant_id}/.well-known/agent-card.json", responses=answers(dict[str, Any], 404)
)
async def agent_card(request: Request, services: ServicesDep, assistant_id: str) -> JsonResponse:
    """The agent card of the assistant at `/a2a/{assistant_id}`."""
    return JsonResponse(await _card(request, services, assistant_id))


@router.post("/a2a/{assistant_id}", include_in_schema=False)
async def a2a_rpc(request: Request, services: ServicesDep, assistant_id: str) -> Any:
    """One JSON-RPC request to the assistant's agent."""
    rpc_id: Any = None
    try:
        message = _rpc_message(await request.body())
        rpc_id = message.get("id")
        method = message["method"]
        legacy = method in LEGACY_METHODS
        method = LEGACY_METHODS.get(method, method)
        params = message.get("params") or {}
        if not isinstance(params, dict):
            raise RpcError(INVALID_PARAMS, "Invalid params: must be an object")
        assistant = await _assistant(services, assistant_id)
        if method == "SendStreamingMessage":
            thread_id, run = await _start(services, assistant, params)
            return _stream(services, thread_id, run, rpc_id, legacy)
        handler = _HANDLERS.get(method)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")
        result = await handler(services, assistant, params)
        if legacy:
            result = a2a_tasks.legacy(result if "task" in result else {"task": result})
        return JsonResponse({"jsonrpc": "2.0", "id": rpc_id, "result": result})
    except RpcError as exc:
        return _error(rpc_id, exc)


def _rpc_message(body: bytes) -> Json:
    try:
        message = loads(body)
    except ValueError:
        raise RpcError(PARSE_ERROR, "Invalid JSON payload") from None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise RpcError(INVALID_REQUEST, "Invalid JSON-RPC request: expected a 2.0 request object")
    if not isinstance(message.get("method"), str):
        raise RpcError(INVALID_REQUEST, "Invalid JSON-RPC request: missing 'method'")
    return message


def _error(rpc_id: Any, error: RpcError) -> JsonResponse:
    body = {"code": error.code, "message": error.message}
    return JsonResponse({"jsonrpc": "2.0", "id": rpc_id, "error": body})


async def _assistant(services: Services, assistant_id: str) -> Assistant:
    try:
        return await services.assistants.read(assistant_id)
    except ServiceError as exc:
        raise RpcError(INVALID_PARAMS, exc.detail) from None


async def _send(services: Services, assistant: Assistant, params: Json) -> Json:
    thread_id, run = await _start(services, assistant, params)
    configuration = params.get("configuration") or {}
    if configuration.get("returnImmediately"):  # the client polls with GetTask
        return {"task": a2a_tasks.task(thread_id, run.run_id, "TASK_STATE_SUBMITTED", None)}
    state, values, failure = await _ending(run)
    task = a2a_tasks.task(
        thread_id,
        run.run_id,
        state,
        values,
        failure=failure,
        history_length=configuration.get("historyLength"),
        interrupts=values.get(INTERRUPTS),
    )
    return {"task": task}


async def _ending(run: ActiveRun) -> tuple[str, Json, str | None]:
    """Wait for the run to end: its task state, final values, and why it failed (if it did)."""
    outcome = await run.outcome()
    values = loads(dumps(outcome.result)) if isinstance(outcome.result, dict) else {}
    error = (values.get("__error__") or {}).get("message")
    failure = f"Error executing assistant: {error}" if error is not None else None
    return a2a_tasks.task_state(outcome.status, bool(values.get(INTERRUPTS))), values, failure


async def _start(services: Services, assistant: Assistant, params: Json) -> tuple[str, ActiveRun]:
    """Start the run a message asks for, on its context's thread; the thread and the run."""
    message = params.get("message")
    if not isinstance(message, dict):
        raise RpcError(INVALID_PARAMS, "Missing or invalid 'message' in params")
    parts = message.get("parts")
    parts = [part for part in parts if isinstance(part, dict)] if isinstance(parts, list) else []
    text = "\n".join(part["text"] for part in parts if isinstance(part.get("text"), str))
    resumes = [part["data"]["resume"] for part in parts if _is_resume(part.get("data"))]
    if not text and not resumes:
        raise RpcError(CONTENT_TYPE_NOT_SUPPORTED, "The message needs a text part.")
    thread_id, waiting = await _context_of(services, assistant, message)
    if resumes and not waiting:
        raise RpcError(INVALID_PARAMS, "Task is not awaiting input: name the task that is.")
    if len(resumes) > 1:
        raise RpcError(INVALID_PARAMS, "Only one resume value is allowed in data parts")
    answer = {"command": {"resume": resumes[0] if resumes else text}} if waiting else None
    try:
        request = RunCreate.checked(
            assistant_id=assistant.assistant_id,
            **(answer or {"input": {"messages": [{"role": "user", "content": text}]}}),
            stream_mode=["updates"],  # what a streaming client is told while the task works
            if_not_exists="create",
            metadata={"a2a_message_id": message.get("messageId")},
        )
        run = await services.run_manager.submit(thread_id or new_id(), request)
    except ServiceError as exc:
        raise RpcError(INVALID_PARAMS, exc.detail) from None
    return run.thread_id, run


async def _context_of(
    services: Services, assistant: Assistant, message: Json
) -> tuple[str | None, bool]:
    """The thread a message continues: its task's (which must not have ended), or its
    `contextId`; None for a new conversation. And whether the message answers its task's
    interrupt (the task waits for input)."""
    if message.get("taskId"):
        task = await _get(services, assistant, {"id": message["taskId"], "historyLength": 0})
        if task["status"]["state"] in a2a_tasks.TERMINAL_STATES:
            raise RpcError(UNSUPPORTED_OPERATION, "A terminal task cannot accept another message")
        return task["contextId"], task["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
    if not message.get("contextId"):
        return None, False
    try:
        thread_id = str(UUID(message["contextId"]))
    except ValueError:
        raise RpcError(
            INVALID_PARAMS, f"Invalid contextId {message['contextId']!r}: not a UUID"
        ) from None
    if await services.threads.hidden(thread_id):
        raise RpcError(TASK_NOT_FOUND, f"Context not found: {thread_id}")
    return thread_id, False


def _is_resume(data: Any) -> bool:
    return isinstance(data, dict) and "resume" in data


def _task_ref(value: Any) -> tuple[str, str]:
    thread_id, _, run_id = str(value).partition(":")
    try:
        return str(UUID(thread_id)), str(UUID(run_id))
    except ValueError:
        raise RpcError(TASK_NOT_FOUND, f"Task not found: {value}") from None


async def _get(services: Services, assistant: Assistant, params: Json) -> Json:
    thread_id, run_id = _task_ref(params.get("id"))
    thread = await thread_for_caller(services.threads, thread_id, run_id=run_id)
    record = await services.runs.get(thread_id, run_id)
    if record is None or thread is None or record.assistant_id != assistant.assistant_id:
        raise RpcError(TASK_NOT_FOUND, f"Task not found: {params.get('id')}")
    state = a2a_tasks.task_state(record.status, thread.status == "interrupted")
    failure = (thread.error or {}).get("message") if state == "TASK_STATE_FAILED" else None
    values = await _values_after(services, thread_id, run_id)
    return a2a_tasks.task(
        thread_id,
        run_id,
        state,
        values,
        failure=failure,
        history_length=params.get("historyLength"),
        interrupts=[found for waiting in thread.interrupts.values() for found in waiting],
    )


async def _values_after(services: Services, thread_id: str, run_id: str) -> Json:
    """The thread's values as the run left them (its last checkpoint): a task shows its own
    answer and history even after later tasks continued the conversation."""
    config = {"configurable": {"thread_id": thread_id}}
    async for saved in services.checkpointer.alist(config, filter={"run_id": run_id}, limit=1):
        return loads(dumps(saved.checkpoint["channel_values"]))
    return {}


async def _cancel(services: Services, assistant: Assistant, params: Json) -> Json:
    found = await _get(services, assistant, params)
    if found["status"]["state"] in a2a_tasks.TERMINAL_STATES:
        raise RpcError(TASK_NOT_CANCELABLE, f"Task {params.get('id')} has already ended.")
    thread_id, run_id = _task_ref(params.get("id"))
    await authorize("threads", "update", {"thread_id": thread_id, "run_id": run_id})
    try:
        await services.run_manager.cancel(thread_id, run_id, wait=True)
    except NotFound:  # it ended meanwhile
        raise RpcError(TASK_NOT_CANCELABLE, f"Task {params.get('id')} has already ended.") from None
    return await _get(services, assistant, params)


_HANDLERS: dict[str, Callable[[Services, Assistant, Json], Any]] = {
    "SendMessage": _send,
    "GetTask": _get,
    "CancelTask": _cancel,
}


def _stream(
    services: Services, thread_id: str, run: ActiveRun, rpc_id: Any, legacy: bool
) -> EventSourceResponse:
    """The task's events as SSE: submitted, working (then a working status for each tool call
    and tool answer), its answer artifact, its final status."""
    ids = {"taskId": a2a_tasks.task_id(thread_id, run.run_id), "contextId": thread_id}

    def event(result: Json) -> bytes:
        shaped = a2a_tasks.legacy(result) if legacy else result
        return frame(RunEvent("message", dumps({"jsonrpc": "2.0", "id": rpc_id, "result": shaped})))

    async def events() -> AsyncIterator[bytes]:
        submitted = a2a_tasks.task(thread_id, run.run_id, "TASK_STATE_SUBMITTED", None)
        yield event({"task": submitted})
        yield event({"statusUpdate": {**ids, "status": a2a_tasks.status("TASK_STATE_WORKING")}})
        async for _, logged in run.log.follow(0):
            if logged.name == "updates":
                for text in a2a_tasks.progress(loads(logged.data)):
                    working = a2a_tasks.status("TASK_STATE_WORKING", text, ids)
                    yield event({"statusUpdate": {**ids, "status": working}})
        state, values, failure = await _ending(run)
        artifact = None
        if state == "TASK_STATE_COMPLETED":
            text = a2a_tasks.last_ai_text(values.get("messages") or [])
            artifact = a2a_tasks.answer_artifact(text)
        elif state == "TASK_STATE_INPUT_REQUIRED":
            artifact = a2a_tasks.interrupt_artifact(values.get(INTERRUPTS) or [])
        if artifact is not None:
            yield event({"artifactUpdate": {**ids, "artifact": artifact, "lastChunk": True}})
        yield event({"statusUpdate": {**ids, "status": a2a_tasks.status(state, failure, ids)}})

    return sse_response(events(), heartbeat_s=services.settings.heartbeat_s)


async def _card(request: Request, services: Services, assistant_id: str) -> Json:
    try:
        assistant = await services.assistants.read(assistant_id)
    except InvalidRequest as exc:
        raise NotFound(exc.detail) from None
    description = assistant.description or f"{assistant.name} assistant"
    base = str(request.base_url).rstrip("/")
    url = f"{base}/a2a/{assistant_id}"
    return {
        "name": assistant.name,
        "description": description,
        "url": url,
        "supportedInterfaces": [
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ],
        "version": version("threadloom"),
        "capabilities": {"streaming": True, "pushNotifications": False},
        "defaultInputModes": TEXT_MODES,
        "defaultOutputModes": TEXT_MODES,
        "skills": [
            {
                "id": f"{assistant.assistant_id}-main",
                "name": f"{assistant.name} Capabilities",
                "description": description,
                "tags": ["assistant", "langgraph"],
                "examples": [],
                "inputModes": TEXT_MODES,
                "outputModes": TEXT_MODES,
            }
        ],
    }
