"""Tools and `tool_choice` in the form OpenAI-compatible servers read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

_MODES = ("auto", "none", "required")


def wire_tool_choice(choice: dict | str | bool, names: list[str]) -> dict | str:
    """auto / none / required (also "any", True) / a bound tool's name or OpenAI dict.

    Raises ValueError for a name that is not among the bound tools' `names`.

    Example:
        >>> wire_tool_choice("multiply", ["add", "multiply"])
        {'type': 'function', 'function': {'name': 'multiply'}}
    """
    if choice is True or choice == "any":
        return "required"
    if choice is False:
        return "none"
    if choice in _MODES:
        return choice
    name = choice if isinstance(choice, str) else (choice.get("function") or {}).get("name")
    if name not in names:
        msg = (
            f"tool_choice {choice!r} names no bound tool (bound: {', '.join(names) or 'none'}); "
            "use one of those names, or 'auto', 'required' or 'none'."
        )
        raise ValueError(msg)
    return {"type": "function", "function": {"name": name}}


def bind_wire_tools(
    model: BaseChatModel,
    tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
    tool_choice: dict | str | bool | None,
    **kwargs: Any,
) -> Runnable[LanguageModelInput, AIMessage]:
    """`model.bind_tools` for the endpoint clients: the tools in OpenAI's form, `tool_choice`
    auto / required (or "any", True) / none / a tool's name."""
    formatted = [convert_to_openai_tool(tool) for tool in tools]
    if tool_choice is not None:
        names = [tool["function"]["name"] for tool in formatted]
        kwargs["tool_choice"] = wire_tool_choice(tool_choice, names)
    return model.bind(tools=formatted, **kwargs)
