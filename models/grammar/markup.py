"""Where the name and the arguments of each call go in a format's markup, as grammar pieces.

A section of calls is ``head NAME between ARGS (joint NAME between ARGS)* tail``. For the
formats whose arguments are one JSON object, the pieces are read off the format's own writer
(`tool_calls.writing.write_calls`) with two placeholder calls, so what the grammar allows is
exactly what the model is taught and what the parser reads. Pythonic calls and Qwen3-Coder's
XML write arguments their own way; their pieces are spelled here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from threadloom.models.tool_calls.formats import REACT, syntax_for
from threadloom.models.tool_calls.writing import write_calls

ArgsStyle = Literal["json", "python", "xml"]

_NAMES = ("\u2063N1\u2063", "\u2063N2\u2063")
_ARGS = ("\u2063A1\u2063", "\u2063A2\u2063")


@dataclass(frozen=True)
class CallMarkup:
    """The fixed text around the calls of one format."""

    head: str  # before the first call's name
    between: str  # between a call's name and its arguments
    joint: str  # from one call's arguments to the next call's name
    tail: str  # after the last call's arguments
    args: ArgsStyle = "json"
    opener: str = ""  # the text that starts call markup anywhere in a reply ("" : leading only)


_SPELLED: dict[str, CallMarkup] = {
    "pythonic": CallMarkup("[", "(", "), ", ")]", args="python"),
    "qwen3_xml": CallMarkup(
        "<tool_call>\n<function=",
        ">\n",
        "</function>\n</tool_call>\n<tool_call>\n<function=",
        "</function>\n</tool_call>",
        args="xml",
        opener="<tool_call>",
    ),
    # The ReAct fallback (templates without tools): one action per reply, then Observation.
    REACT: CallMarkup(
        'Action:\n```json\n{"action": "', '", "action_input": ', "", "}\n```"
    ),
}


def call_markup(fmt: str) -> CallMarkup:
    """The markup pieces of format `fmt` (one of FORMATS or "react")."""
    if fmt in _SPELLED:
        return _SPELLED[fmt]
    calls = [{"name": name, "args": args} for name, args in zip(_NAMES, _ARGS, strict=True)]
    text = write_calls(calls, fmt)
    for placeholder in _ARGS:  # JSON writers quote the placeholder string
        text = text.replace(f'"{placeholder}"', placeholder)
    head, rest = text.split(_NAMES[0])
    between, rest = rest.split(_ARGS[0])
    joint, rest = rest.split(_NAMES[1])
    _, tail = rest.split(_ARGS[1])
    blocks = syntax_for(fmt).blocks
    opener = next((b.opener for b in blocks if head.startswith(b.opener)), "")
    return CallMarkup(head, between, joint, tail, opener=opener)
