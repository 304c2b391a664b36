"""`with_structured_output` for local models: the reply decoded under the schema's grammar.

`method="json_schema"` (the default) constrains the reply to JSON valid against the schema;
`"function_calling"` forces exactly one call of a tool made from the schema, in the model's own
call markup; `"json_mode"` asks for any JSON object. The result is an instance of the Pydantic
class, or a dict for a TypedDict or JSON schema; `include_raw=True` gives
`{"raw": AIMessage, "parsed": ..., "parsing_error": ...}` as LangChain defines it.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

Method = Literal["json_schema", "function_calling", "json_mode"]
METHODS: tuple[str, ...] = ("json_schema", "function_calling", "json_mode")


def structured_runnable(
    model: BaseChatModel,
    schema: dict[str, Any] | type,
    *,
    method: str = "json_schema",
    include_raw: bool = False,
) -> Runnable[LanguageModelInput, Any]:
    """`model` made to answer with `schema`'s structure (see the module docstring).

    Example:
        >>> class Route(BaseModel):
        ...     next: Literal["researcher", "coder", "FINISH"]
        >>> structured_runnable(model, Route).invoke("Fix the failing test").next
        'coder'
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not supported; use one of: {', '.join(METHODS)}")
    pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    traced = {"ls_structured_output_format": {"kwargs": {"method": method}, "schema": schema}}
    if method == "function_calling":
        name = convert_to_openai_tool(schema)["function"]["name"]
        llm = model.bind_tools([schema], tool_choice=name, **traced)
        parser: Runnable = (
            PydanticToolsParser(tools=[schema], first_tool_only=True)
            if pydantic
            else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        )
    else:
        if method == "json_mode":
            response_format: dict[str, Any] = {"type": "json_object"}
        else:
            json_schema = schema.model_json_schema() if pydantic else convert_to_json_schema(schema)
            response_format = {
                "type": "json_schema",
                "json_schema": {"name": json_schema.get("title", "output"), "schema": json_schema},
            }
        llm = model.bind(response_format=response_format, **traced)
        parser = PydanticOutputParser(pydantic_object=schema) if pydantic else JsonOutputParser()
    if not include_raw:
        return llm | parser
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    unparsed = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parsed.with_fallbacks([unparsed], exception_key="parsing_error")
