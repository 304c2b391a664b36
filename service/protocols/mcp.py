"""`/mcp`: the server's assistants as the tools of an MCP server (Streamable HTTP).

Built on the official `mcp` SDK's low-level server, stateless and answering JSON (as LangGraph
Server's `/mcp` does): no session lives in a replica, so any replica answers any request.
The API's middleware applies as to every route: API keys (a request acts for its key's owner,
who sees its own assistants and the system ones), CORS and the body size limit.

Example (the `mcp` Python client):
    >>> async with streamable_http_client(f"{url}/mcp") as (read, write, _):
    ...     async with ClientSession(read, write) as session:
    ...         await session.initialize()
    ...         await session.call_tool("agent", {"messages": "compute 17*23"})
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from threadloom.service.http.json_codec import JsonResponse, dumps
from threadloom.service.protocols.assistant_tools import AssistantTools, ToolCallError

PATH = "/mcp"
# Stateless: no session to end (DELETE) and no stream of server-sent notifications (GET); both
# answer 405, which the specification allows and clients expect.
METHODS = ["POST"]
# Assistants run a model and may call tools of the open world; they change no state of the
# caller's, except the threads they write (stateless runs delete theirs).
ANNOTATIONS = types.ToolAnnotations(
    readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=True
)


def mcp_server(tools: AssistantTools) -> Server[Any, Any]:
    """The MCP server whose tools are the assistants."""
    server: Server[Any, Any] = Server("threadloom", version=version("threadloom"))

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        return [
            types.Tool(
                name=tool.name,
                title=tool.assistant.name,
                description=tool.description,
                inputSchema=tool.input_schema,
                annotations=ANNOTATIONS,
            )
            for tool in await tools.list()
        ]

    # Arguments are checked against the assistant's schema at each call, not against the
    # SDK's cache of listed tools, which is shared by callers who see different assistants.
    @server.call_tool(validate_input=False)
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        try:
            answer = await tools.call(name, arguments)
        except ToolCallError as exc:
            return error_result(str(exc))
        text = answer.text or dumps(answer.values).decode()
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)],
            structuredContent=answer.values,
        )

    return server


def error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)], isError=True
    )


class McpEndpoint:
    """The ASGI endpoint at `/mcp`; it serves while `running` is open (the app's lifespan)."""

    def __init__(self) -> None:
        self._sessions: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self, tools: AssistantTools) -> AsyncIterator[None]:
        sessions = StreamableHTTPSessionManager(
            mcp_server(tools), json_response=True, stateless=True
        )
        async with sessions.run():
            self._sessions = sessions
            try:
                yield
            finally:
                self._sessions = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._sessions is None:
            raise RuntimeError("The MCP endpoint is not running (the app's lifespan is not).")
        if scope.get("method") == "POST":
            # The SDK fails (500) on a body that is not UTF-8: answer JSON-RPC's parse error, as
            # it does for other unparsable bodies. (The body limit bounds what is read here.)
            body = await Request(scope, receive).body()
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                await parse_error(f"Parse error: the body is not UTF-8 ({exc.reason}).")(
                    scope, receive, send
                )
                return
            receive = _replay(body, receive)
        await self._sessions.handle_request(scope, receive, send)


def parse_error(message: str) -> JsonResponse:
    """JSON-RPC's parse error, with the HTTP status the MCP SDK gives it (400)."""
    error = {"code": types.PARSE_ERROR, "message": message}
    return JsonResponse({"jsonrpc": "2.0", "id": None, "error": error}, status_code=400)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the SDK the body already read, then the client's disconnect."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
