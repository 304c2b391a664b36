"""The shared chat-template fixtures (../shared beside the repository) as test cases."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "chat_templates"


@cache
def template_cases() -> tuple[dict[str, Any], ...]:
    """Every entry of templates.json: file, tool_call_format, example outputs, tokens, ..."""
    return tuple(json.loads((TEMPLATES_DIR / "templates.json").read_text(encoding="utf-8")))


def template_text(case: dict[str, Any]) -> str:
    return (TEMPLATES_DIR / case["file"]).read_text(encoding="utf-8")


def example_outputs() -> list[tuple[str, str, str]]:
    """(test id, format, text) for every single and parallel example output with tool calls."""
    examples = []
    for case in template_cases():
        if case["tool_call_format"] == "none":
            continue
        for key in ("example_assistant_output", "example_assistant_output_parallel"):
            if case.get(key):
                examples.append(
                    (
                        f"{case['file']}-{key.rsplit('_', 1)[-1]}",
                        case["tool_call_format"],
                        case[key],
                    )
                )
    return examples
