"""How run events become the thread protocol's envelopes (`service.threads.protocol_events`), for
what
the agent graph does not produce on its own: failures, subgraph namespaces, custom events,
whole messages, and the filters on them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from threadloom.service.http.json_codec import dumps
from threadloom.service.runs.events import RunEvent
from threadloom.service.schemas.thread_commands import EventStreamRequest
from threadloom.service.storage.records import RunRecord
from threadloom.service.threads.protocol_events import EventFilter, ProtocolEvents

RUN = "run-1"


def record(status: str) -> RunRecord:
    now = datetime.now(UTC)
    config = {"configurable": {"graph_id": "agent"}}
    return RunRecord(RUN, "t", "a-uuid", now, now, status, {}, {"config": config}, "enqueue")  # type: ignore[arg-type]


async def translated(status: str, events: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    async def find(run_id: str) -> RunRecord:
        assert run_id == RUN
        return record(status)

    protocol = ProtocolEvents(find)
    out = []
    for index, (name, data) in enumerate([*events, ("metadata", {"status": "run_done"})]):
        event_id = f"{RUN}:done" if index == len(events) else f"{RUN}:{index}"
        out += await protocol.translate(event_id, RunEvent(name, dumps(data)))
    return out


def shape(envelopes: list[dict[str, Any]]) -> list[tuple[str, list[str], Any]]:
    return [(e["method"], e["params"]["namespace"], e["params"]["data"]) for e in envelopes]


async def test_a_failed_run_ends_failed_once_with_its_error() -> None:
    out = await translated(
        "error",
        [("metadata", {"run_id": RUN, "attempt": 1}), ("error", {"message": "model down"})],
    )
    assert shape(out) == [
        ("lifecycle", [], {"event": "running", "graph_name": "agent"}),
        ("lifecycle", [], {"event": "failed", "graph_name": "agent", "error": "model down"}),
    ]
    assert [e["event_id"] for e in out] == [f"{RUN}:0", f"{RUN}:1"]
    assert [e["seq"] for e in out] == [1, 2]


async def test_subgraph_custom_and_whole_messages_keep_their_namespace() -> None:
    human = {"type": "human", "id": "h1", "content": "hi"}
    chunk = {"type": "AIMessageChunk", "id": "m1", "content": "Hel"}
    rest = {"type": "AIMessageChunk", "id": "m1", "content": "lo"}
    meta = {"langgraph_node": "agent"}
    out = await translated(
        "success",
        [
            ("messages|inner:1", [human, meta]),
            ("messages|inner:1", [chunk, meta]),
            ("messages|inner:1", [rest, meta]),
            ("custom|inner:1", {"progress": 1}),
        ],
    )
    events = shape(out)
    assert [data["event"] for method, _, data in events if method == "messages"] == [
        *["message-start", "content-block-start", "content-block-delta"],
        *["content-block-finish", "message-finish"],
        *["message-start", "content-block-start", "content-block-delta", "content-block-delta"],
        *["content-block-finish", "message-finish"],
    ]
    assert all(ns == ["inner:1"] for method, ns, _ in events if method != "lifecycle")
    finish = [d for m, _, d in events if m == "messages" and d["event"] == "content-block-finish"]
    assert [d["content"]["text"] for d in finish] == ["hi", "Hello"]
    # The AI message was still open when the custom event came: it is finished first.
    assert events[-3:-1] == [
        ("messages", ["inner:1"], {"event": "message-finish"}),
        ("custom", ["inner:1"], {"payload": {"progress": 1}}),
    ]
    assert events[-1] == ("lifecycle", [], {"event": "completed", "graph_name": "agent"})
    assert len({e["event_id"] for e in out}) == len(out)


@pytest.mark.parametrize(
    ("request_body", "wanted"),
    [
        ({"channels": ["values"]}, [1, 2, 3]),
        ({"channels": ["values"], "namespaces": [["a"]]}, [2, 3]),
        ({"channels": ["values"], "namespaces": [["a"]], "depth": 0}, [2]),
        ({"channels": ["values"], "since": 2}, [3]),
        ({"channels": ["custom:progress"]}, [5]),
        ({"channels": ["custom"]}, [4, 5]),
        ({"channels": ["input"]}, [6]),
    ],
)
def test_the_filter_keeps_channels_namespaces_depth_and_what_followed_since(
    request_body: dict[str, Any], wanted: list[int]
) -> None:
    def envelope(seq: int, method: str, namespace: list[str], data: Any) -> dict[str, Any]:
        params = {"namespace": namespace, "timestamp": 0, "data": data}
        return {"type": "event", "seq": seq, "method": method, "params": params}

    envelopes = [
        envelope(1, "values", [], {}),
        envelope(2, "values", ["a"], {}),
        envelope(3, "values", ["a", "b"], {}),
        envelope(4, "custom", [], {"payload": 1}),
        envelope(5, "custom", [], {"name": "progress", "payload": 2}),
        envelope(6, "input.requested", [], {"interrupt_id": "i", "payload": None}),
    ]
    keep = EventFilter(EventStreamRequest.model_validate(request_body))
    assert [e["seq"] for e in envelopes if keep.wants(e)] == wanted
