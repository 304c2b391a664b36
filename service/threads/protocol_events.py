"""A thread's runs as the events of the thread-centric protocol (`/threads/{id}/stream/events`).

The events come from the same log and replay as `GET /threads/{id}/stream`
(`service.threads.follow`), read from the thread's first run on, and are re-shaped one by one:

    {"type": "event", "event_id": "<run_id>:<n>", "seq": 7, "method": "values",
     "params": {"namespace": [], "timestamp": 1733130000000, "data": {...}}}

- `lifecycle`: `running` when a run starts; `completed`, `failed` (with `error`) or
  `interrupted` when it ends (a cancelled run ends `interrupted` too, as on LangGraph Server);
- `input.requested` `{interrupt_id, payload}` for each interrupt (then `lifecycle` `interrupted`);
- `values` (without `__interrupt__`), `updates` (one per node, `params.node` naming it),
  `custom` `{payload}`;
- `tools`: `tool-started` `{tool_call_id, tool_name, input}` for each call a node's AI message
  makes, `tool-finished` `{tool_call_id, output}` (or `tool-error` `{message}`) for each result;
- `messages`: the model's tokens as `message-start`, `content-block-start`,
  `content-block-delta` (`text-delta`), `content-block-finish`, `message-finish`.
`tasks` and `checkpoints` are accepted as channels; no such events are sent.

`seq` numbers every event of the thread from its first run, whatever the filter, so it is the
same on every connection: a client that reconnects sends the last one it saw as `since` and
gets the rest. `event_id` (`<run_id>:<n>`, `.<k>` for the further events one run event becomes)
is stable too; the SDKs drop events whose id they have seen.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sse_starlette import EventSourceResponse

from threadloom.service.http.json_codec import dumps, loads
from threadloom.service.http.sse import frame, sse_response
from threadloom.service.runs.events import RunEvent
from threadloom.service.runs.stream_modes import INTERRUPT_KEY
from threadloom.service.schemas.thread_commands import EventStreamRequest
from threadloom.service.storage.records import RunRecord
from threadloom.service.threads.follow import ThreadStream

Envelope = dict[str, Any]
# One event before numbering: method, namespace, data, node.
_Item = tuple[str, list[str], Any, str | None]
FindRecord = Callable[[str], Awaitable[RunRecord | None]]

# A run's stored status → how its lifecycle ends.
_END = {
    "success": "completed",
    "error": "failed",
    "timeout": "failed",
    "interrupted": "interrupted",
}
_ROLES = {"AIMessageChunk": "ai", "ai": "ai", "human": "human", "system": "system"}


@dataclass
class _RunState:
    """What translating one run's events needs to remember."""

    graph_name: str
    ended: bool = False
    interrupts: set[str] = field(default_factory=set)
    # Messages started and not finished yet: id → (namespace, node, text so far).
    open_messages: dict[str, tuple[list[str], str | None, str]] = field(default_factory=dict)


class ProtocolEvents:
    """Turns the `(event id, run event)` pairs of a `ThreadStream` into protocol envelopes."""

    def __init__(self, find_record: FindRecord) -> None:
        self._find_record = find_record
        self._run_id = ""
        self._run: _RunState | None = None
        self._seq = 0

    async def translate(self, event_id: str, event: RunEvent) -> list[Envelope]:
        run_id, _, index = event_id.rpartition(":")
        if run_id != self._run_id or self._run is None:
            record = await self._find_record(run_id)
            self._run_id = run_id
            self._run = _RunState(graph_name=_graph_name(record))
        run = self._run
        method, *namespace = event.name.split("|")
        data = loads(event.data)
        out: list[_Item] = []
        if method != "messages":
            out += _finish_messages(run)
        if index == "done":
            if not run.ended:
                record = await self._find_record(run_id)
                status = _END.get(record.status if record else "", "completed")
                out.append(("lifecycle", [], {"event": status, "graph_name": run.graph_name}, None))
        elif method == "metadata":
            if isinstance(data, dict) and "attempt" in data and not namespace:
                running = {"event": "running", "graph_name": run.graph_name}
                out.append(("lifecycle", [], running, None))
        elif method == "error":
            run.ended = True
            message = data.get("message", str(data)) if isinstance(data, dict) else str(data)
            lifecycle = {"event": "failed", "graph_name": run.graph_name, "error": message}
            out.append(("lifecycle", [], lifecycle, None))
        elif method == "values":
            out += _interrupts(run, namespace, data)
            if isinstance(data, dict):
                data = {key: value for key, value in data.items() if key != INTERRUPT_KEY}
            out.append(("values", namespace, data, None))
        elif method == "updates" and isinstance(data, dict):
            out += _interrupts(run, namespace, data)
            for node, values in data.items():
                if node != INTERRUPT_KEY:
                    update = values if isinstance(values, dict) else {"value": values}
                    out.append(("updates", namespace, update, node))
                    out += _tool_events(namespace, node, update)
        elif method == "messages":
            out += _message_events(run, namespace, data)
        elif method == "custom":
            out.append(("custom", namespace, {"payload": data}, None))
        return [self._envelope(event_id, k, *item) for k, item in enumerate(out)]

    def _envelope(
        self, event_id: str, k: int, method: str, namespace: list[str], data: Any, node: str | None
    ) -> Envelope:
        self._seq += 1
        params: dict[str, Any] = {
            "namespace": namespace,
            "timestamp": int(time.time() * 1000),
            "data": data,
        }
        if node is not None:
            params["node"] = node
        return {
            "type": "event",
            "event_id": event_id if k == 0 else f"{event_id}.{k}",
            "seq": self._seq,
            "method": method,
            "params": params,
        }


