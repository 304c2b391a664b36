"""Fuzzed run and state bodies (hypothesis, derandomized): whatever a client sends, the answer
is a documented status with a `{"detail": ...}` body when refused, never a server error."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.threaded_server import threaded_server

EXAMPLES = 60
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "agent", "tools", "\ud800", "a\x00b", "a b", "*", "0" * 40]),
)
numbers = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 10**30, 2**63, 1e308, -1e308]),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
messages = st.lists(
    st.one_of(
        texts,
        st.fixed_dictionaries(
            {"content": json_values},
            optional={
                "role": st.sampled_from(["user", "assistant", "system", "tool", "bogus", ""]),
                "type": st.sampled_from(["human", "ai", "tool", "remove", "nope"]),
                "tool_calls": json_values,
                "tool_call_id": json_values,
                "id": json_values,
            },
        ),
        json_values,
    ),
    max_size=4,
)
graph_input = st.one_of(json_values, st.fixed_dictionaries({"messages": messages}))
run_bodies = st.fixed_dictionaries(
    {"assistant_id": st.one_of(st.just("agent"), texts)},
    optional={
        "input": graph_input,
        "command": st.one_of(
            json_values,
            st.fixed_dictionaries({}, optional={"resume": json_values, "update": graph_input}),
        ),
        "config": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "configurable": json_values,
                    "recursion_limit": numbers,
                    "tags": json_values,
                },
            ),
        ),
        "metadata": json_values,
        "context": json_values,
        "after_seconds": st.one_of(numbers, st.just(0)),
        "stream_mode": json_values,
        "multitask_strategy": texts,
        "if_not_exists": st.sampled_from(["create", "reject", "bogus"]),
        "checkpoint_id": texts,
        "interrupt_before": json_values,
        "durability": texts,
    },
)
state_bodies = st.fixed_dictionaries(
    {},
    optional={
        "values": graph_input,
        "as_node": st.one_of(st.sampled_from(["agent", "tools"]), texts),
        "checkpoint_id": st.one_of(texts, st.uuids().map(str)),
        "checkpoint": json_values,
    },
)

RUN_STATUSES = {200, 400, 404, 409, 422, 501}
STATE_STATUSES = {200, 400, 404, 409, 422}
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    db = Path(tmp_path_factory.mktemp("fuzz")) / "threadloom.sqlite"
    with threaded_server(db) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def _post(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    # json.dumps writes NaN, Infinity and lone surrogates (as escapes), as a hostile client may.
    content = json.dumps(body).encode()
    return client.post(path, content=content, headers={"Content-Type": "application/json"})


def _check(answer: httpx.Response, allowed: set[int]) -> None:
    assert answer.status_code in allowed, (answer.status_code, answer.text[:300])
    if answer.status_code >= 400:
        assert isinstance(answer.json()["detail"], str)


def test_fuzzed_run_bodies_are_answered_or_refused_cleanly(client: httpx.Client) -> None:
    @FUZZ
    @given(body=run_bodies)
    def check(body: dict[str, Any]) -> None:
        _check(_post(client, f"/threads/{uuid.uuid4()}/runs", body), RUN_STATUSES)

    check()
    assert client.get("/ok").status_code == 200


def test_fuzzed_state_updates_are_answered_or_refused_cleanly(client: httpx.Client) -> None:
    thread = _post(client, "/threads", {"metadata": {"graph_id": "agent"}}).json()["thread_id"]

    @FUZZ
    @given(body=state_bodies)
    def check(body: dict[str, Any]) -> None:
        _check(_post(client, f"/threads/{thread}/state", body), STATE_STATUSES)

    check()
    assert client.get(f"/threads/{thread}/state").status_code == 200
