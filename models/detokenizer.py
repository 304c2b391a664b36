"""Incremental detokenisation: text deltas from a growing token list, never half a character.

Decoding tokens one by one is wrong twice over: a byte-level BPE token may hold part of a UTF-8
character (decoded alone it is U+FFFD), and SentencePiece-style tokenizers drop or add a leading
space depending on what precedes a token. So each step decodes a short window that starts a few
tokens back and emits only what that window adds beyond the text already emitted, holding back
while the window still ends in an incomplete character.
"""

from __future__ import annotations

from typing import Protocol

REPLACEMENT_CHAR = "\ufffd"
# Prompt tokens decoded as context for the first generated token (its leading space).
_CONTEXT_TOKENS = 5


class Decoder(Protocol):
    def decode(self, token_ids: list[int], skip_special_tokens: bool = ...) -> str: ...


class IncrementalDetokenizer:
    """Turns token ids, added one at a time, into text deltas.

    Example:
        >>> detok = IncrementalDetokenizer(tokenizer, prompt_ids)
        >>> "".join(detok.add(t) for t in generated) + detok.flush()
    """

    def __init__(self, tokenizer: Decoder, prompt_ids: list[int]) -> None:
        self._tokenizer = tokenizer
        self._ids = list(prompt_ids[-_CONTEXT_TOKENS:])
        self._prefix_offset = 0  # start of the decoding window
        self._read_offset = len(self._ids)  # end of what has been emitted

    def add(self, token_id: int) -> str:
        """Append one token; return the text it completes (often "", never a partial character)."""
        self._ids.append(token_id)
        prefix_text = self._decode(self._ids[self._prefix_offset : self._read_offset])
        full_text = self._decode(self._ids[self._prefix_offset :])
        if len(full_text) <= len(prefix_text) or full_text.endswith(REPLACEMENT_CHAR):
            return ""
        self._prefix_offset, self._read_offset = self._read_offset, len(self._ids)
        return full_text[len(prefix_text) :]

    def flush(self) -> str:
        """Return whatever is held back (an incomplete character decodes as U+FFFD)."""
        if self._read_offset == len(self._ids):
            return ""
        prefix_text = self._decode(self._ids[self._prefix_offset : self._read_offset])
        full_text = self._decode(self._ids[self._prefix_offset :])
        self._prefix_offset = self._read_offset = len(self._ids)
        return full_text[len(prefix_text) :]

    def _decode(self, ids: list[int]) -> str:
        # Special tokens stay: tool-call markup such as <tool_call> may be one.
        return self._tokenizer.decode(ids, skip_special_tokens=False)
