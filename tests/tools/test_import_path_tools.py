"""Tools named by Python import path in the tools setting, beside the built-in ones."""

from __future__ import annotations

import pytest

from threadloom.tools.import_path import ToolImportError, import_tool
from threadloom.tools.registry import DuplicateToolError, UnknownToolError, get_tools

USER_TOOLS = "tests.tools.user_tools"


def test_a_langchain_tool_and_a_plain_function_join_the_built_in_tools() -> None:
    tools = get_tools(["calculator", f"{USER_TOOLS}:shout", f"{USER_TOOLS}:word_count"])
    assert [tool.name for tool in tools] == ["calculator", "shout", "word_count"]
    assert tools[1].invoke({"text": "hi"}) == "HI"
    assert tools[2].invoke({"text": "one two three"}) == 3
    assert tools[2].description == "Count the words in a text."
    assert tools[2].args == {"text": {"title": "Text", "type": "string"}}


def test_a_dotted_attribute_path_reaches_a_function_in_a_class() -> None:
    assert import_tool(f"{USER_TOOLS}:Toolbox.reverse").invoke({"text": "abc"}) == "cba"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "no_such_package.tools:weather",
            "Tool 'no_such_package.tools:weather': cannot import module 'no_such_package.tools' "
            "(No module named 'no_such_package')",
        ),
        (f"{USER_TOOLS}:weather", f"Tool '{USER_TOOLS}:weather': module '{USER_TOOLS}' has no "),
        (f"{USER_TOOLS}:LIMIT", "is a int, neither a LangChain tool nor a function"),
        (f"{USER_TOOLS}:Toolbox", "is a type, neither a LangChain tool nor a function"),
        (f"{USER_TOOLS}:undocumented", "the function needs a docstring"),
        (f"{USER_TOOLS}:", "must look like 'package.module:tool_name'"),
    ],
)
def test_an_unusable_path_is_a_clear_error(path: str, expected: str) -> None:
    with pytest.raises(ToolImportError) as caught:
        get_tools(["calculator", path])
    assert expected in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_name_without_a_colon_is_still_an_unknown_built_in_tool() -> None:
    with pytest.raises(UnknownToolError, match=r"Unknown tool 'tests\.tools\.user_tools\.shout'"):
        get_tools([f"{USER_TOOLS}.shout"])


def test_two_tools_of_the_same_name_are_refused() -> None:
    with pytest.raises(DuplicateToolError, match="Two tools are named 'calculator'"):
        get_tools(["calculator", f"{USER_TOOLS}:another_calculator"])
