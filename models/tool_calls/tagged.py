"""Calls inside ``<tool_call>...</tool_call>``: Hermes JSON (Qwen2.5, Qwen3) or Qwen3-Coder XML.

Both formats share the tags and Qwen models trained on one sometimes write the other, so the
body is read as JSON when it starts with ``{`` and as ``<function=...>`` XML otherwise.
"""

from __future__ import annotations

import json
import re
from typing import Any

from threadloom.models.tool_calls.json_calls import invalid_piece, name_in_raw, pieces_from_json
from threadloom.models.tool_calls.pieces import Piece, tool_call

_FUNCTION = re.compile(r"<function=([^>\n]*)>(.*?)</function>", re.DOTALL)
_PARAMETER = re.compile(r"<parameter=([^>\n]*)>(.*?)</parameter>", re.DOTALL)


def parse_tool_call_tag(body: str, closed: bool) -> list[Piece]:
    """Parse the body of one ``<tool_call>`` block."""
    raw = body.strip()
    if not closed:
        name = name_in_raw(raw) or _xml_name(raw)
        return [
            invalid_piece(
                name, raw or None, "the <tool_call> block was cut off before </tool_call>"
            )
        ]
    if raw.startswith("<function="):
        return parse_function_tag(raw)
    return pieces_from_json(raw, "<tool_call>")


def parse_bare_function(body: str, closed: bool) -> list[Piece]:
    """A ``<function=...>`` block written without the ``<tool_call>`` wrapper."""
    return parse_function_tag("<function=" + body + ("</function>" if closed else ""))


def parse_function_tag(raw: str) -> list[Piece]:
    """Parse Qwen3-Coder ``<function=name><parameter=k>v</parameter>...</function>`` text."""
    pieces = [
        _function_call(m.group(1).strip(), m.group(2), m.group(0)) for m in _FUNCTION.finditer(raw)
    ]
    leftover = _FUNCTION.sub("", raw).strip()
    if "<function=" in leftover or not pieces:
        error = "the <function=...> block was cut off or not closed with </function>"
        pieces.append(invalid_piece(_xml_name(leftover), leftover or None, error))
    elif leftover:
        pieces.append(invalid_piece(None, leftover, "text outside <function=...> in the call"))
    return pieces


def _function_call(name: str, inner: str, raw: str) -> Piece:
    if not name:
        return invalid_piece(None, raw, "the <function=...> tag has no function name")
    args: dict[str, Any] = {}
    for param in _PARAMETER.finditer(inner):
        args[param.group(1).strip()] = _parameter_value(param.group(2))
    leftover = _PARAMETER.sub("", inner)
    if "<parameter=" in leftover:
        return invalid_piece(name, raw, "a <parameter=...> tag is not closed with </parameter>")
    if leftover.strip():
        return invalid_piece(name, raw, "text outside <parameter=...> tags in the function call")
    return Piece("tool_call", call=tool_call(name, args))


def _parameter_value(text: str) -> Any:
    """The template writes strings raw and objects/lists as JSON, each between newlines.

    Only object and list values are decoded: a bare ``42`` stays the string the template would
    also have written for ``"42"``, and tool argument validation converts it where a number
    is wanted.
    """
    value = text.removeprefix("\n").removesuffix("\n")
    if value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _xml_name(raw: str) -> str | None:
    match = re.match(r"\s*<function=([^>\n]+)>", raw)
    return match.group(1).strip() if match else None
