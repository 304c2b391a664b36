"""`RequestSpans`: an ASGI middleware that gives each HTTP request a server span.

The span is named by the route's template (`POST /threads/{thread_id}/runs/stream`), so the
names are few however many threads there are, and carries the response's status code. A
`traceparent` header from the client makes the request (and the run it starts) part of the
client's trace. A plain ASGI middleware rather than Starlette's `BaseHTTPMiddleware`, which
would run the app in another task: the span stays the current one in the route's code, so a
run started there becomes its child. Streaming responses are timed to their last byte.
"""

from __future__ import annotations

from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROPAGATOR = TraceContextTextMapPropagator()


class RequestSpans:
    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        attributes = {"http.request.method": method, "url.path": scope["path"]}
        with self.tracer.start_as_current_span(
            method,
            context=PROPAGATOR.extract(headers),
            kind=SpanKind.SERVER,
            attributes=attributes,
        ) as span:

            async def send_with_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            try:
                await self.app(scope, receive, send_with_status)
            finally:
                # The router has matched by now (it writes the route into the same scope).
                if template := _route_template(scope):
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)


def _route_template(scope: Scope) -> str | None:
    route = scope.get("route")
    return getattr(route, "path", None)
