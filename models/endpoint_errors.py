"""`EndpointError`: what went wrong with a remote model endpoint, and what to check.

Both remote clients (Hugging Face's and the OpenAI one) report through the builders here, so a
failure reads the same whichever client met it.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from threadloom.models.errors import ModelError


class EndpointError(ModelError):
    """The remote model endpoint could not be reached, or it refused or failed the request."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


_TOKEN_SETTINGS = "THREADLOOM_ENDPOINT_API_KEY or THREADLOOM_HF_TOKEN"
_STATUS_HINTS = {
    401: f"Check the key ({_TOKEN_SETTINGS}): the endpoint refused the credentials.",
    403: f"Check the key ({_TOKEN_SETTINGS}): it has no access to this endpoint or model.",
    404: (
        "Check THREADLOOM_ENDPOINT_URL (it needs the OpenAI-compatible /v1/chat/completions "
        "route) and THREADLOOM_ENDPOINT_MODEL (vLLM only answers for the model it serves)."
    ),
    429: "The endpoint is rate-limiting; retry later.",
}
# Statuses with which servers refuse a model name they do not serve (vLLM 404, `transformers
# serve` 400): the models the server offers are named after them.
_MODEL_NAME_STATUSES = (400, 404)


def status_error(
    status: int, detail: str, where: str, offered: Sequence[str] = ()
) -> EndpointError:
    """The server answered `status` with `detail`; `offered`: the models it lists, if known."""
    if status in _STATUS_HINTS:
        hint = _STATUS_HINTS[status]
    elif status < 500:
        hint = (
            "The server rejected the request: the conversation may exceed its context, or "
            "it does not support an option that was sent."
        )
    else:
        hint = "The server failed or is overloaded; retry later or read its logs."
    if offered and status in _MODEL_NAME_STATUSES:
        hint += (
            f" The server offers the models {', '.join(offered)}; THREADLOOM_ENDPOINT_MODEL "
            "must name one of them (or stay unset to use the only one)."
        )
    return EndpointError(
        f"The model endpoint {where} answered {status}: {detail.rstrip('.')}. {hint}", status
    )


def unreachable_error(where: str, reason: object) -> EndpointError:
    return EndpointError(
        f"Cannot reach the model endpoint {where}: {reason}. Check that the model server is "
        "running and that THREADLOOM_ENDPOINT_URL points at it."
    )


def timeout_error(where: str, reason: object) -> EndpointError:
    return EndpointError(
        f"The model endpoint {where} did not answer in time ({reason}). Check that the server "
        "is up and not overloaded, or raise THREADLOOM_ENDPOINT_TIMEOUT_S."
    )


def generation_error(where: str, reason: object) -> EndpointError:
    """A failure the server reported in the middle of a streamed reply."""
    return EndpointError(
        f"The model endpoint {where} failed while generating: {str(reason).rstrip('.')}. "
        "Retry, or read the server's logs."
    )


def endpoint_error(exc: httpx.HTTPError, where: str) -> EndpointError:
    """The `EndpointError` for a failed request; `where` names the endpoint ('at http://...')."""
    response = getattr(exc, "response", None)
    if isinstance(response, httpx.Response):
        return status_error(response.status_code, _server_message(response), where)
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return timeout_error(where, exc)
    if isinstance(exc, httpx.TransportError):
        return unreachable_error(where, exc)
    # TGI reports failures during a stream as error events; the client raises them as they come.
    return generation_error(where, exc)


def error_detail(body: object) -> str | None:
    """The message in an error body: TGI's {"error": str}, OpenAI's {"error": {"message"}},
    vLLM's {"message"} or FastAPI's {"detail"} (`transformers serve`); None if it has none."""
    if not isinstance(body, dict):
        return str(body) if isinstance(body, str) and body else None
    error = body.get("error") or body.get("message") or body.get("detail")
    if isinstance(error, dict):
        error = error.get("message")
    return str(error) if error else None


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (ValueError, httpx.StreamError):  # not JSON, or a stream left unread
        return response.reason_phrase
    return error_detail(body) or response.reason_phrase
