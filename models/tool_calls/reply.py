"""One-shot and streaming parsing of a model reply in a given tool-call format."""

from __future__ import annotations

from typing import Any

from threadloom.models.tool_calls.formats import syntax_for
from threadloom.models.tool_calls.pieces import ParsedReply, Piece
from threadloom.models.tool_calls.splitter import Splitter


class StreamSplitter:
    """Feed decoded text as it is generated; get visible text, reasoning and finished calls.

    Text that might be the start of call markup (a partial ``<tool_c``) is held back until it
    is known not to be markup, so no markup ever reaches the visible text. Each call comes out
    whole as a ``tool_call`` piece once its markup is complete; broken markup comes out as an
    ``invalid_tool_call`` piece whose ``error`` says what was wrong. Nothing here raises on
    model output.

    Args:
        fmt: a name from ``FORMATS``, ``"none"`` or ``"react"``.
        in_reasoning: the prompt already opened the reasoning block (a generation prompt that
            ends in ``<think>``), so the reply starts inside it.

    Example:
        >>> splitter = StreamSplitter("hermes")
        >>> pieces = splitter.feed('Sure.<tool_call>{"name": "f", "arguments": {}}')
        >>> pieces += splitter.feed("</tool_call>") + splitter.finish()
        >>> [(p.kind, p.text or p.call["name"]) for p in pieces]
        [('text', 'Sure.'), ('tool_call', 'f')]
    """

    def __init__(self, fmt: str, *, in_reasoning: bool = False) -> None:
        self._splitter = Splitter(syntax_for(fmt), in_reasoning=in_reasoning)

    def feed(self, text: str) -> list[Piece]:
        """Take the next decoded text; return what is now known to be text, reasoning or calls."""
        return self._splitter.feed(text)

    def finish(self) -> list[Piece]:
        """End of reply: flush held-back text; markup still open becomes an invalid call."""
        return self._splitter.finish()


def parse_reply(text: str, fmt: str, *, in_reasoning: bool = False) -> ParsedReply:
    """Split a whole reply into content, reasoning, tool calls and invalid tool calls.

    Never raises on model output (only on an unknown ``fmt``). It is the stream splitter run over
    the whole text, so a streamed reply and its one-shot parse always agree.

    Example:
        >>> reply = parse_reply('<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>',
        ...                     "hermes")
        >>> reply.content, reply.tool_calls[0]["name"], reply.tool_calls[0]["args"]
        ('', 'f', {'x': 1})
    """
    splitter = StreamSplitter(fmt, in_reasoning=in_reasoning)
    return ParsedReply.from_pieces(splitter.feed(text) + splitter.finish())


def parse_tool_calls(text: str, fmt: str) -> list[dict[str, Any]]:
    """The valid calls in ``text`` as ``{"name", "args", "id"}`` dicts; broken ones are left out."""
    return [
        {"name": call["name"], "args": call["args"], "id": call["id"]}
        for call in parse_reply(text, fmt).tool_calls
    ]
