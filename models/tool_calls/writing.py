"""Writing calls in a format's own markup: what the model is taught to emit.

Used where a chat template's history branch does not write the markup the model is asked to
produce (Phi-4-mini omits ``functools[...]``, the Llama 3.2 template leaves strings unquoted),
so past calls are shown to the model as it should write them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from threadloom.models.tool_calls import deepseek
from threadloom.models.tool_calls.formats import syntax_for
from threadloom.models.tool_calls.mistral import TOOL_CALLS

Call = Mapping[str, Any]


def _json_call(call: Call, args_key: str = "arguments") -> str:
    return _dumps({"name": call["name"], args_key: call["args"]})


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _python_literal(value: Any) -> str:
    """A Python literal for a JSON value (``ast.literal_eval`` reads it back)."""
    if isinstance(value, dict):
        items = ", ".join(f"{_python_literal(k)}: {_python_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_python_literal, value)) + "]"
    if isinstance(value, str):
        return _dumps(value)
    return repr(value)


def _pythonic(calls: Sequence[Call]) -> str:
    written = (
        f"{c['name']}(" + ", ".join(f"{k}={_python_literal(v)}" for k, v in c["args"].items()) + ")"
        for c in calls
    )
    return "[" + ", ".join(written) + "]"


def _qwen3_xml(call: Call) -> str:
    params = "".join(
        f"<parameter={key}>\n"
        f"{_dumps(value) if isinstance(value, dict | list) else value}\n</parameter>\n"
        for key, value in call["args"].items()
    )
    return f"<tool_call>\n<function={call['name']}>\n{params}</function>\n</tool_call>"


def _deepseek(calls: Sequence[Call]) -> str:
    written = "".join(
        f"{deepseek.CALL_BEGIN}{c['name']}{deepseek.SEP}{_dumps(c['args'])}{deepseek.CALL_END}"
        for c in calls
    )
    return f"{deepseek.CALLS_BEGIN}{written}{deepseek.CALLS_END}"


_WRITERS: dict[str, Callable[[Sequence[Call]], str]] = {
    "hermes": lambda calls: "\n".join(f"<tool_call>\n{_json_call(c)}\n</tool_call>" for c in calls),
    "llama3_json": lambda calls: "; ".join(_json_call(c, "parameters") for c in calls),
    "pythonic": _pythonic,
    "mistral": lambda calls: TOOL_CALLS + "[" + ", ".join(map(_json_call, calls)) + "]",
    "granite": lambda calls: "<|tool_call|>[" + ", ".join(map(_json_call, calls)) + "]",
    "phi4": lambda calls: "functools[" + ", ".join(map(_json_call, calls)) + "]",
    "qwen3_xml": lambda calls: "\n".join(map(_qwen3_xml, calls)),
    "deepseek": _deepseek,
}


def write_calls(calls: Sequence[Call], fmt: str) -> str:
    """``calls`` (``{"name", "args"}`` dicts) as the model writes them in format ``fmt``.

    Example:
        >>> write_calls([{"name": "f", "args": {"x": 1}}], "pythonic")
        '[f(x=1)]'
    """
    syntax_for(fmt)  # unknown names fail with the list of valid ones
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"format {fmt!r} has no tool-call markup to write")
    return writer(calls) if calls else ""
