"""Chat models for graphs: `chat_model()` gives the configured one (see `models.configured`).

Example:
    >>> from threadloom.models import chat_model
    >>> model = chat_model().bind_tools([calculator])

The names are imported on first use, so that importing a light submodule (`tool_calls`, ...)
does not load torch and transformers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadloom.models.configured import chat_model
    from threadloom.models.factory import ModelSpec
    from threadloom.models.settings import ModelSettings

__all__ = ["ModelSettings", "ModelSpec", "chat_model"]

_HOMES = {
    "chat_model": "threadloom.models.configured",
    "ModelSpec": "threadloom.models.factory",
    "ModelSettings": "threadloom.models.settings",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
