"""The test MCP server over Streamable HTTP, on a loopback port, requiring a bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.service.live_server import serve_on_loopback
from tests.tools.mcp_math_server import make_math_server

TOKEN = "t0ken"


class _RequireToken:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        if scope["type"] == "http" and headers.get(b"authorization") != f"Bearer {TOKEN}".encode():
            await JSONResponse({"error": "no token"}, status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


@asynccontextmanager
async def serving_math_over_http() -> AsyncIterator[str]:
    """Serve the math server until the block ends; yields its `/mcp` URL."""
    app = make_math_server().streamable_http_app()
    app.add_middleware(_RequireToken)
    url, server, task = await serve_on_loopback(app)
    try:
        yield f"{url}/mcp"
    finally:
        server.should_exit = True
        await task
