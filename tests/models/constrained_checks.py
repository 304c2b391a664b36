"""Checks shared by the constrained-decoding tests: every call names a bound tool and its
arguments are valid against that tool's JSON schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsonschema
from langchain_core.messages import AIMessage
from langchain_core.utils.function_calling import convert_to_openai_tool


def assert_valid_calls(message: AIMessage, tools: Sequence[Any]) -> None:
    """No invalid call; each call is of a bound tool with arguments its schema accepts."""
    schemas = {
        spec["function"]["name"]: spec["function"]["parameters"]
        for spec in map(convert_to_openai_tool, tools)
    }
    assert message.invalid_tool_calls == [], message.invalid_tool_calls
    for call in message.tool_calls:
        assert call["name"] in schemas, f"{call['name']} is not a bound tool"
        jsonschema.validate(call["args"], schemas[call["name"]])
