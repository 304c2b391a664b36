"""A graph's schemas as `GET /assistants/{id}/schemas` gives them: each built on its own, None
where it cannot be built, and a context schema's fields in `config_schema` too."""

from __future__ import annotations

import typing
from dataclasses import dataclass

from langgraph.func import entrypoint
from langgraph.graph import StateGraph

from threadloom.service.deployment.graph_description import graph_schemas


class OldTypedState(typing.TypedDict):  # pydantic cannot describe it on Python < 3.12
    text: str


@dataclass
class Context:
    model: str = "tiny"
    user_id: str = "anonymous"


def test_what_can_be_built_is_given_and_the_rest_is_none() -> None:
    builder = StateGraph(OldTypedState, context_schema=Context)
    builder.add_node("node", lambda state: state)
    builder.set_entry_point("node")

    schemas = graph_schemas(builder.compile())

    assert schemas["state_schema"]["properties"]["text"]["type"] == "string"
    for built in ("config_schema", "context_schema"):
        assert set(schemas[built]["properties"]) == {"model", "user_id"}
    if schemas["input_schema"] is None:  # Python < 3.12
        assert schemas["output_schema"] is None


def test_an_entrypoint_has_its_schemas() -> None:
    @entrypoint()
    def workflow(inputs: dict) -> dict:
        return inputs

    schemas = graph_schemas(workflow)

    assert schemas["input_schema"]["type"] == "object"
    assert schemas["config_schema"] == {}
