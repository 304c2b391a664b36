"""A small MCP server for the tests: `python mcp_math_server.py` serves it over stdio;
`make_math_server()` gives the FastMCP server that tests serve over Streamable HTTP.

Its tools: `add`, `divide` (fails for a zero divisor, as an MCP tool error), `crash`, whose
process dies in the middle of the call, and `stall`, which never answers.
"""

from __future__ import annotations

import os
import time

from mcp.server.fastmcp import FastMCP


def make_math_server() -> FastMCP:
    server = FastMCP("math", log_level="WARNING")
    for tool in (add, divide, crash, stall):
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


def stall() -> str:
    """Never answer, as a hung server would."""
    time.sleep(3600)
    return "too late"


if __name__ == "__main__":
    make_math_server().run("stdio")
