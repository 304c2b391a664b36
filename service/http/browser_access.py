"""What browsers may do: which page origins may call the API (CORS), and JSON bodies sent
without a JSON `Content-Type`.

Chat UIs in a browser (agent-chat-ui, Studio) run on `localhost` during development, or on the
hosted LangGraph Studio (`https://smith.langchain.com`): with no `cors_origins` configured,
pages served from loopback (`localhost`, `127.0.0.1`, `[::1]`, any port and scheme) and the
Studio origin (unless `cors_allow_studio` is off) may call the API, as `langgraph dev` allows.
Configured origins (or the `http.cors` section of the deployment file) replace that default.
Preflights asking for private-network access (Chrome's Private Network Access: a public page
such as Studio calling a server on loopback) are answered `Access-Control-Allow-Private-Network:
true` for allowed origins.

Some clients send JSON under another type: proxies in front of the API (agent-chat-ui's API
passthrough) send `text/plain;charset=UTF-8`, others drop the header. Such a body is read as
JSON, as LangGraph Server reads every body. A request that a page of another origin sent is the
exception: browsers send `text/plain` and untyped bodies cross-site with no preflight, and
reading those as JSON would let any web page start runs on a local server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_ORIGIN = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"
STUDIO_ORIGIN = "https://smith.langchain.com"
# Body types a request may carry JSON under: none, or plain text (`fetch` with a string body).
_UNTYPED = ("", "text/plain")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BrowserOrigins:
    """The page origins allowed to call the API: `configured` (the `cors_origins` setting), else
    those `http.cors` allows, else any loopback origin and, with `studio`, hosted Studio's."""

    def __init__(
        self,
        configured: Sequence[str],
        cors: Mapping[str, Any] | None = None,
        *,
        studio: bool = True,
    ) -> None:
        self._cors = dict(cors or {})
        self.configured = list(configured) or list(self._cors.get("allow_origins") or [])
        given = None if configured else self._cors.get("allow_origin_regex")
        default = None
        if not self.configured:
            default = f"{LOOPBACK_ORIGIN}|{re.escape(STUDIO_ORIGIN)}" if studio else LOOPBACK_ORIGIN
        self.regex: str | None = given or default

    def allows(self, origin: str) -> bool:
        if "*" in self.configured or origin in self.configured:
            return True
        return self.regex is not None and re.fullmatch(self.regex, origin) is not None

    def cors_options(self, expose_headers: Sequence[str]) -> dict[str, Any]:
        """CORSMiddleware's options: `http.cors` as given, with the origins above."""
        return {
            "allow_methods": ["*"],
            "allow_headers": ["*"],
            "allow_private_network": True,
            "expose_headers": list(expose_headers),
            **self._cors,
            "allow_origins": self.configured,
            "allow_origin_regex": self.regex,
        }


class PlainJsonBodies:
    """ASGI middleware: a request body typed `text/plain` or not typed at all is declared JSON,
    unless a page of an origin not in `origins` sent it (then FastAPI leaves it unread, and the
    route answers 422)."""

    def __init__(self, app: ASGIApp, origins: BrowserOrigins) -> None:
        self.app = app
        self._origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _WITH_BODY:
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if _untyped(headers) and (origin is None or self._origins.allows(origin)):
                kept = [
                    (name, value) for name, value in scope["headers"] if name != b"content-type"
                ]
                # In place: the layers around read what the router writes into this scope.
                scope["headers"] = [*kept, (b"content-type", b"application/json")]
        await self.app(scope, receive, send)


def _untyped(headers: Headers) -> bool:
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type in _UNTYPED
