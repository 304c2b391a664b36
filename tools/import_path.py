"""Tools a user writes: `package.module:name` in the tools setting names a LangChain tool, or a
plain function that becomes one (its docstring is the description the model reads).

Example:
    >>> import_tool("my_tools.weather:forecast").name
    'forecast'
"""

from __future__ import annotations

import importlib
from typing import Any

from langchain_core.tools import BaseTool, tool

SEPARATOR = ":"


class ToolImportError(ValueError):
    """An import path names no importable module, no attribute, or something that is no tool."""


def is_import_path(name: str) -> bool:
    """Whether a tools-setting entry is an import path rather than a built-in tool's name."""
    return SEPARATOR in name


def import_tool(path: str) -> BaseTool:
    """The tool at `path` (`package.module:attribute`); raises `ToolImportError` saying what
    is wrong with the path."""
    module_name, _, attribute = path.partition(SEPARATOR)
    if not module_name or not attribute:
        raise ToolImportError(
            f"Tool import path {path!r} must look like 'package.module:tool_name'."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ToolImportError(
            f"Tool {path!r}: cannot import module {module_name!r} ({exc}). Check the name and "
            "that the module is on the Python path of the server."
        ) from None
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ToolImportError(f"Tool {path!r}: module {module_name!r} has no {attribute!r}.")
        found = getattr(found, part)
    return _as_tool(found, path)


def _as_tool(found: Any, path: str) -> BaseTool:
    if isinstance(found, BaseTool):
        return found
    if callable(found) and not isinstance(found, type):
        if not (found.__doc__ or "").strip():
            raise ToolImportError(
                f"Tool {path!r}: the function needs a docstring, which tells the model what "
                "the tool does."
            )
        return tool(found)
    raise ToolImportError(
        f"Tool {path!r} is a {type(found).__name__}, neither a LangChain tool nor a function."
    )
