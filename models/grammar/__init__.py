"""Grammars for constrained decoding: tool calls in a format's markup, JSON by schema.

Example:
    >>> from threadloom.models.grammar import Literals, tool_choice_grammar
    >>> lark = tool_choice_grammar("hermes", tools, "required", Literals({}))
"""

from threadloom.models.grammar.calls import json_grammar, tool_choice_grammar
from threadloom.models.grammar.lark_text import Literals, special_tokens_of

__all__ = ["Literals", "json_grammar", "special_tokens_of", "tool_choice_grammar"]
