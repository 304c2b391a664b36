"""`with_structured_output` on the bundled model: Pydantic, TypedDict and JSON schema, by
constrained JSON and by a forced call, with and without `include_raw`; always an instance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, TypedDict

import jsonschema
import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel

from threadloom.models.loading import load_local_model
from threadloom.models.local import LocalChatModel

QUESTIONS = ["Vittoria Ceretti is 28 years old.", "hello", "What is 25^0.43?"]


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str
    age: int


class PersonDict(TypedDict):
    """A person mentioned in the text."""

    name: str
    age: int


PERSON_SCHEMA: dict[str, Any] = {
    "title": "person",
    "description": "A person mentioned in the text.",
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


class Route(BaseModel):
    """Which worker acts next."""

    next: Literal["researcher", "coder", "FINISH"]


@pytest.fixture(scope="module")
def bundled() -> Iterator[LocalChatModel]:
    model = load_local_model("bundled", device="cpu", max_new_tokens=96)
    yield model
    model.generator.shutdown()


def _is_person(value: Any, schema: Any) -> bool:
    if schema is Person:
        return isinstance(value, Person)
    jsonschema.validate(value, PERSON_SCHEMA)
    return isinstance(value, dict)


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
@pytest.mark.parametrize(
    "schema", [Person, PersonDict, PERSON_SCHEMA], ids=["pydantic", "typeddict", "json"]
)
@pytest.mark.parametrize("question", QUESTIONS)
def test_the_answer_is_always_an_instance_of_the_schema(
    bundled: LocalChatModel, schema: Any, method: str, question: str
) -> None:
    answer = bundled.with_structured_output(schema, method=method).invoke(question)
    assert _is_person(answer, schema)


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_include_raw_gives_the_message_the_parsed_value_and_no_error(
    bundled: LocalChatModel, method: str
) -> None:
    result = bundled.with_structured_output(Person, method=method, include_raw=True).invoke(
        "Vittoria Ceretti is 28 years old."
    )
    assert set(result) == {"raw", "parsed", "parsing_error"}
    assert isinstance(result["raw"], AIMessage)
    assert isinstance(result["parsed"], Person) and result["parsing_error"] is None


def test_json_schema_answers_with_the_json_as_content(bundled: LocalChatModel) -> None:
    result = bundled.with_structured_output(Person, include_raw=True).invoke("hello")
    assert Person.model_validate_json(result["raw"].content) == result["parsed"]
    assert result["raw"].tool_calls == []


def test_json_mode_answers_with_a_json_object(bundled: LocalChatModel) -> None:
    answer = bundled.with_structured_output(PERSON_SCHEMA, method="json_mode").invoke("hello")
    assert isinstance(answer, dict)


@pytest.mark.parametrize("question", ["Fix the failing test", "hello", "Find the paper", "done"])
async def test_a_router_picks_a_valid_worker_every_time(
    bundled: LocalChatModel, question: str
) -> None:
    route = await bundled.with_structured_output(Route).ainvoke(question)
    assert route.next in ("researcher", "coder", "FINISH")


def test_an_unknown_method_is_refused(bundled: LocalChatModel) -> None:
    with pytest.raises(ValueError, match="json_schema, function_calling, json_mode"):
        bundled.with_structured_output(Person, method="xml")
