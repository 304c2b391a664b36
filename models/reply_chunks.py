"""Generated tokens -> `AIMessageChunk`s: text, reasoning, tool-call chunks, then usage.

The pipeline per token: incremental detokenisation -> stop strings -> the tool-call splitter
(which holds back markup). What comes out is safe to show as it is; merged, the chunks give the
final message with `.tool_calls`, `.invalid_tool_calls`, usage and finish reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.utils.json import parse_partial_json

from threadloom.models.detokenizer import Decoder, IncrementalDetokenizer
from threadloom.models.stop_sequences import StopSequenceFilter
from threadloom.models.tool_calls import Piece, StreamSplitter

if TYPE_CHECKING:  # generation imports torch, which a remote model's `TextChunks` never needs
    from threadloom.models.generation import TokenEvent


class ReplyChunks:
    """Builds the chunks of one reply from its token events.

    Example:
        >>> reply = ReplyChunks(tokenizer, prompt_ids, "hermes", stop=None, model_name="m")
        >>> chunks = [c for event in events for c in reply.add(event)] + reply.finish()
    """

    def __init__(
        self,
        tokenizer: Decoder,
        prompt_ids: list[int],
        fmt: str,
        *,
        stop: Sequence[str] | None,
        model_name: str,
        in_reasoning: bool = False,
    ) -> None:
        self._detokenizer = IncrementalDetokenizer(tokenizer, prompt_ids)
        self._stops = StopSequenceFilter(stop)
        self._text = TextChunks(fmt, in_reasoning=in_reasoning)
        self._input_tokens = len(prompt_ids)
        self._output_tokens = 0
        self._model_name = model_name
        self._finish_reason: str | None = None

    @property
    def done(self) -> bool:
        """The reply is complete (stop token, stop string or length): stop reading tokens."""
        return self._finish_reason is not None

    def add(self, event: TokenEvent) -> list[AIMessageChunk]:
        """The chunks that one more token makes visible (often none)."""
        self._output_tokens += 1
        # A stop token ends the reply without being part of it.
        text = "" if event.finish_reason == "stop" else self._detokenizer.add(event.token_id)
        if event.finish_reason is not None:
            text += self._detokenizer.flush()
            self._finish_reason = event.finish_reason
        visible = self._stops.feed(text)
        if self._stops.stopped:
            self._finish_reason = "stop"
        return self._text.feed(visible)

    def finish(self) -> list[AIMessageChunk]:
        """The last chunks: held-back text, unfinished markup, then usage and finish reason."""
        tail = self._stops.feed(self._detokenizer.flush()) + self._stops.flush()
        chunks = self._text.feed(tail) + self._text.finish()
        finish_reason = self._finish_reason or "stop"
        if finish_reason == "stop" and self._text.called_tools:
            finish_reason = "tool_calls"
        chunks.append(
            AIMessageChunk(
                content="",
                usage_metadata={
                    "input_tokens": self._input_tokens,
                    "output_tokens": self._output_tokens,
                    "total_tokens": self._input_tokens + self._output_tokens,
                },
                response_metadata={
                    "finish_reason": finish_reason,
                    "model_name": self._model_name,
                },
                chunk_position="last",
            )
        )
        return chunks


class TextChunks:
    """Reply text, fed as it arrives -> chunks of visible text, reasoning and tool calls.

    The tool-call splitter holds back markup, so no chunk ever shows it; each call comes out as
    one tool-call chunk once its markup is complete. Used for local decoding and for remote
    servers that leave the markup in the text.

    Example:
        >>> text = TextChunks("hermes")
        >>> chunks = text.feed('Sure.<tool_call>{"name": "f", "arguments": {}}') + text.finish()
    """

    def __init__(self, fmt: str, *, in_reasoning: bool = False) -> None:
        self._splitter = StreamSplitter(fmt, in_reasoning=in_reasoning)
        self.called_tools = False

    def feed(self, text: str) -> list[AIMessageChunk]:
        """The chunks that `text` makes visible (often none while markup is open)."""
        return self._chunks(self._splitter.feed(text))

    def finish(self) -> list[AIMessageChunk]:
        """End of reply: held-back text, and markup left open as an invalid call."""
        return self._chunks(self._splitter.finish())

    def _chunks(self, pieces: list[Piece]) -> list[AIMessageChunk]:
        chunks = []
        for piece in pieces:
            if piece.kind == "text":
                chunks.append(AIMessageChunk(content=piece.text))
            elif piece.kind == "reasoning":
                chunks.append(
                    AIMessageChunk(content="", additional_kwargs={"reasoning_content": piece.text})
                )
            elif piece.call is not None:
                self.called_tools = True
                chunks.append(AIMessageChunk(content="", tool_call_chunks=[_call_chunk(piece)]))
        return chunks


def _call_chunk(piece: Piece) -> Any:
    call = piece.call or {}
    if piece.kind == "tool_call":
        args = json.dumps(call["args"], ensure_ascii=False)
    else:
        args = _invalid_args(call.get("args"))
    return tool_call_chunk(name=call.get("name"), args=args, id=call.get("id"), index=piece.index)


def _invalid_args(raw: str | None) -> str:
    """Raw text of a broken call, in a form that merging chunks will not mistake for valid.

    LangChain turns merged tool-call chunks into calls with a lenient partial-JSON parser; a
    truncated `{"x": "2+2` would come out as a valid call. Such text is sent as a JSON string
    literal instead, which still carries it but never parses into an arguments object.
    """
    text = raw or ""
    try:
        reads_as_object = isinstance(parse_partial_json(text), dict) if text else True
    except Exception:  # the parser's own failures mean: not an object
        reads_as_object = False
    return json.dumps(text, ensure_ascii=False) if reads_as_object else text
