"""Llama 3.1/3.3 JSON calls: ``{"name": ..., "parameters": {...}}``, maybe after <|python_tag|>.

The reply is the JSON object itself; several calls may be separated by ``;``. A reply that
starts with a JSON object which is not a call at all (no name, no parameters) is the model
answering in JSON, so it stays text. Built-in tools come as ``<|python_tag|>name.call(k="v")``.
"""

from __future__ import annotations

import json

from threadloom.models.tool_calls.json_calls import (
    invalid_piece,
    name_in_raw,
    pieces_from_value,
    scan_balanced,
)
from threadloom.models.tool_calls.pieces import Piece
from threadloom.models.tool_calls.pythonic import parse_pythonic

PYTHON_TAG = "<|python_tag|>"
_CALL_KEYS = ("name", "parameters", "arguments")


def llama3_end(body: str) -> tuple[int, int] | None:
    """Objects separated by ``;`` end after the last one; one more character must be seen to
    know that no ``;`` follows. A built-in call (not JSON) runs to the end of the reply."""
    at = 0
    while True:
        at += len(body[at:]) - len(body[at:].lstrip())
        if at == len(body) or (at == len(body) - len(body.lstrip()) and body[at] != "{"):
            return None
        if body[at] != "{":
            return at, at
        end = scan_balanced(body, at)
        if end is None:
            return None
        after = end + len(body[end:]) - len(body[end:].lstrip())
        if after == len(body):
            return None
        if body[after] != ";":
            return end, end
        at = after + 1


def parse_llama3(body: str, closed: bool) -> list[Piece]:
    """Calls from ``;``-separated JSON objects."""
    return _parse(body, closed, leading=False)


def parse_leading_llama3(body: str, closed: bool) -> list[Piece]:
    """Like :func:`parse_llama3`, but a JSON object that is no call is the reply's text."""
    return _parse(body, closed, leading=True)


def _parse(body: str, closed: bool, *, leading: bool) -> list[Piece]:
    decoder = json.JSONDecoder()
    pieces: list[Piece] = []
    at = 0
    text = body.strip()
    if not text:
        return [invalid_piece(None, None, f"no JSON call followed {PYTHON_TAG}")]
    if not text.startswith("{"):
        return _builtin_call(text, closed)
    while at < len(text):
        try:
            value, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            rest = text[at:]
            # The end of the reply is not proof of a cut: the brackets may all be closed.
            cut_off = not closed and scan_balanced(rest) is None
            error = (
                "the JSON call was cut off before it ended"
                if cut_off
                else f"the call is not valid JSON: {exc.msg}"
            )
            return [*pieces, invalid_piece(name_in_raw(rest), rest, error)]
        if leading and not pieces and _is_plain_json(value) and end == len(text):
            return [Piece("text", text=body)]
        pieces.extend(pieces_from_value(value, text[at:end]))
        at = end + len(text[end:]) - len(text[end:].lstrip(" \t\n;"))
    return pieces


def _is_plain_json(value: object) -> bool:
    return not (isinstance(value, dict) and any(key in value for key in _CALL_KEYS))


def _builtin_call(text: str, closed: bool) -> list[Piece]:
    """``brave_search.call(query="...")``: the tool is ``brave_search``."""
    pieces = parse_pythonic(f"[{text}]", closed)
    if len(pieces) != 1 or pieces[0].kind == "text":
        return [
            invalid_piece(None, text, f"expected a JSON call or name.call(...) after {PYTHON_TAG}")
        ]
    call = pieces[0].call
    if call is not None and call["name"]:
        call["name"] = call["name"].removesuffix(".call")
    return pieces
