"""`build_graph`: the ReAct loop as a StateGraph — agent → (tool calls?) → tools → agent → END."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph

from threadloom.graphs.run_options import run_options
from threadloom.graphs.state import AgentState
from threadloom.graphs.tool_runner import ToolRunner

STEP_LIMIT_MESSAGE = (
    "I stopped here: the step limit ({limit}) was reached before I had a final answer. "
    "Ask again, perhaps more narrowly, to continue."
)


def build_graph(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    system_prompt: str | None = None,
    tool_timeout_s: float = 30.0,
    approve_tools: Collection[str] | Literal["*"] = (),
) -> StateGraph:
    """Build the agent graph (not compiled: the caller adds its checkpointer).

    `system_prompt` and `tools` are defaults: an assistant's configuration may replace the
    prompt, offer fewer tools, or make tool calls wait for approval (`graphs.run_options`).
    `approve_tools` names tools whose calls always wait for approval (`"*"`: all of them).

    Example:
        >>> graph = build_graph(model, [calculator]).compile(checkpointer=saver)
        >>> graph.invoke({"messages": [("user", "compute 17*23")]}, config)
    """
    by_name = {tool.name: tool for tool in tools}
    bound: dict[tuple[str, ...], Runnable] = {}

    def model_offering(names: list[str]) -> Runnable:
        # An assistant may offer a subset of the tools: bind each subset once.
        key = tuple(names)
        if key not in bound:
            bound[key] = model.bind_tools([by_name[n] for n in names]) if names else model
        return bound[key]

    async def agent(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        # A tool round needs this step, the tools step and one more agent step to answer;
        # with fewer left, end with a clear message rather than a GraphRecursionError.
        if state["remaining_steps"] < 3:
            limit = config.get("recursion_limit", "?")
            return {"messages": [AIMessage(content=STEP_LIMIT_MESSAGE.format(limit=limit))]}
        options = run_options(config)
        prompt = options.system_prompt if options.system_prompt is not None else system_prompt
        history = list(state["messages"])
        if prompt and not (history and isinstance(history[0], SystemMessage)):
            history.insert(0, SystemMessage(content=prompt))
        reply = await model_offering(options.offered(by_name)).ainvoke(history, config)
        return {"messages": [reply]}

    def route(state: AgentState) -> Literal["tools", "__end__"]:
        if not state["messages"]:  # a state update as "agent" that wrote no message
            return END
        last = state["messages"][-1]
        wants_tools = isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls)
        return "tools" if wants_tools else END

    graph = StateGraph(AgentState)
    graph.add_node("agent", agent)
    runner = ToolRunner(tools, timeout_s=tool_timeout_s, approve_tools=approve_tools)
    graph.add_node("tools", runner)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph
