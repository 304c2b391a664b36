"""The Lark grammar of a reply under a `tool_choice`, in the reply's own tool-call markup.

- a tool's name: exactly one call of that tool;
- "required": one or more calls, each of a bound tool;
- "auto": free text, or free text then calls (the markup, once opened, must be a call of a bound
  tool with valid arguments);
- "none": free text without call markup.

Arguments are held to each tool's JSON schema by llguidance's `%json`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from threadloom.models.grammar.arguments import XML_TEXT_RULE, arguments
from threadloom.models.grammar.lark_text import Literals, json_value, quoted
from threadloom.models.grammar.markup import CallMarkup, call_markup
from threadloom.models.tool_calls.formats import NO_TOOLS, REACT, syntax_for
from threadloom.models.tool_calls.syntax import THINK_TAGS

#: Text that is not (and does not begin) leading call markup: a bracket or brace first.
_FREE_LEADING = "FREE: /(.|\\n)+/ & ~/[ \\t\\n]*[\\[{](.|\\n)*/"
#: A reply that starts inside reasoning: the thought, up to its closing tag, comes first.
_THINKING = "THINKING: /(.|\\n)+/ & ~/(.|\\n)*<\\/think>(.|\\n)*/"


def tool_choice_grammar(
    fmt: str,
    tools: Sequence[Mapping[str, Any]],
    choice: str,
    literals: Literals,
    *,
    in_reasoning: bool = False,
) -> str | None:
    """The grammar for `choice` over OpenAI-form `tools`; None where decoding stays free.

    Example:
        >>> tool_choice_grammar("hermes", [weather], "weather", Literals({}))
        'start: section\\n...'
    """
    if fmt == NO_TOOLS or (fmt == REACT and choice in ("auto", "none")):
        return None
    markup = call_markup(fmt)
    functions = [tool["function"] for tool in tools]
    if choice not in ("auto", "required", "none"):
        functions = [f for f in functions if f["name"] == choice]
    lines = [] if choice == "none" else _call_rules(functions, markup, literals)
    lines += _start(fmt, markup, choice, literals)
    if markup.args == "xml" and choice != "none":
        lines.append(XML_TEXT_RULE)
    return _finish(lines, literals, in_reasoning)


def json_grammar(
    schema: Mapping[str, Any], literals: Literals, *, in_reasoning: bool = False
) -> str:
    """A reply that is one JSON value valid against `schema`, and nothing else."""
    return _finish([f"start: {json_value(schema)}"], literals, in_reasoning)


def _finish(lines: list[str], literals: Literals, in_reasoning: bool) -> str:
    """The grammar text; a reply that starts inside reasoning first closes it."""
    if in_reasoning:
        thought_closer = literals(THINK_TAGS.closer or "")
        lines = [f"body:{line[6:]}" if line.startswith("start:") else line for line in lines]
        if thought_closer.startswith("<["):
            lines += [f'start: [THINKING] {thought_closer} "\\n\\n" body', _THINKING]
        else:
            lines += ['start: THOUGHT "\\n\\n" body', _THINKING]
            lines.append(f"THOUGHT: THINKING {thought_closer}")
    return "\n".join(lines) + "\n"


def _call_rules(
    functions: list[Mapping[str, Any]], markup: CallMarkup, literals: Literals
) -> list[str]:
    rules = []
    for index, function in enumerate(functions):
        schema = function.get("parameters") or {"type": "object", "properties": {}}
        rules.append(
            f"call_{index}: {literals(function['name'])} {literals(markup.between)} "
            f"{arguments(schema, markup.args)}"
        )
    rules.append("call: " + " | ".join(f"call_{i}" for i in range(len(functions))))
    return rules


def _start(fmt: str, markup: CallMarkup, choice: str, literals: Literals) -> list[str]:
    repeat = "" if choice not in ("auto", "required") else f" ({literals(markup.joint)} call)*"
    calls = f"call{repeat} {literals(markup.tail)}"
    if choice not in ("auto", "none"):
        return [f"start: {literals(markup.head)} {calls}"]
    if not markup.opener:  # calls only where the reply starts
        with_calls = f"{literals(markup.head)} {calls}"
        return [_FREE_LEADING, "start: FREE" + ("" if choice == "none" else f" | {with_calls}")]
    # Reasoning tags that are tokens of their own stay allowed in the free text.
    thinking = syntax_for(fmt).thinking
    tags = [t for t in (thinking.opener, thinking.closer) if t] if thinking else []
    tokens = [literals(tag) for tag in tags if tag in literals.special_tokens]
    if literals.is_special(markup.opener):  # text tokens cannot spell it: any text is free
        lines = ["TEXT: /(.|\\n)+/", "free: (" + " | ".join(["TEXT", *tokens]) + ")*"]
        with_calls = f"free {literals(markup.head)} {calls}"
        return [*lines, "start: free" + ("" if choice == "none" else f" | {with_calls}")]
    lines = [
        f"NO_OPENER: /(.|\\n)*/ & ~/(.|\\n)*{_regex(markup.opener)}(.|\\n)*/",
        "TEXT: /(.|\\n)+/ & NO_OPENER",
        f"OPEN: NO_OPENER {quoted(markup.opener)}",
    ]
    before = ""
    if tokens:
        lines.append("before: ([TEXT] (" + " | ".join(tokens) + "))*")
        before = "before "
    with_calls = f"{before}OPEN {literals(markup.head[len(markup.opener):])} {calls}"
    return [*lines, f"start: {before}[TEXT]" + ("" if choice == "none" else f" | {with_calls}")]


def _regex(text: str) -> str:
    """`text` escaped for a Lark /regex/."""
    special = set("\\/.^$|?*+()[]{}")
    return "".join("\\" + c if c in special else c for c in text)
