"""Pieces of Lark grammar text for llguidance: literals that respect special tokens, JSON values.

A special token (``<|python_tag|>``, Mistral's ``[TOOL_CALLS]`` in tokenizers that mark it
special) is never spelled by ordinary text tokens: llguidance sees its bytes behind a marker
byte. So markup text is split around the tokenizer's special tokens and each one is written as
``<[id]>``, the token itself; everything else is a quoted string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

#: JSON spelled as `json.dumps` writes it (what models are trained on), with no free whitespace:
#: a small model allowed any amount of whitespace can spend its whole budget on it.
JSON_STYLE = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


def quoted(text: str) -> str:
    """A Lark string literal for `text` (JSON's escapes are Lark's)."""
    return json.dumps(text, ensure_ascii=False)


class Literals:
    """Writes markup text as Lark, with the tokenizer's special tokens as token references."""

    def __init__(self, special_tokens: Mapping[str, int]) -> None:
        self.special_tokens = dict(special_tokens)
        names = sorted(self.special_tokens, key=len, reverse=True)
        self._split = re.compile("(" + "|".join(map(re.escape, names)) + ")") if names else None

    def __call__(self, text: str) -> str:
        """`text` as a sequence of Lark items (empty text is the empty string literal)."""
        if not text:
            return '""'
        parts = self._split.split(text) if self._split else [text]
        items = [
            f"<[{self.special_tokens[part]}]>" if part in self.special_tokens else quoted(part)
            for part in parts
            if part
        ]
        return " ".join(items)

    def is_special(self, text: str) -> bool:
        """Whether `text` starts with a special token (it cannot be spelled by text tokens)."""
        return any(text.startswith(name) for name in self.special_tokens)


def json_value(schema: Mapping[str, Any]) -> str:
    """A Lark item matching JSON valid against `schema`, written compactly."""
    options = {**JSON_STYLE, **schema.get("x-guidance", {})}
    return "%json " + json.dumps({**schema, "x-guidance": options}, ensure_ascii=False)


def special_tokens_of(tokenizer: Any) -> dict[str, int]:
    """The added tokens of a transformers tokenizer, by their text.

    llguidance reads every added token as a special one (Qwen's `<tool_call>` too, though the
    tokenizer does not mark it special), and the model writes them as that one token anyway.
    """
    decoder = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    return {token.content: token_id for token_id, token in decoder.items()}
