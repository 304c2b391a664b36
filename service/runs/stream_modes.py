"""From the API's stream modes to LangGraph's, and from LangGraph's chunks to the API's events.

The API differs from `graph.astream` in a few ways the clients rely on:
- `messages-tuple` is LangGraph's `messages` mode, sent as event `messages` with
  `[message_chunk, metadata]`;
- `messages` is the older framing: `messages/metadata` once per message, then
  `messages/partial` with the message accumulated so far, or `messages/complete`;
- an interrupt is sent in the modes asked for only, as LangGraph Server sends it: in `values`
  (the state with `__interrupt__`) and in `updates` (`{"__interrupt__": [...]}`);
- `debug` checkpoint payloads also carry `checkpoint` / `parent_checkpoint` references;
- events of subgraphs are named `mode|ns1|ns2`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from langchain_core.messages import BaseMessage, BaseMessageChunk, message_chunk_to_message

from threadloom.service.threads.state import checkpoint_ref

INTERRUPT_KEY = "__interrupt__"
# Always streamed from the graph: `values` for the result of a wait.
_ALWAYS = frozenset({"values"})


def graph_stream_modes(requested: Iterable[str]) -> list[str]:
    """The LangGraph stream modes that produce the requested API modes."""
    modes = set(_ALWAYS)
    for mode in requested:
        if mode == "messages-tuple":
            modes.add("messages")
        elif mode != "events":  # events come from astream_events, not a stream mode
            modes.add(mode)
    return sorted(modes)


def parse_stream_modes(param: str | None) -> list[str]:
    """The `stream_mode` query parameter of a join: one mode, or a JSON list of modes."""
    if not param:
        return []
    if param.startswith("["):
        try:
            modes = json.loads(param)
        except ValueError:
            modes = None
        if isinstance(modes, list) and all(isinstance(mode, str) for mode in modes):
            return modes
    return [param]


def joined(event_name: str, modes: Iterable[str]) -> bool:
    """Whether a client that joins a run's stream asking for `modes` (none: all) gets the
    event: by its mode, any `messages*` event for `messages` / `messages-tuple`, and a
    subgraph's `mode|ns` event for its mode."""
    wanted = set(modes)
    if not wanted or event_name in wanted:
        return True
    if wanted & {"messages", "messages-tuple"} and event_name.startswith("messages"):
        return True
    return event_name.partition("|")[0] in wanted


class ChunkTranslator:
    """Turns one run's LangGraph chunks into API events and remembers its latest values."""

    def __init__(self, requested: Iterable[str]) -> None:
        self._requested = frozenset(requested)
        self._messages: dict[str, BaseMessage] = {}
        self.latest_values: Any = None

    def translate(
        self, namespace: tuple[str, ...], mode: str, chunk: Any
    ) -> Iterator[tuple[str, Any]]:
        """The `(event name, data)` pairs one chunk becomes; often none."""
        if mode == "values" and not namespace:
            self.latest_values = chunk
        suffix = "|".join(namespace)
        for name, data in self._events(mode, chunk):
            yield (f"{name}|{suffix}" if suffix else name), data

    def _events(self, mode: str, chunk: Any) -> list[tuple[str, Any]]:
        if mode == "messages":
            if "messages-tuple" in self._requested:
                return [("messages", chunk)]
            return self._messages_v1(*chunk) if "messages" in self._requested else []
        if mode in self._requested:
            return [(mode, _with_checkpoint_refs(chunk) if mode == "debug" else chunk)]
        return []

    def _messages_v1(self, message: BaseMessage, metadata: dict[str, Any]) -> list[tuple[str, Any]]:
        events: list[tuple[str, Any]] = []
        key = message.id or f"message-{len(self._messages)}"
        seen = self._messages.get(key)
        if seen is None:
            events.append(("messages/metadata", {key: {"metadata": metadata}}))
            self._messages[key] = message
        elif isinstance(seen, BaseMessageChunk) and isinstance(message, BaseMessageChunk):
            self._messages[key] = seen + message
        else:
            self._messages[key] = message
        name = "messages/partial" if isinstance(message, BaseMessageChunk) else "messages/complete"
        events.append((name, [message_chunk_to_message(self._messages[key])]))
        return events


def _with_checkpoint_refs(chunk: Any) -> Any:
    if not isinstance(chunk, dict) or chunk.get("type") != "checkpoint":
        return chunk
    payload = chunk["payload"]
    return {
        **chunk,
        "payload": {
            **payload,
            "checkpoint": checkpoint_ref(payload.get("config")),
            "parent_checkpoint": checkpoint_ref(payload.get("parent_config")),
            "tasks": [_task_with_checkpoint(task) for task in payload.get("tasks", [])],
        },
    }


def _task_with_checkpoint(task: dict[str, Any]) -> dict[str, Any]:
    state = task.get("state")
    if not isinstance(state, dict) or not state.get("configurable"):
        return task
    rest = {key: value for key, value in task.items() if key != "state"}
    return {**rest, "checkpoint": state["configurable"]}
