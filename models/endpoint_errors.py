"""`EndpointError`: what went wrong with a remote model endpoint, and what to check."""

from __future__ import annotations

import httpx

from threadloom.models.errors import ModelError


class EndpointError(ModelError):
    """The remote model endpoint could not be reached, or it refused or failed the request."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


_STATUS_HINTS = {
    401: "Check the token (THREADLOOM_HF_TOKEN): the endpoint refused the credentials.",
    403: "Check the token (THREADLOOM_HF_TOKEN): it has no access to this endpoint or model.",
    404: (
        "Check THREADLOOM_ENDPOINT_URL (it needs the OpenAI-compatible /v1/chat/completions "
        "route) and THREADLOOM_MODEL (vLLM only answers for the model it serves)."
    ),
    429: "The endpoint is rate-limiting; retry later.",
}


def endpoint_error(exc: httpx.HTTPError, where: str) -> EndpointError:
    """The `EndpointError` for a failed request; `where` names the endpoint ('at http://...')."""
    response = getattr(exc, "response", None)
    if isinstance(response, httpx.Response):
        status = response.status_code
        detail = _server_message(response)
        if status in _STATUS_HINTS:
            hint = _STATUS_HINTS[status]
        elif status < 500:
            hint = (
                "The server rejected the request: the conversation may exceed its context, or "
                "it does not support an option that was sent."
            )
        else:
            hint = "The server failed or is overloaded; retry later or read its logs."
        return EndpointError(
            f"The model endpoint {where} answered {status}: {detail.rstrip('.')}. {hint}", status
        )
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return EndpointError(
            f"The model endpoint {where} did not answer in time ({exc}). "
            "Check that the server is up and not overloaded."
        )
    if isinstance(exc, httpx.TransportError):
        return EndpointError(
            f"Cannot reach the model endpoint {where}: {exc}. Check that the TGI or vLLM server "
            "is running and that THREADLOOM_ENDPOINT_URL points at it."
        )
    # TGI reports failures during a stream as error events; the client raises them as they come.
    return EndpointError(
        f"The model endpoint {where} failed while generating: {str(exc).rstrip('.')}. "
        "Retry, or read the server's logs."
    )


def _server_message(response: httpx.Response) -> str:
    """The message in an error body: TGI's {"error": str}, OpenAI's {"error": {"message"}},
    or vLLM's {"message"}; the reason phrase when the body has none."""
    try:
        body = response.json()
    except (ValueError, httpx.StreamError):  # not JSON, or a stream left unread
        return response.reason_phrase
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return str(error) if error else response.reason_phrase
