"""Domain errors of the service, mapped once to HTTP answers and once to the SSE `error` event."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette import status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadloom.service.http.json_codec import JsonResponse

logger = logging.getLogger(__name__)

THREAD_OR_ASSISTANT_NOT_FOUND = "Thread or assistant not found."


class ServiceError(Exception):
    """Base of the errors a client can cause; `status_code` is the HTTP status it answers."""

    status_code: ClassVar[int] = status.HTTP_500_INTERNAL_SERVER_ERROR

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(ServiceError):
    """The request contradicts itself or the resource it acts on (LangGraph Server answers 400)."""

    status_code = status.HTTP_400_BAD_REQUEST


class InvalidRequest(ServiceError):
    """The request is well-formed JSON but asks for something invalid."""

    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT


class Forbidden(ServiceError):
    """The caller may see the resource but not change it (an assistant shared by every key)."""

    status_code = status.HTTP_403_FORBIDDEN


class NotFound(ServiceError):
    """A thread, run or assistant that does not exist."""

    status_code = status.HTTP_404_NOT_FOUND


class Conflict(ServiceError):
    """The request conflicts with the current state (an existing id, a busy thread)."""

    status_code = status.HTTP_409_CONFLICT


class ServiceUnavailable(ServiceError):
    """The server takes no new work now (it is shutting down); another replica can."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


class NotSupported(ServiceError):
    """A valid LangGraph Server API option this server does not implement yet."""

    status_code = status.HTTP_501_NOT_IMPLEMENTED


def thread_not_found(thread_id: str) -> NotFound:
    return NotFound(f"Thread with ID {thread_id} not found")


def thread_exists(thread_id: str) -> Conflict:
    return Conflict(
        f"Thread with ID {thread_id} already exists. Use another ID, or "
        '"if_exists": "do_nothing" to get the existing thread.'
    )


def thread_busy() -> Conflict:
    return Conflict(
        "Thread is already running a task. Wait for it to finish or choose a different "
        "multitask strategy."
    )


def server_draining() -> ServiceUnavailable:
    return ServiceUnavailable(
        "This server is shutting down and takes no new runs. Retry the request: another "
        "replica, or this server once restarted, will take it."
    )


class ConfigurationError(RuntimeError):
    """The settings ask for something this server cannot do; the message says what to change."""


class ServerStopped(Exception):
    """Reported as a run's `error` event when the server running it stopped before it finished
    (it crashed, or its lease ran out); the thread keeps its last checkpoint."""

    def __init__(self) -> None:
        super().__init__(
            "The server running this run stopped before the run finished. The thread keeps its "
            "last checkpoint: start a new run (with input null to resume it) to continue."
        )


def error_event(exc: BaseException) -> dict[str, str]:
    """The data of the SSE `error` event (and of `__error__` in a wait result) for a failure."""
    message = exc.detail if isinstance(exc, ServiceError) else str(exc)
    return {"error": type(exc).__name__, "message": message}


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """One readable line per problem, e.g. `body.stream_mode: Unknown stream mode 'bogus' ...`."""
    lines = []
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "malformed JSON")
            lines.append(f"The request body is not valid JSON: {reason}.")
            continue
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "\n".join(lines) or "The request is invalid."


def install_error_handlers(app: FastAPI) -> None:
    """Answer every domain error as `{"detail": ...}` with its status code, in one place."""

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JsonResponse:
        return JsonResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid_body(request: Request, exc: RequestValidationError) -> JsonResponse:
        return JsonResponse(
            {"detail": describe_validation_errors(exc.errors())},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    # An error raised by a middleware: answered by Starlette's outermost layer, which then
    # re-raises it, so the server closes that connection.
    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JsonResponse:
        return server_error(exc, request.method, request.url.path)

    app.add_middleware(AnswerServerErrors)  # added first: the innermost layer


def server_error(exc: Exception, method: str, path: str) -> JsonResponse:
    """Log an unexpected error with its traceback, and answer 500 saying where to look."""
    logger.exception("unhandled error method=%s path=%s", method, path, exc_info=exc)
    return JsonResponse(
        {"detail": f"Internal server error ({type(exc).__name__}). See the server log."},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


class AnswerServerErrors:
    """ASGI middleware around the routes: an unexpected error is logged and answered 500 here,
    and the connection stays open for the client's next request.

    Starlette's own handler of `Exception` re-raises the error after answering, and uvicorn
    then closes the connection: every server error used to reset a keep-alive connection. An
    error after the answer has started cannot be mended: it goes on up, and the connection
    is closed (the client sees the answer cut short, not a false success)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:
                raise
            await server_error(exc, scope["method"], scope["path"])(scope, receive, send)
