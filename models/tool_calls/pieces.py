"""What a parsed reply is made of: visible text, reasoning, and tool calls (valid or not)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

PieceKind = Literal["text", "reasoning", "tool_call", "invalid_tool_call"]
# An id a model wrote is kept when it looks like one (Mistral writes 9 letters and digits).
_MODEL_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def new_call_id() -> str:
    """A fresh OpenAI-style id (``call_<hex>``); ids that models write are not trusted unique."""
    return f"call_{uuid.uuid4().hex[:24]}"


def call_id_or_new(written: Any) -> str:
    """The id the model wrote for a call (so the client's later tool messages match it), or a
    fresh one when it wrote none or something that is not an id."""
    if isinstance(written, str) and _MODEL_ID.fullmatch(written):
        return written
    return new_call_id()


def tool_call(name: str, args: dict[str, Any], call_id: str | None = None) -> dict[str, Any]:
    """A LangChain ``ToolCall`` dict, with `call_id` (the model's) or a fresh id."""
    return {"name": name, "args": args, "id": call_id_or_new(call_id), "type": "tool_call"}


def invalid_tool_call(name: str | None, args: str | None, error: str) -> dict[str, Any]:
    """A LangChain ``InvalidToolCall`` dict: what could be read of a broken call, and why."""
    return {
        "name": name,
        "args": args,
        "id": new_call_id(),
        "error": error,
        "type": "invalid_tool_call",
    }


@dataclass(frozen=True)
class Piece:
    """One increment of a reply as a :class:`StreamSplitter` sees it.

    ``text`` carries the characters of ``text`` and ``reasoning`` pieces; ``call`` carries the
    ToolCall / InvalidToolCall dict of call pieces and ``index`` its position among the reply's
    calls (valid and invalid counted together, in the order the model wrote them).
    """

    kind: PieceKind
    text: str = ""
    call: dict[str, Any] | None = None
    index: int | None = None


@dataclass(frozen=True)
class ParsedReply:
    """A finished reply split into what the user sees, what the model thought, and its calls."""

    content: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    invalid_tool_calls: list[dict[str, Any]] = field(default_factory=list)
    reasoning: str = ""

    @classmethod
    def from_pieces(cls, pieces: list[Piece]) -> ParsedReply:
        """Gather the pieces of a whole reply, in order."""
        return cls(
            content="".join(p.text for p in pieces if p.kind == "text"),
            tool_calls=[p.call for p in pieces if p.kind == "tool_call" and p.call],
            invalid_tool_calls=[p.call for p in pieces if p.kind == "invalid_tool_call" and p.call],
            reasoning="".join(p.text for p in pieces if p.kind == "reasoning"),
        )
