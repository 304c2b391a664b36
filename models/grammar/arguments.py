"""Grammar for a call's arguments in each argument style: JSON, Python keywords, XML parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from threadloom.models.grammar.lark_text import json_value, quoted

# Qwen3-Coder writes a string parameter raw between newlines; its parser decodes a value that
# starts with { or [ as JSON, so a string may not start with one, nor hold the closing tag.
XML_TEXT_RULE = (
    "XML_TEXT: /(.|\\n)*/ & ~/(.|\\n)*\\n<\\/parameter>(.|\\n)*/ & ~/[{\\[](.|\\n)*/\n"
    'XML_STRING: XML_TEXT "\\n</parameter>\\n"'
)


def arguments(schema: Mapping[str, Any], style: str) -> str:
    """Lark items for an arguments object valid against `schema` in `style`."""
    if style == "json":
        return json_value(schema)
    properties: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    write = _python_keyword if style == "python" else _xml_parameter
    sep = '", "' if style == "python" else ""
    items = [(write(name, prop), name in required) for name, prop in properties.items()]
    return _keywords(items, sep) or '""'


def _keywords(items: list[tuple[str, bool]], sep: str) -> str:
    """Required items in order, each optional one after them or left out (a valid subset of the
    orders a model could write, which is all a grammar needs)."""
    ordered = [item for item, needed in items if needed] + [
        f"[{item}]" for item, needed in items if not needed
    ]
    if not ordered:
        return ""
    if not sep:
        return " ".join(ordered)
    required = [item for item, needed in items if needed]
    optional = [item for item, needed in items if not needed]
    if required:
        text = f" {sep} ".join(required)
        return text + "".join(f" [{sep} {item}]" for item in optional)
    first, *rest = optional
    return f"[{first}" + "".join(f" [{sep} {item}]" for item in rest) + "]"


def _python_keyword(name: str, prop: Mapping[str, Any]) -> str:
    return f"{quoted(name + '=')} {_python_value(prop)}"


def _python_value(prop: Mapping[str, Any]) -> str:
    """JSON strings, numbers, lists and objects are Python literals too; booleans and null are
    spelled the Python way."""
    kind = prop.get("type")
    if kind == "boolean":
        return '("True" | "False")'
    if kind == "null":
        return '"None"'
    return json_value(prop)


def _xml_parameter(name: str, prop: Mapping[str, Any]) -> str:
    opening = quoted(f"<parameter={name}>\n")
    closing = quoted("\n</parameter>\n")
    if prop.get("type") == "string" and "enum" in prop:
        choices = " | ".join(quoted(str(v)) for v in prop["enum"])
        return f"{opening} ({choices}) {closing}"
    if prop.get("type") == "string":
        return f"{opening} XML_STRING"
    return f"{opening} {json_value(prop)} {closing}"


RuleWriter = Callable[[Mapping[str, Any], str], str]
