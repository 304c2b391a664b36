"""Mistral calls after the ``[TOOL_CALLS]`` token, in every variant Mistral models write.

* ``[TOOL_CALLS][{"name": ..., "arguments": {...}, "id": "abc123XYZ"}, ...]`` (NeMo, v0.3 with
  a space after the token), or a single object instead of the list;
* ``[TOOL_CALLS]name[ARGS]{...}``, optionally ``name[CALL_ID]id[ARGS]{...}`` (newer tokenizers,
  one token per call).

The ids models write are kept (a client answers each call by its id); a call without one gets a
fresh ``call_<hex>`` id, which the history converter maps to the 9 characters the template
demands.
"""

from __future__ import annotations

import json

from threadloom.models.tool_calls.json_calls import (
    call_piece,
    invalid_piece,
    pieces_from_json,
    scan_balanced,
)
from threadloom.models.tool_calls.pieces import Piece

TOOL_CALLS = "[TOOL_CALLS]"
_ARGS = "[ARGS]"
_CALL_ID = "[CALL_ID]"


def mistral_end(body: str) -> tuple[int, int] | None:
    """A JSON value ends at its balanced bracket, ``name[ARGS]{...}`` at the object's end."""
    start = len(body) - len(body.lstrip())
    if start == len(body):
        return None
    if body[start] in "[{":
        end = scan_balanced(body, start)
        return None if end is None else (end, end)
    args_at = body.find(_ARGS, start)
    if args_at < 0:
        return None
    value_at = args_at + len(_ARGS)
    value_at += len(body[value_at:]) - len(body[value_at:].lstrip())
    if value_at == len(body):
        return None
    if body[value_at] != "{":
        return value_at, value_at
    end = scan_balanced(body, value_at)
    return None if end is None else (end, end)


def parse_mistral(body: str, closed: bool) -> list[Piece]:
    """Calls from the text after ``[TOOL_CALLS]``."""
    raw = body.strip()
    if raw[:1] in ("[", "{") or not raw:
        return pieces_from_json(raw, TOOL_CALLS, closed)
    if _ARGS not in raw:
        return [
            invalid_piece(
                None, raw, f"expected a JSON list of calls or name{_ARGS}{{...}} after {TOOL_CALLS}"
            )
        ]
    head, _, args_text = raw.partition(_ARGS)
    name, _, call_id = (part.strip() for part in head.partition(_CALL_ID))
    try:
        args = json.loads(args_text)
    except json.JSONDecodeError as exc:
        error = (
            f"the arguments after {_ARGS} were cut off before their JSON ended"
            if not closed
            else f"the arguments after {_ARGS} are not valid JSON: {exc.msg}"
        )
        return [invalid_piece(name or None, args_text, error)]
    return [call_piece(name, args, call_id or None)]
