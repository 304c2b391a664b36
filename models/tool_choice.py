"""`wire_tool_choice`: a LangChain `tool_choice` in the form OpenAI-compatible servers read."""

from __future__ import annotations

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
