"""Who hears how each tool call ended: a context variable the caller sets around a run.

The tools node calls the listener once per call with the tool's name (or "unknown" for a name
the model made up, so that a listener may use it as a label) and the outcome: "success",
"error", "timeout", "unknown_tool", "invalid" (unparsable arguments) or "refused" (a human did
not approve it).

Example:
    >>> token = tool_call_listener.set(lambda tool, outcome: print(tool, outcome))
    >>> await graph.ainvoke({"messages": [("user", "compute 17*23")]}, config)
    calculator success
    >>> tool_call_listener.reset(token)
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

UNKNOWN_TOOL = "unknown"

tool_call_listener: ContextVar[Callable[[str, str], None] | None] = ContextVar(
    "threadloom_tool_call_listener", default=None
)


def report_tool_call(tool: str, outcome: str) -> None:
    """Tell the listener, if any, how a call to `tool` ended."""
    listener = tool_call_listener.get()
    if listener is not None:
        listener(tool, outcome)
