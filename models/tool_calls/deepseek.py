"""DeepSeek V3 / R1 / V3.1 calls, written with DeepSeek's special tokens.

V3 and R1: ``<｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME``, a newline and the arguments in a
fenced ```json block, then ``<｜tool▁call▁end｜>``;
V3.1: ``<｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{ARGS}<｜tool▁call▁end｜>``; both wrapped in
``<｜tool▁calls▁begin｜>...<｜tool▁calls▁end｜>``.
"""

from __future__ import annotations

import json

from threadloom.models.tool_calls.json_calls import call_piece, invalid_piece
from threadloom.models.tool_calls.pieces import Piece

CALLS_BEGIN = "<｜tool▁calls▁begin｜>"
CALLS_END = "<｜tool▁calls▁end｜>"
CALL_BEGIN = "<｜tool▁call▁begin｜>"
CALL_END = "<｜tool▁call▁end｜>"
SEP = "<｜tool▁sep｜>"


def parse_calls_block(body: str, closed: bool) -> list[Piece]:
    """Every call between ``tool▁calls▁begin`` and ``tool▁calls▁end``.

    When the reply stopped before ``tool▁calls▁end``, the calls already complete still count.
    """
    pieces: list[Piece] = []
    for chunk in body.split(CALL_BEGIN)[1:]:
        inner, ended, _ = chunk.partition(CALL_END)
        pieces.extend(parse_call(inner, bool(ended)))
    if not pieces:
        return [
            invalid_piece(
                None,
                body.strip() or None,
                f"no {CALL_BEGIN} call inside "
                f"{CALLS_BEGIN}" + ("" if closed else " before the reply ended"),
            )
        ]
    return pieces


def parse_call(body: str, closed: bool) -> list[Piece]:
    """One call: the text between ``tool▁call▁begin`` and ``tool▁call▁end``."""
    head, sep, tail = body.partition(SEP)
    if not closed:
        name = (tail.partition("\n")[0] if head.strip() == "function" else head).strip()
        return [
            invalid_piece(
                name or None, body.strip() or None, f"the call was cut off before {CALL_END}"
            )
        ]
    if not sep:
        return [
            invalid_piece(None, body.strip(), f"the call has no {SEP} between name and arguments")
        ]
    if head.strip() == "function":
        name, _, args_text = tail.partition("\n")
    else:
        name, args_text = head, tail
    args_text = _unfence(args_text)
    try:
        args = json.loads(args_text) if args_text else {}
    except json.JSONDecodeError as exc:
        return [
            invalid_piece(
                name.strip() or None, args_text, f"the arguments are not valid JSON: {exc.msg}"
            )
        ]
    return [call_piece(name, args)]


def _unfence(text: str) -> str:
    text = text.strip()
    if text.startswith("```"):
        text = text.removeprefix("```json").removeprefix("```").removesuffix("```")
    return text.strip()
