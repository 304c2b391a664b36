"""Tools as a user writes them, named by import path in the tests (`tests.tools.user_tools:…`)."""

from __future__ import annotations

from langchain_core.tools import StructuredTool, tool

LIMIT = 3


@tool
def shout(text: str) -> str:
    """Repeat the text in capital letters."""
    return text.upper()


def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


def undocumented(text: str) -> str:
    return text


class Toolbox:
    @staticmethod
    def reverse(text: str) -> str:
        """Reverse a text."""
        return text[::-1]


another_calculator = StructuredTool.from_function(
    lambda expression: expression, name="calculator", description="Not the built-in one."
)
