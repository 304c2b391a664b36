"""A request's `tool_choice` and `response_format` as the grammar its reply is decoded under.

`tool_choice` (LangChain's and OpenAI's spellings): "auto" (the default with tools bound: free
text, or calls of bound tools with valid arguments), "required" / "any" / True (one or more
calls), "none" / False (no call markup), a bound tool's name or `{"type": "function",
"function": {"name": ...}}` (exactly one call of it). `response_format`: OpenAI's
`{"type": "json_object"}` or `{"type": "json_schema", "json_schema": {"schema": {...}}}`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from threadloom.models.grammar import Literals, json_grammar, special_tokens_of
from threadloom.models.grammar import tool_choice_grammar as choice_grammar
from threadloom.models.token_mask import Grammar, GrammarCompiler
from threadloom.models.tool_choice import wire_tool_choice

# Compiled grammars kept per model: an agent asks with the same tools turn after turn.
_CACHED_GRAMMARS = 64


def tool_choice_mode(choice: Any, tools: Sequence[Mapping[str, Any]]) -> str:
    """"auto", "required", "none" or the name of the one bound tool to call.

    Raises ValueError for a choice naming no bound tool, or asking for calls with no tools.
    """
    names = [tool["function"]["name"] for tool in tools]
    wire = wire_tool_choice("auto" if choice is None else choice, names)
    mode = wire if isinstance(wire, str) else wire["function"]["name"]
    if mode == "required" and not names:
        raise ValueError("tool_choice='required' needs at least one bound tool; bind some tools.")
    return mode


def response_schema(response_format: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON schema an OpenAI `response_format` asks for (None for plain text); ValueError
    for other shapes."""
    kind = response_format.get("type")
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema")
        if isinstance(schema, dict):
            return schema
        raise ValueError("response_format json_schema needs a 'schema' object under 'json_schema'.")
    if kind == "text":
        return None
    raise ValueError(
        f"response_format type {kind!r} is not supported; use 'text', 'json_object' or "
        "'json_schema'."
    )


class OutputConstraints:
    """Builds and caches the grammars of one model's requests."""

    def __init__(self, tokenizer: Any, stop_token_ids: Iterable[int]) -> None:
        self._tokenizer = tokenizer
        self._stop_token_ids = tuple(stop_token_ids)
        self._literals = Literals(special_tokens_of(tokenizer))

    def for_tools(
        self,
        fmt: str,
        tools: Sequence[Mapping[str, Any]],
        mode: str,
        *,
        in_reasoning: bool = False,
    ) -> Grammar | None:
        """The grammar of a reply under tool_choice `mode` (None: decoding stays free)."""
        lark = choice_grammar(fmt, tools, mode, self._literals, in_reasoning=in_reasoning)
        # Free text ends where the model ends it; a forced structure is closed in time.
        return None if lark is None else self._compile(lark, mode not in ("auto", "none"))

    def for_json(self, schema: Mapping[str, Any], *, in_reasoning: bool = False) -> Grammar:
        """The grammar of a reply that is one JSON value valid against `schema`."""
        return self._compile(json_grammar(schema, self._literals, in_reasoning=in_reasoning), True)

    @functools.cached_property
    def _compiler(self) -> GrammarCompiler:
        # Built on first use: a large vocabulary's token table takes about a second.
        return GrammarCompiler(self._tokenizer, self._stop_token_ids)

    @functools.lru_cache(maxsize=_CACHED_GRAMMARS)  # noqa: B019 - one instance per model
    def _compile(self, lark: str, wrap_up: bool) -> Grammar:
        return self._compiler.compile(lark, wrap_up=wrap_up)
