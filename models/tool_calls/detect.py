"""Which tool-call format a chat template teaches, read from markers in its text."""

from __future__ import annotations

from threadloom.models.tool_calls.formats import NO_TOOLS

# Order matters: more specific markers first (Qwen3-Coder's XML also uses <tool_call>).
_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("deepseek", ("tool▁calls▁begin", "tool▁call▁begin")),
    ("qwen3_xml", ("<function=",)),
    ("hermes", ("<tool_call>",)),
    ("mistral", ("[TOOL_CALLS]",)),
    ("granite", ("<|tool_call|>",)),
    ("phi4", ("functools",)),
    ("pythonic", ("[func_name1(", "func_name1(params_name1")),
    ("llama3_json", ('"parameters"', "<|python_tag|>")),
)


def detect_format(chat_template: str) -> str:
    """The tool-call format ``chat_template`` teaches: one of FORMATS, or "none".

    "none" means the template has no tool support; callers then prompt with ReAct instead
    (see ``models.react``). A setting that names the format explicitly wins over this guess.

    Example:
        >>> detect_format("{% for m in messages %}<tool_call>{{ m }}</tool_call>{% endfor %}")
        'hermes'
    """
    for fmt, markers in _MARKERS:
        if any(marker in chat_template for marker in markers):
            return fmt
    return NO_TOOLS
