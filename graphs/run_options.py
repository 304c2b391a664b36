"""What an assistant may change per run: the system prompt, the tools offered, the approvals.

An assistant is the one compiled graph plus configuration; LangGraph Server hands that
configuration to the graph in `config["configurable"]`, so the nodes read it from there:

    {"system_prompt": "Answer in French.", "tools": ["calculator"], "approve_tools": ["search"]}

`tools` limits the tools the model is offered and may call (default: all the graph has);
`approve_tools` names the tools whose calls wait for a human decision (`"*"`: every tool).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig

ALL_TOOLS = "*"


class InvalidRunOptions(ValueError):
    """`config["configurable"]` holds an option of the wrong type or an unknown tool name."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    system_prompt: str | None = None
    tools: frozenset[str] | None = None
    approve_tools: frozenset[str] = frozenset()
    approve_all: bool = False

    def offered(self, available: Iterable[str]) -> list[str]:
        """The available tool names this run may use, in their original order."""
        names = list(available)
        if self.tools is None:
            return names
        unknown = sorted(self.tools - set(names))
        if unknown:
            raise InvalidRunOptions(
                f"configurable.tools names unknown tools {unknown}; "
                f"this graph has: {', '.join(names) or 'none'}."
            )
        return [name for name in names if name in self.tools]

    def needs_approval(self, tool_name: str) -> bool:
        return self.approve_all or tool_name in self.approve_tools


def run_options(config: RunnableConfig | None) -> RunOptions:
    """Read and check the options in `config["configurable"]`; absent ones keep the defaults."""
    configurable: Mapping[str, Any] = (config or {}).get("configurable") or {}
    prompt = configurable.get("system_prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise InvalidRunOptions("configurable.system_prompt must be a string.")
    tools = configurable.get("tools")
    approve = configurable.get("approve_tools")
    approve_all = approve == ALL_TOOLS
    if approve is None or approve_all:
        approve = []
    return RunOptions(
        system_prompt=prompt,
        tools=None if tools is None else _names(tools, "tools"),
        approve_tools=_names(approve, "approve_tools"),
        approve_all=approve_all,
    )


def _names(value: Any, key: str) -> frozenset[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        hint = ' or "*"' if key == "approve_tools" else ""
        raise InvalidRunOptions(f"configurable.{key} must be a list of tool names{hint}.")
    return frozenset(value)
