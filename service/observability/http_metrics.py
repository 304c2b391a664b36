"""`HttpMetrics`: an ASGI middleware counting requests by route template and status, timing them,
and keeping the gauge of open event streams.

The route label is the template the request matched (`/threads/{thread_id}/runs`), never the
raw path, so ids never become label values; a request no route matches counts as `unmatched`.
It is the outermost middleware, so requests that auth or the body limit refuse count too.
"""

from __future__ import annotations

import time

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadloom.service.observability.metrics import Metrics

UNMATCHED = "unmatched"
EVENT_STREAM = b"text/event-stream"


class HttpMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self._metrics = metrics

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
                    stream_route = route_template(scope)
                    self._metrics.open_streams.labels(stream_route).inc()
            await send(message)

        try:
            await self.app(scope, receive, send_measured)
        finally:
            if stream_route is not None:
                self._metrics.open_streams.labels(stream_route).dec()
            route, method = route_template(scope), scope["method"]
            self._metrics.http_requests.labels(method, route, str(status)).inc()
            self._metrics.http_duration.labels(method, route).observe(
                time.perf_counter() - started
            )


def route_template(scope: Scope) -> str:
    """The path template of the route that handled (or would handle) the request."""
    route = scope.get("route")
    if route is None:  # refused before routing (auth, body limit): match it here
        app = scope.get("app")
        for candidate in getattr(getattr(app, "router", None), "routes", ()):
            match, _ = candidate.matches(scope)
            if match != Match.NONE:
                route = candidate
                break
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def _content_type(message: Message) -> bytes:
    for name, value in message.get("headers", ()):
        if name.lower() == b"content-type":
            return value.lower()
    return b""
