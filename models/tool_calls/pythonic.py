"""Pythonic calls (Llama 3.2, Gemma 3): ``[get_weather(city="Paris"), get_time()]``.

The list is parsed with :mod:`ast` and only literal values are accepted, never evaluated code.
A bracketed reply that is not a list of calls (``[1, 2, 3]``, ``[Note] ...``) is ordinary text.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from threadloom.models.tool_calls.json_calls import invalid_piece, scan_balanced
from threadloom.models.tool_calls.pieces import Piece, tool_call

_LOOKS_LIKE_CALL = re.compile(r"\s*\[\s*[A-Za-z_][\w.]*\s*\(")


def pythonic_end(body: str) -> tuple[int, int] | None:
    """The list ends at its balanced closing bracket; Python string quotes are honoured."""
    end = scan_balanced(body, 0, quotes="\"'")
    return None if end is None else (end, end)


def parse_pythonic(body: str, closed: bool) -> list[Piece]:
    """Calls from a Python list of calls; text when it is not one."""
    try:
        tree = ast.parse(body.strip(), mode="eval").body
    except SyntaxError as exc:
        if not _LOOKS_LIKE_CALL.match(body):
            return [Piece("text", text=body)]
        error = (
            "the call list was cut off before its closing ]"
            if not closed
            else f"the call list is not valid Python: {exc.msg}"
        )
        return [invalid_piece(_first_name(body), body.strip(), error)]
    if not isinstance(tree, ast.List) or not any(isinstance(e, ast.Call) for e in tree.elts):
        return [Piece("text", text=body)]
    return [_call(element) for element in tree.elts]


def _call(node: ast.expr) -> Piece:
    raw = ast.unparse(node)
    if not isinstance(node, ast.Call):
        return invalid_piece(None, raw, "each item of the call list must be a function call")
    name = _dotted_name(node.func)
    if name is None:
        return invalid_piece(None, raw, "the function name must be a plain name like get_time")
    if node.args:
        return invalid_piece(name, raw, "arguments must be passed by keyword, as name=value")
    args: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            return invalid_piece(name, raw, "**kwargs is not allowed in a call; name each argument")
        try:
            args[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            return invalid_piece(
                name,
                raw,
                f"argument {keyword.arg!r} must be a literal value (string, number, list, dict, "
                f"True/False/None), not {ast.unparse(keyword.value)}",
            )
    return Piece("tool_call", call=tool_call(name, args))


def _dotted_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parent = _dotted_name(node.value)
        return None if parent is None else f"{parent}.{node.attr}"
    return None


def _first_name(body: str) -> str | None:
    match = re.match(r"\s*\[\s*([A-Za-z_][\w.]*)\s*\(", body)
    return match.group(1) if match else None