class EventFilter:
    """The events a client asked for (`EventStreamRequest`)."""

    def __init__(self, request: EventStreamRequest) -> None:
        self._channels = set(request.channels)
        self._namespaces = request.namespaces
        self._depth = request.depth
        self._since = request.since

    def wants(self, envelope: Envelope) -> bool:
        if self._since is not None and envelope["seq"] <= self._since:
            return False
        return self._on_channel(envelope) and self._in_namespace(envelope["params"]["namespace"])

    def _on_channel(self, envelope: Envelope) -> bool:
        method = envelope["method"]
        channel = "input" if method == "input.requested" else method
        if channel in self._channels:
            return True
        if channel != "custom":
            return False
        name = envelope["params"]["data"].get("name")
        return name is not None and f"custom:{name}" in self._channels

    def _in_namespace(self, namespace: list[str]) -> bool:
        prefixes = self._namespaces or [[]]
        return any(
            namespace[: len(prefix)] == prefix
            and (self._depth is None or len(namespace) - len(prefix) <= self._depth)
            for prefix in prefixes
        )


def protocol_event_response(
    stream: ThreadStream, events: ProtocolEvents, wanted: EventFilter, *, heartbeat_s: float
) -> EventSourceResponse:
    """The wanted envelopes as SSE frames (`event: <method>`, `id: <seq>`), with heartbeats."""

    async def frames() -> AsyncIterator[bytes]:
        async for event_id, event in stream.events():
            for envelope in await events.translate(event_id, event):
                if wanted.wants(envelope):
                    message = RunEvent(envelope["method"], dumps(envelope))
                    yield frame(message, envelope["seq"])

    return sse_response(frames(), heartbeat_s=heartbeat_s)


def _graph_name(record: RunRecord | None) -> str:
    if record is None:
        return "root"
    configurable = (record.kwargs.get("config") or {}).get("configurable") or {}
    return str(configurable.get("graph_id") or record.assistant_id)


def _interrupts(run: _RunState, namespace: list[str], data: Any) -> list[_Item]:
    """`input.requested` for each interrupt in `data` not announced yet, then `interrupted`."""
    found = data.get(INTERRUPT_KEY) if isinstance(data, dict) else None
    out: list[_Item] = []
    for interrupt in found if isinstance(found, list) else []:
        interrupt_id = interrupt.get("id") if isinstance(interrupt, dict) else None
        if not interrupt_id or interrupt_id in run.interrupts:
            continue
        run.interrupts.add(interrupt_id)
        request = {"interrupt_id": interrupt_id, "payload": interrupt.get("value")}
        out.append(("input.requested", namespace, request, None))
    if out and not run.ended:
        run.ended = True
        out.append(("lifecycle", [], {"event": "interrupted", "graph_name": run.graph_name}, None))
    return out


def _tool_events(namespace: list[str], node: str, update: dict[str, Any]) -> list[_Item]:
    """`tool-started` for each tool call of the node's AI messages, `tool-finished` (or
    `tool-error`) for each of its tool results."""
    out: list[_Item] = []
    messages = update.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        if message.get("type") == "ai":
            for call in message.get("tool_calls") or []:
                started = {
                    "event": "tool-started",
                    "tool_call_id": call.get("id"),
                    "tool_name": call.get("name"),
                    "input": call.get("args"),
                }
                out.append(("tools", namespace, started, node))
        elif message.get("type") == "tool":
            call_id = message.get("tool_call_id")
            if message.get("status") == "error":
                ended = {
                    "event": "tool-error",
                    "tool_call_id": call_id,
                    "message": _text(message.get("content")),
                }
            else:
                ended = {
                    "event": "tool-finished",
                    "tool_call_id": call_id,
                    "output": message.get("content"),
                }
            out.append(("tools", namespace, ended, node))
    return out


def _message_events(run: _RunState, namespace: list[str], data: Any) -> list[_Item]:
    """The protocol's message events for one `[message, metadata]` of LangGraph's `messages`."""
    message, metadata = [*data, None][:2] if isinstance(data, list) else (None, None)
    if not isinstance(message, dict):
        return []
    node = metadata.get("langgraph_node") if isinstance(metadata, dict) else None
    role = _ROLES.get(message.get("type", ""))
    message_id = message.get("id")
    if role is None or not message_id:
        return []  # tool results are not messages of this protocol
    text = _text(message.get("content"))
    out: list[_Item] = []
    if message_id not in run.open_messages:
        begin = {"event": "message-start", "role": role, "id": message_id}
        block = {"event": "content-block-start", "index": 0, "content": _text_block("")}
        out += [("messages", namespace, begin, node), ("messages", namespace, block, node)]
        run.open_messages[message_id] = (namespace, node, "")
    if text:
        run.open_messages[message_id] = (namespace, node, run.open_messages[message_id][2] + text)
        delta = {
            "event": "content-block-delta",
            "index": 0,
            "delta": {"type": "text-delta", "text": text},
        }
        out.append(("messages", namespace, delta, node))
    last = message.get("chunk_position") == "last" or message.get("type") != "AIMessageChunk"
    if last:
        out += _finish(run, message_id)
    return out


def _finish_messages(run: _RunState) -> list[_Item]:
    return [item for message_id in list(run.open_messages) for item in _finish(run, message_id)]


def _finish(run: _RunState, message_id: str) -> list[_Item]:
    namespace, node, text = run.open_messages.pop(message_id)
    finish = {"event": "content-block-finish", "index": 0, "content": _text_block(text)}
    return [
        ("messages", namespace, finish, node),
        ("messages", namespace, {"event": "message-finish"}, node),
    ]


def _text_block(text: str) -> dict[str, str]:
    return {"type": "text", "text": text}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return ""
