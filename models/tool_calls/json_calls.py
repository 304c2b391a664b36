"""Reading calls written as JSON objects, the shape most formats share.

A call is ``{"name": ..., "arguments": {...}}`` (Llama 3 says ``"parameters"``); a block may hold
one such object or a list of them. Anything else becomes an invalid call whose error says what
was wrong, so the model can be told and try again.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from threadloom.models.tool_calls.pieces import Piece, invalid_tool_call, tool_call

if TYPE_CHECKING:
    from threadloom.models.tool_calls.syntax import BodyParser

_ARGUMENT_KEYS = ("arguments", "parameters")
_NAME_IN_RAW = re.compile(r'"name"\s*:\s*"([^"\\]+)"')


def scan_balanced(text: str, start: int = 0, quotes: str = '"') -> int | None:
    """Index just past the bracket that closes the one at ``text[start]``; None if not there yet.

    Brackets inside string literals (delimited by any of ``quotes``, backslash escapes honoured)
    do not count, so ``{"a": "}"}`` is one object.
    """
    depth = 0
    quote = ""
    escaped = False
    for at in range(start, len(text)):
        ch = text[at]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in quotes:
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
            if depth <= 0:
                return at + 1
    return None


def invalid_piece(name: str | None, args: str | None, error: str) -> Piece:
    """An invalid call piece; ``args`` is the raw text of what the model wrote."""
    return Piece("invalid_tool_call", call=invalid_tool_call(name, args, error))


def name_in_raw(raw: str) -> str | None:
    """The function name a broken JSON call was meant to have, when it can still be read."""
    match = _NAME_IN_RAW.search(raw)
    return match.group(1) if match else None


def call_piece(name: Any, args: Any, call_id: Any = None) -> Piece:
    """A call piece when ``name`` and ``args`` make a valid call, otherwise an invalid one;
    ``call_id`` is the id the model wrote, if any (kept when it is one)."""
    if isinstance(args, str):
        # Some models write OpenAI-style arguments: an object serialised into a string.
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            return invalid_piece(
                name if isinstance(name, str) else None,
                args,
                "the arguments are a string that is not a JSON object",
            )
    if not isinstance(name, str) or not name.strip():
        return invalid_piece(None, _dump(args), 'the call has no function "name"')
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return invalid_piece(
            name, _dump(args), f"the arguments must be a JSON object, not {_json_type(args)}"
        )
    return Piece("tool_call", call=tool_call(name.strip(), args, call_id))


def pieces_from_value(value: Any, raw: str) -> list[Piece]:
    """Calls from a decoded JSON value: one call object or a list of them."""
    items = value if isinstance(value, list) else [value]
    if not items:
        return [invalid_piece(None, raw, "the list of calls is empty")]
    pieces: list[Piece] = []
    for item in items:
        if isinstance(item, dict):
            args_key = next((key for key in _ARGUMENT_KEYS if key in item), None)
            args = item.get(args_key) if args_key else {}
            # Two calls of one reply never share an id: a repeated one is replaced.
            taken = {piece.call["id"] for piece in pieces if piece.call}
            call_id = item.get("id") if item.get("id") not in taken else None
            pieces.append(call_piece(item.get("name"), args, call_id))
        else:
            pieces.append(
                invalid_piece(
                    None,
                    _dump(item),
                    f'a call must be a JSON object with "name" and "arguments", '
                    f"not {_json_type(item)}",
                )
            )
    return pieces


def pieces_from_json(raw: str, where: str, closed: bool = True) -> list[Piece]:
    """Decode ``raw`` as one call or a list of calls; ``where`` names the markup for errors.

    ``closed`` False means the reply ended before the markup did, which explains a decode error
    better than the decoder's message.
    """
    raw = raw.strip()
    if not raw:
        return [invalid_piece(None, None, f"no call followed {where}")]
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        error = (
            f"the call after {where} was cut off before its JSON ended"
            if not closed
            else f"the call after {where} is not valid JSON: {exc.msg} at character {exc.pos}"
        )
        return [invalid_piece(name_in_raw(raw), raw, error)]
    return pieces_from_value(value, raw)


def json_block_parser(where: str) -> BodyParser:
    """Body parser for markup followed by one JSON call or a list of calls."""

    def parse(body: str, closed: bool) -> list[Piece]:
        return pieces_from_json(body, where, closed)

    return parse


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def _dump(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
