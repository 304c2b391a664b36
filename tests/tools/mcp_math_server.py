"""A small MCP server for the tests: `python mcp_math_server.py` serves it over stdio;
`make_math_server()` gives the FastMCP server that tests serve over Streamable HTTP.

Its tools: `add`, `divide` (fails for a zero divisor, as an MCP tool error), and `crash`, whose
process dies in the middle of the call.
"""

from __future__ import annotations

import os

from mcp.server.fastmcp import FastMCP


def make_math_server() -> FastMCP:
    server = FastMCP("math", log_level="WARNING")
    for tool in (add, divide, crash):
        server.add_tool(tool)
    return server


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b + int(os.environ.get("MATH_OFFSET", "0"))


def divide(a: float, b: float) -> float:
    """Divide a by b."""
    if b == 0:
        raise ValueError("cannot divide by zero")
    return a / b


def crash() -> str:
    """Stop the server's process at once, as a crash would."""
    os._exit(3)


if __name__ == "__main__":
    make_math_server().run("stdio")
