"""OpenAI's error shape, `{"error": {"message", "type", "param", "code"}}`, for every answer of
the `/v1` routes that is not a success: the service's own errors, invalid bodies, refused keys.

OpenAI clients read the status code to pick an exception (404 `NotFoundError`, 400
`BadRequestError`, 401 `AuthenticationError`) and show `error.message`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette import status
from starlette.exceptions import HTTPException as StarletteHTTPException

from threadloom.service.errors import ServiceError, describe_validation_errors
from threadloom.service.http.json_codec import JsonResponse

logger = logging.getLogger(__name__)

PREFIX = "/v1/"
_TYPES = {
    status.HTTP_400_BAD_REQUEST: "invalid_request_error",
    status.HTTP_401_UNAUTHORIZED: "authentication_error",
    status.HTTP_403_FORBIDDEN: "permission_error",
    status.HTTP_404_NOT_FOUND: "not_found_error",
    status.HTTP_409_CONFLICT: "conflict_error",
    status.HTTP_501_NOT_IMPLEMENTED: "not_supported_error",
    status.HTTP_503_SERVICE_UNAVAILABLE: "service_unavailable_error",
}


class OpenAIError(ServiceError):
    """An error the OpenAI front raises itself, naming the request field (`param`) and an
    OpenAI error `code` where one applies."""

    def __init__(
        self, detail: str, status_code: int, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code  # type: ignore[misc]  # per instance, unlike the others
        self.param = param
        self.code = code


def model_not_found(model: str) -> OpenAIError:
    return OpenAIError(
        f"The model {model!r} does not exist. GET /v1/models lists the models (assistants) "
        "this server serves.",
        status.HTTP_404_NOT_FOUND,
        param="model",
        code="model_not_found",
    )


def error_body(
    message: str, status_code: int, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    kind = _TYPES.get(
        status_code, "server_error" if status_code >= 500 else "invalid_request_error"
    )
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(exc: ServiceError | RequestValidationError) -> JsonResponse:
    """The OpenAI answer to an error raised while serving a `/v1` request."""
    if isinstance(exc, RequestValidationError):
        # OpenAI answers 400 to a body it cannot use (LangGraph's routes answer 422).
        message = describe_validation_errors(exc.errors())
        param = _first_field(exc)
        return JsonResponse(
            error_body(message, status.HTTP_400_BAD_REQUEST, param=param),
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    code = exc.status_code
    if code == status.HTTP_422_UNPROCESSABLE_CONTENT:
        code = status.HTTP_400_BAD_REQUEST
    extra = {"param": exc.param, "code": exc.code} if isinstance(exc, OpenAIError) else {}
    return JsonResponse(error_body(exc.detail, code, **extra), status_code=code)


class OpenAIRoute(APIRoute):
    """A route whose errors are answered in OpenAI's shape instead of LangGraph's."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except (ServiceError, RequestValidationError) as exc:
                return error_response(exc)
            except StarletteHTTPException as exc:  # a body FastAPI cannot parse (not UTF-8)
                return JsonResponse(
                    error_body(str(exc.detail), exc.status_code),
                    status_code=exc.status_code,
                    headers=exc.headers,
                )
            except Exception as exc:
                logger.exception("unhandled error method=%s path=%s", request.method, request.url)
                message = f"Internal server error ({type(exc).__name__}). See the server log."
                return JsonResponse(
                    error_body(message, status.HTTP_500_INTERNAL_SERVER_ERROR),
                    status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
                )

        return handle


def _first_field(exc: RequestValidationError) -> str | None:
    for error in exc.errors():
        parts = [str(part) for part in error.get("loc", ()) if part != "body"]
        if parts:
            return ".".join(parts)
    return None
