"""The registry: settings name the tools; unknown names fail with the list of known ones."""

from __future__ import annotations

import pytest

from threadloom.tools.registry import UnknownToolError, available_tools, get_tools


def test_available_tools() -> None:
    assert available_tools() == ["calculator", "search"]


def test_get_tools_in_the_order_named() -> None:
    tools = get_tools(["search", "calculator"])
    assert [tool.name for tool in tools] == ["search", "calculator"]
    assert tools[1].invoke({"expression": "17*23"}) == "391"
    assert "Vittoria Ceretti" in tools[0].invoke({"query": "Vittoria Ceretti age"})


def test_get_tools_with_no_names_is_empty() -> None:
    assert get_tools([]) == []


def test_a_name_given_twice_gives_one_tool() -> None:
    assert [tool.name for tool in get_tools(["calculator", "calculator"])] == ["calculator"]


def test_a_tavily_key_switches_search_to_the_web() -> None:
    (web,) = get_tools(["search"], tavily_api_key="tvly-key")
    (offline,) = get_tools(["search"])
    assert "web" in web.description
    assert "offline" in offline.description


def test_unknown_tool_names_itself_and_the_available_ones() -> None:
    with pytest.raises(UnknownToolError) as caught:
        get_tools(["calculator", "weather"])
    assert str(caught.value) == (
        "Unknown tool 'weather'. Available tools: calculator, search, "
        "or a Python import path such as 'package.module:tool'."
    )
    assert isinstance(caught.value, ValueError)
