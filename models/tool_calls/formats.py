"""The markup of every supported format, by name."""

from __future__ import annotations

from threadloom.models.tool_calls import deepseek
from threadloom.models.tool_calls.json_calls import json_block_parser
from threadloom.models.tool_calls.llama3 import (
    PYTHON_TAG,
    llama3_end,
    parse_leading_llama3,
    parse_llama3,
)
from threadloom.models.tool_calls.mistral import TOOL_CALLS, mistral_end, parse_mistral
from threadloom.models.tool_calls.pythonic import parse_pythonic, pythonic_end
from threadloom.models.tool_calls.react_markup import REACT_SYNTAX
from threadloom.models.tool_calls.syntax import THINK_TAGS, Block, Syntax, closed_by, json_value_end
from threadloom.models.tool_calls.tagged import parse_bare_function, parse_tool_call_tag

FORMATS: tuple[str, ...] = (
    "hermes",
    "llama3_json",
    "pythonic",
    "mistral",
    "granite",
    "phi4",
    "qwen3_xml",
    "deepseek",
)

#: Not tool-call formats: "none" is plain text, "react" the ReAct-JSON prompting fallback.
NO_TOOLS = "none"
REACT = "react"


class UnknownFormatError(ValueError):
    """Raised for a tool-call format name that is not one of FORMATS, "none" or "react"."""


_TOOL_CALL_TAG = Block("<tool_call>", closed_by("</tool_call>"), parse_tool_call_tag)

_SYNTAXES: dict[str, Syntax] = {
    "hermes": Syntax(blocks=(_TOOL_CALL_TAG,), thinking=THINK_TAGS),
    "llama3_json": Syntax(
        blocks=(Block(PYTHON_TAG, llama3_end, parse_llama3),),
        leading=(Block("{", llama3_end, parse_leading_llama3, keeps=1),),
    ),
    "pythonic": Syntax(leading=(Block("[", pythonic_end, parse_pythonic, keeps=1),)),
    "mistral": Syntax(blocks=(Block(TOOL_CALLS, mistral_end, parse_mistral),)),
    "granite": Syntax(
        blocks=(Block("<|tool_call|>", json_value_end, json_block_parser("<|tool_call|>")),)
    ),
    "phi4": Syntax(
        blocks=(Block("functools[", json_value_end, json_block_parser("functools"), keeps=1),)
    ),
    "qwen3_xml": Syntax(
        blocks=(
            _TOOL_CALL_TAG,
            Block("<function=", closed_by("</function>"), parse_bare_function),
        ),
        thinking=THINK_TAGS,
    ),
    "deepseek": Syntax(
        blocks=(
            Block(deepseek.CALLS_BEGIN, closed_by(deepseek.CALLS_END), deepseek.parse_calls_block),
            Block(deepseek.CALL_BEGIN, closed_by(deepseek.CALL_END), deepseek.parse_call),
        ),
        thinking=THINK_TAGS,
    ),
    NO_TOOLS: Syntax(),
    REACT: REACT_SYNTAX,
}


def syntax_for(fmt: str) -> Syntax:
    """The markup of ``fmt``; raises UnknownFormatError naming the valid choices."""
    try:
        return _SYNTAXES[fmt]
    except KeyError:
        choices = ", ".join((*FORMATS, NO_TOOLS, REACT))
        raise UnknownFormatError(
            f"unknown tool-call format {fmt!r}; use one of: {choices}"
        ) from None
