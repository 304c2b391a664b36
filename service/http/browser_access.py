"""What browsers may do: which page origins may call the API (CORS), and JSON bodies sent
without a `Content-Type` header.

Chat UIs in a browser (agent-chat-ui, Studio) run on `localhost` during development: with no
`cors_origins` configured, pages served from loopback (`localhost`, `127.0.0.1`, `[::1]`, any
port and scheme) may call the API, as `langgraph dev` allows. Configured origins (or the
`http.cors` section of the deployment file) replace that default.

Some proxies in front of the API (agent-chat-ui's own) drop the `Content-Type` header; such a
body is read as JSON, as LangGraph Server reads every body. A request that a page of another
origin sent is the exception: browsers send bodies without a type (a `Blob`) cross-site with no
preflight, and reading those as JSON would let any web page start runs on a local server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_ORIGIN = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"


class BrowserOrigins:
    """The page origins allowed to call the API: `configured` (the `cors_origins` setting), else
    those `http.cors` allows, else any loopback origin."""

    def __init__(self, configured: Sequence[str], cors: Mapping[str, Any] | None = None) -> None:
        self._cors = dict(cors or {})
        self.configured = list(configured) or list(self._cors.get("allow_origins") or [])
        given = None if configured else self._cors.get("allow_origin_regex")
        self.regex: str | None = given or (None if self.configured else LOOPBACK_ORIGIN)

    def allows(self, origin: str) -> bool:
        if "*" in self.configured or origin in self.configured:
            return True
        return self.regex is not None and re.fullmatch(self.regex, origin) is not None

    def cors_options(self, expose_headers: Sequence[str]) -> dict[str, Any]:
        """CORSMiddleware's options: `http.cors` as given, with the origins above."""
        return {
            "allow_methods": ["*"],
            "allow_headers": ["*"],
            "expose_headers": list(expose_headers),
            **self._cors,
            "allow_origins": self.configured,
            "allow_origin_regex": self.regex,
        }


class UntypedJsonBodies:
    """ASGI middleware: a request body without `Content-Type` is declared JSON, unless a page of
    an origin not in `origins` sent it (then FastAPI leaves it unread, and the route answers
    422)."""

    def __init__(self, app: ASGIApp, origins: BrowserOrigins) -> None:
        self.app = app
        self._origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if "content-type" not in headers and (origin is None or self._origins.allows(origin)):
                scope = {
                    **scope,
                    "headers": [*scope["headers"], (b"content-type", b"application/json")],
                }
        await self.app(scope, receive, send)
