"""`HttpMetrics`: an ASGI middleware counting requests by route template and status, timing them,
and keeping the gauge of open event streams.

The route label is the template the request matched (`/threads/{thread_id}/runs`), never the
raw path, so ids never become label values; a request no route matches counts as `unmatched`.
It is the outermost middleware, so requests that auth or the body limit refuse count too.
"""

from __future__ import annotations

import re
import time

from fastapi import FastAPI
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadloom.service.observability.metrics import Metrics

UNMATCHED = "unmatched"
EVENT_STREAM = b"text/event-stream"


class HttpMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self._metrics = metrics
        self._routes = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app fails before it answers
        stream_route: str | None = None

        async def send_measured(message: Message) -> None:
            nonlocal status, stream_route
            if message["type"] == "http.response.start":
                status = message["status"]
                if _content_type(message).startswith(EVENT_STREAM):
                    stream_route = self._routes.of(scope)
                    self._metrics.open_streams.labels(stream_route).inc()
            await send(message)

        try:
            await self.app(scope, receive, send_measured)
        finally:
            if stream_route is not None:
                self._metrics.open_streams.labels(stream_route).dec()
            route, method = self._routes.of(scope), scope["method"]
            self._metrics.http_requests.labels(method, route, str(status)).inc()
            self._metrics.http_duration.labels(method, route).observe(
                time.perf_counter() - started
            )


class RouteTemplates:
    """The route template a request's path matches: the one its route recorded, or, for a
    request refused before routing (auth, body limit), the best match among the app's
    documented paths (a literal segment beats a parameter: `/threads/search` over
    `/threads/{thread_id}`)."""

    def __init__(self) -> None:
        self._compiled: list[tuple[re.Pattern[str], str]] | None = None

    def of(self, scope: Scope) -> str:
        route = scope.get("route")
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
        if isinstance(path, str):
            return path
        return self._match(scope)

    def _match(self, scope: Scope) -> str:
        app = scope.get("app")
        if self._compiled is None and isinstance(app, FastAPI):
            templates = sorted(app.openapi().get("paths", {}), key=lambda t: t.count("{"))
            self._compiled = [(compile_path(template)[0], template) for template in templates]
        for regex, template in self._compiled or ():
            if regex.match(scope["path"]):
                return template
        return UNMATCHED


def _content_type(message: Message) -> bytes:
    for name, value in message.get("headers", ()):
        if name.lower() == b"content-type":
            return value.lower()
    return b""
