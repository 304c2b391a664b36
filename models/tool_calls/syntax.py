"""How a format marks tool calls in text, described as data the stream splitter runs on.

A format is a set of :class:`Block` kinds. A block starts at an ``opener`` string; ``find_end``
says where its body ends once enough text has arrived; ``parse`` turns the body into call pieces.
Keeping every format in this one shape lets a single state machine stream them all, and lets
``parse_reply`` be that machine run over the whole text, so streaming and one-shot parsing
cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from threadloom.models.tool_calls.json_calls import scan_balanced
from threadloom.models.tool_calls.pieces import Piece

#: body -> (end of the body, end of what the block consumed), or None while the end is unseen.
EndFinder = Callable[[str], "tuple[int, int] | None"]
#: (body, closed) -> pieces; ``closed`` is False when the reply ended inside the block.
BodyParser = Callable[[str, bool], list[Piece]]


@dataclass(frozen=True)
class Block:
    """One kind of tool-call markup.

    ``keeps`` is how many trailing characters of the opener belong to the body, for markup
    recognised by its first bracket (``functools[``, a leading ``{``).
    """

    opener: str
    find_end: EndFinder
    parse: BodyParser
    keeps: int = 0


@dataclass(frozen=True)
class Thinking:
    """Reasoning markup: it starts at ``opener`` and ends at ``closer`` (which is dropped) or,
    when ``ends_at_blocks``, where a block opener starts (ReAct's ``Thought:`` ends at
    ``Action:``)."""

    opener: str
    closer: str | None
    ends_at_blocks: bool = False


@dataclass(frozen=True)
class Syntax:
    """The markup of one format.

    ``blocks`` are recognised anywhere in the reply; ``leading`` only where the visible reply
    starts (formats whose calls are bare JSON or a Python list, which would otherwise swallow
    ordinary text); ``thinking`` marks reasoning kept out of the visible text.
    """

    blocks: tuple[Block, ...] = ()
    leading: tuple[Block, ...] = ()
    thinking: Thinking | None = None


THINK_TAGS = Thinking("<think>", "</think>")


def closed_by(closer: str) -> EndFinder:
    """End finder for markup with a closing tag."""

    def find_end(body: str) -> tuple[int, int] | None:
        at = body.find(closer)
        return None if at < 0 else (at, at + len(closer))

    return find_end


def json_value_end(body: str) -> tuple[int, int] | None:
    """End finder for a JSON object or list after optional whitespace.

    Anything else right after the opener ends the block at once (with that text left out), so
    the parser can report that no JSON followed instead of swallowing the rest of the reply.
    """
    start = len(body) - len(body.lstrip())
    if start == len(body):
        return None
    if body[start] not in "[{":
        return start, start
    end = scan_balanced(body, start)
    return None if end is None else (end, end)
