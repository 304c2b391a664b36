"""Assistants: for now one per served graph, named after it (`agent`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID, uuid5

from service.errors import THREAD_OR_ASSISTANT_NOT_FOUND, InvalidRequest, NotFound

GRAPH_ID = "agent"
# LangGraph Server names a graph's default assistant uuid5(this namespace, graph id); the same
# namespace gives our assistant the UUID that clients of `langgraph dev` already know.
ASSISTANT_NAMESPACE = UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


@dataclass(frozen=True, slots=True)
class Assistant:
    assistant_id: str
    graph_id: str


class Assistants:
    """Resolves the `assistant_id` of a run request: a graph name or an assistant UUID."""

    def __init__(self, graph_ids: Iterable[str]) -> None:
        known = [Assistant(str(uuid5(ASSISTANT_NAMESPACE, g)), g) for g in graph_ids]
        self._by_id = {assistant.assistant_id: assistant for assistant in known}
        self._by_graph = {assistant.graph_id: assistant for assistant in known}

    def resolve(self, assistant_id: str) -> Assistant:
        if assistant := self._by_graph.get(assistant_id):
            return assistant
        try:
            key = str(UUID(assistant_id))
        except ValueError:
            raise InvalidRequest(
                f"Invalid assistant: '{assistant_id}'. Must be either:\n"
                "- A valid assistant UUID, or\n"
                f"- One of the registered graphs: {', '.join(self._by_graph)}"
            ) from None
        if assistant := self._by_id.get(key):
            return assistant
        raise NotFound(THREAD_OR_ASSISTANT_NOT_FOUND)
