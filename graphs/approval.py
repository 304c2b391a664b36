"""`build_approval_graph`: the agent, where every tool call waits for a human before it runs.

    START → agent → (tool calls?) → tools → agent → … → END
                                      ⏸ interrupt: a human decides

When the model asks for tools, the `tools` node pauses the run with `langgraph.types.interrupt`
and a value listing them as `"tool_calls": [{"name": ..., "args": {...}, "id": ...}, ...]`,
which also asks in the human-interrupt shapes agent-chat-ui and Agent Inbox render with
approve / edit / respond / ignore buttons (`graphs.human_review`: `action_request`, `config`,
`description`, `action_requests`, `review_configs`); their answers resume it as they send them.
The run is continued with `Command(resume=...)` (over HTTP: `"command": {"resume": ...}`) and one
of:

- `{"approved": true}`: the calls run as the model wrote them;
- `{"approved": false, "reason": "..."}`: none runs; each is answered with a refusal that
  quotes the reason, which the model reads as the tool's result and answers from;
- a list of edited calls, `[{"id": ..., "name": ..., "args": {...}}]`: these run instead (a
  waiting call left out of the list is refused).

This is the agent's own approval mechanism (`graphs.tool_runner`), switched on for every tool by
the graph itself rather than by an assistant's `approve_tools` configuration.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.graph import StateGraph

from threadloom.graphs.agent import build_graph
from threadloom.graphs.run_options import ALL_TOOLS

APPROVAL_PROMPT = (
    "You are a helpful assistant. Use the tools when they help. A person approves each tool "
    "call; when a call is refused, answer without it and take their reason into account."
)


def build_approval_graph(
    model: BaseChatModel, tools: Sequence[BaseTool], system_prompt: str = APPROVAL_PROMPT
) -> StateGraph:
    """Build the approval graph (not compiled: the caller adds its checkpointer).

    Example:
        >>> graph = build_approval_graph(chat_model(), [calculator]).compile(checkpointer=saver)
        >>> graph.invoke({"messages": [("user", "compute 17*23")]}, config)["__interrupt__"]
        >>> graph.invoke(Command(resume={"approved": False, "reason": "not now"}), config)
    """
    return build_graph(model, tools, system_prompt=system_prompt, approve_tools=ALL_TOOLS)
