"""`refusal`: the edge's answer to a request it refuses (no key, a body too large or too deep,
too many open requests) in the error shape of the front the request was for, so that each
client can read it: OpenAI's on `/v1`, a JSON-RPC error on the JSON-RPC endpoints (`/mcp`,
`/a2a/{assistant_id}`), LangGraph's `{"detail": ...}` elsewhere. The HTTP status is the
edge's own in every shape (OpenAI's 400 stands for 422, as on its routes)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette import status
from starlette.types import Scope

from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.protocols.openai.error_shape import PREFIX as OPENAI_PREFIX
from threadloom.service.protocols.openai.error_shape import error_body

# JSON-RPC endpoints: MCP, and each assistant's A2A agent (not its agent card, a plain GET).
_JSON_RPC = re.compile(r"^/(mcp|a2a/[^/]+)/?$")
# JSON-RPC's code for a request the server will not take (the HTTP status says why).
INVALID_REQUEST = -32600


def refusal(
    scope: Scope,
    status_code: int,
    message: str,
    *,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    """The answer refusing the request `scope` with `status_code` and `message`; `code` is
    OpenAI's error code, where one applies (`invalid_api_key`)."""
    path = scope["path"]
    if path.startswith(OPENAI_PREFIX):
        if status_code == status.HTTP_422_UNPROCESSABLE_CONTENT:
            status_code = status.HTTP_400_BAD_REQUEST
        body = error_body(message, status_code, code=code)
    elif scope.get("method") == "POST" and _JSON_RPC.match(path):
        error = {"code": INVALID_REQUEST, "message": message}
        body = {"jsonrpc": "2.0", "id": None, "error": error}
    else:
        body = {"detail": message}
    return JsonResponse(body, status_code=status_code, headers=dict(headers or {}))
