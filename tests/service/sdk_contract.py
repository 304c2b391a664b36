"""What the `langgraph_sdk` client expects of a LangGraph Server, as one function to run against
any server: ours (`test_sdk_contract.py`) and the real `langgraph dev` (the test marked
`langgraph_dev`), which proves that these expectations are the real ones.

Two kinds of graph are held to it: a chat agent (`CHECKS`, on the graph of
`tests/service/contract_graph.py`, served as "agent") and a graph that is not one (`COUNTER_CHECKS`,
on `tests/service/counter_graph.py`, under any graph id): assistants and descriptions, every
stream mode, interrupts and resume, state updates and forks, cancel and multitask, the store,
stateless runs and crons, per graph. Every check uses its own threads, so the server may hold
other data; nothing here waits by sleeping.

Example:
    >>> await check_contract("http://127.0.0.1:2024", agent="agent", counter="counter")
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import aclosing
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

import httpx
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamPart

from tests.service import counter_graph
from tests.service.contract_graph import HANG

GRAPH = "agent"
# LangGraph Server's system assistant of a graph: uuid5 of the graph id in this namespace.
SYSTEM_ASSISTANT = str(uuid5(UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8"), GRAPH))
ANSWER = "The answer is 42."
MISSING = str(uuid5(NAMESPACE_URL, "missing"))

Check = Callable[[LangGraphClient], Awaitable[None]]
GraphCheck = Callable[[LangGraphClient, str], Awaitable[None]]


def system_assistant(graph_id: str) -> str:
    return str(uuid5(UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8"), graph_id))


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def contents(values: dict[str, Any]) -> list[str]:
    return [message["content"] for message in values.get("messages", [])]


async def status_of(call: Awaitable[Any]) -> int:
    """The HTTP status a call fails with (the test fails if it succeeds)."""
    try:
        await call
    except httpx.HTTPStatusError as exc:  # the SDK's own errors derive from it
        return exc.response.status_code
    raise AssertionError("the call succeeded; an error status was expected")


async def collect(parts: Any) -> list[StreamPart]:
    return [part async for part in parts]


async def start_hanging_run(client: LangGraphClient, thread_id: str, text: str = HANG) -> str:
    """Start a run that generates until it is cancelled; returns once it is running, its
    input checkpointed (the stream is left, and the run goes on)."""
    created: list[Any] = []
    parts = client.runs.stream(
        thread_id,
        GRAPH,
        input=ask(text),
        stream_mode="values",
        durability="sync",  # its checkpoints are written before the model is called
        on_run_created=created.append,
    )
    async for part in parts:
        if part.event == "values":
            break
    await parts.aclose()
    return created[0]["run_id"]


async def new_thread(client: LangGraphClient, **metadata: Any) -> str:
    return (await client.threads.create(metadata=metadata or None))["thread_id"]


async def check_contract(url: str, agent: str | None = GRAPH, counter: str | None = None) -> None:
    """Run the checks against the server at `url`: the chat agent's on graph `agent` (which
    must be "agent", the contract graph, when given), the counter's on graph `counter`; an
    AssertionError names the first gap."""
    assert agent in (None, GRAPH), "the agent checks run on the contract graph, as 'agent'"
    async with get_client(url=url, timeout=60) as client:
        checks: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        if agent is not None:
            checks += [(check.__name__, partial(check, client)) for check in CHECKS]
        if counter is not None:
            checks += [
                (f"{check.__name__}({counter})", partial(check, client, counter))
                for check in COUNTER_CHECKS
            ]
        for name, check in checks:
            try:
                await check()
            except Exception as exc:
                exc.add_note(f"contract check: {name}")
                raise


# Assistants ----------------------------------------------------------------------------------


async def assistants_are_versioned_configurations(client: LangGraphClient) -> None:
    system = await client.assistants.get(SYSTEM_ASSISTANT)
    assert system["graph_id"] == GRAPH and system["name"] == GRAPH
    assert system["metadata"] == {"created_by": "system"}

    terse = await client.assistants.create(
        GRAPH,
        config={"configurable": {"system_prompt": "Be terse."}},
        metadata={"contract": "assistants"},
        name="Terse Helper",
    )
    assert terse["version"] == 1 and terse["name"] == "Terse Helper"
    assert terse["context"] == {"system_prompt": "Be terse."}  # kept in step with configurable
    assert await client.assistants.get(terse["assistant_id"]) == terse

    changed = await client.assistants.update(
        terse["assistant_id"], metadata={"round": 2}, config={"configurable": {"tools": ["search"]}}
    )
    assert changed["version"] == 2
    assert changed["metadata"] == {"contract": "assistants", "round": 2}
    assert changed["config"] == {"configurable": {"tools": ["search"]}}
    versions = await client.assistants.get_versions(terse["assistant_id"])
    assert [v["version"] for v in versions] == [2, 1]
    restored = await client.assistants.set_latest(terse["assistant_id"], 1)
    assert restored["version"] == 1 and restored["config"] == terse["config"]
    assert restored["metadata"] == {"contract": "assistants"}

    found = await client.assistants.search(metadata={"contract": "assistants"})
    assert [a["assistant_id"] for a in found] == [terse["assistant_id"]]
    assert [a["name"] for a in await client.assistants.search(name="terse h")] == ["Terse Helper"]
    page = await client.assistants.search(graph_id=GRAPH, limit=1, response_format="object")
    assert len(page["assistants"]) == 1 and page["next"] == "1"
    assert await client.assistants.count(metadata={"contract": "assistants"}) == 1
    assert await client.assistants.count(graph_id=GRAPH) >= 2

    assert await status_of(client.assistants.create("no-such-graph")) == 404
    assert await status_of(client.assistants.get(MISSING)) == 404
    assert await status_of(client.assistants.update(MISSING, name="x")) == 404
    duplicate = client.assistants.create(GRAPH, assistant_id=terse["assistant_id"])
    assert await status_of(duplicate) == 409
    same = await client.assistants.create(
        GRAPH, assistant_id=terse["assistant_id"], if_exists="do_nothing"
    )
    assert same["assistant_id"] == terse["assistant_id"] and same["version"] == 1

    await client.assistants.delete(terse["assistant_id"])
    assert await status_of(client.assistants.get(terse["assistant_id"])) == 404
    assert await status_of(client.assistants.delete(terse["assistant_id"])) == 404


async def assistants_describe_their_graph(client: LangGraphClient) -> None:
    drawing = await client.assistants.get_graph(GRAPH)
    assert {node["id"] for node in drawing["nodes"]} == {"__start__", "agent", "tools", "__end__"}
    edges = {(edge["source"], edge["target"]) for edge in drawing["edges"]}
    assert edges == {
        ("__start__", "agent"),
        ("agent", "tools"),
        ("agent", "__end__"),
        ("tools", "agent"),
    }
    assert await client.assistants.get_graph(SYSTEM_ASSISTANT) == drawing
    schemas = await client.assistants.get_schemas(SYSTEM_ASSISTANT)
    assert schemas["graph_id"] == GRAPH
    assert "messages" in schemas["input_schema"]["properties"]
    assert "messages" in schemas["state_schema"]["properties"]
    assert await client.assistants.get_subgraphs(SYSTEM_ASSISTANT) == {}


async def assistant_configuration_reaches_the_graph(client: LangGraphClient) -> None:
    pirate = await client.assistants.create(
        GRAPH, config={"configurable": {"system_prompt": "Talk like a pirate."}}
    )
    told = await client.runs.wait(None, pirate["assistant_id"], input=ask("your instructions?"))
    assert contents(told)[-1] == "My instructions: Talk like a pirate."
    default = await client.runs.wait(None, GRAPH, input=ask("your instructions?"))
    assert contents(default)[-1] != "My instructions: Talk like a pirate."

    # An assistant offering only `search` cannot use the calculator.
    searcher = await client.assistants.create(GRAPH, context={"tools": ["search"]})
    result = await client.runs.wait(None, searcher["assistant_id"], input=ask("what is 6 * 7?"))
    refusal = result["messages"][2]
    assert refusal["type"] == "tool" and refusal["status"] == "error"
    assert "Unknown tool 'calculator'" in refusal["content"]
    for assistant in (pirate, searcher):
        await client.assistants.delete(assistant["assistant_id"])


# Threads -------------------------------------------------------------------------------------


async def threads_are_created_changed_found_and_deleted(client: LangGraphClient) -> None:
    thread = await client.threads.create(metadata={"contract": "threads", "n": 1})
    thread_id = thread["thread_id"]
    assert thread["status"] == "idle" and thread["values"] is None
    patched = await client.threads.update(thread_id, metadata={"n": 2, "extra": "yes"})
    assert patched["metadata"] == {"contract": "threads", "n": 2, "extra": "yes"}
    assert (await client.threads.get(thread_id))["metadata"] == patched["metadata"]
    found = await client.threads.search(metadata={"contract": "threads"})
    assert [t["thread_id"] for t in found] == [thread_id]
    assert await client.threads.count(metadata={"contract": "threads", "n": 2}) == 1
    assert await status_of(client.threads.update(MISSING, metadata={})) == 404
    await client.threads.delete(thread_id)
    assert await status_of(client.threads.get(thread_id)) == 404
    assert await client.threads.count(metadata={"contract": "threads"}) == 0


async def thread_state_history_and_checkpoints(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    await client.runs.wait(thread_id, GRAPH, input=ask("what is 6 * 7?"))
    state = await client.threads.get_state(thread_id)
    assert contents(state["values"])[-1] == ANSWER and state["next"] == []
    history = await client.threads.get_history(thread_id, limit=10)
    assert [s["metadata"]["step"] for s in history] == [3, 2, 1, 0, -1]
    assert history[0]["checkpoint"] == state["checkpoint"]
    earlier = history[2]["checkpoint"]
    by_id = await client.threads.get_state(thread_id, checkpoint_id=earlier["checkpoint_id"])
    by_checkpoint = await client.threads.get_state(thread_id, checkpoint=earlier)
    assert by_id["values"] == by_checkpoint["values"] == history[2]["values"]
    assert len(by_id["values"]["messages"]) == 2
    # (`get_history(before=...)` is left out: `langgraph dev` 0.16.7 answers 500 to it.)
    only_input = await client.threads.get_history(thread_id, metadata={"source": "input"})
    assert [s["metadata"]["step"] for s in only_input] == [-1]


async def a_copy_has_the_metadata_and_history_and_goes_its_own_way(
    client: LangGraphClient,
) -> None:
    thread_id = await new_thread(client, contract="copy")
    await client.runs.wait(thread_id, GRAPH, input=ask("what is 6 * 7?"))
    copy = await client.threads.copy(thread_id)
    copy_id = copy["thread_id"]
    assert copy_id != thread_id and copy["status"] == "idle"
    assert copy["metadata"] == (await client.threads.get(thread_id))["metadata"]
    history = await client.threads.get_history(thread_id)
    copied = await client.threads.get_history(copy_id)
    assert [s["checkpoint"]["checkpoint_id"] for s in copied] == [
        s["checkpoint"]["checkpoint_id"] for s in history
    ]
    assert [s["values"] for s in copied] == [s["values"] for s in history]
    assert {s["checkpoint"]["thread_id"] for s in copied} == {copy_id}
    await client.runs.wait(copy_id, GRAPH, input=ask("what is 2 + 3?"))
    assert contents((await client.threads.get_state(copy_id))["values"])[-1] == "The answer is 5."
    assert contents((await client.threads.get_state(thread_id))["values"])[-1] == ANSWER


async def threads_are_pruned(client: LangGraphClient) -> None:
    kept = await new_thread(client, contract="prune")
    pruned = [await new_thread(client, contract="prune") for _ in range(2)]
    await client.runs.wait(pruned[0], GRAPH, input=ask("what is 6 * 7?"))
    assert await client.threads.prune([*pruned, MISSING]) == {"pruned_count": 2}
    found = await client.threads.search(metadata={"contract": "prune"})
    assert [t["thread_id"] for t in found] == [kept]
    assert await status_of(client.threads.get_state(pruned[0])) == 404
    assert await client.threads.prune([]) == {"pruned_count": 0}
    assert await status_of(client.threads.prune([kept, "not-a-uuid"])) == 422
    assert await client.threads.count(metadata={"contract": "prune"}) == 1


# Streaming -----------------------------------------------------------------------------------


async def every_stream_mode(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    created: list[Any] = []
    parts = await collect(
        client.runs.stream(
            thread_id,
            GRAPH,
            input=ask("what is 6 * 7?"),
            stream_mode=[
                "values",
                "updates",
                "messages-tuple",
                "custom",
                "debug",
                "tasks",
                "checkpoints",
                "events",
            ],
            on_run_created=created.append,
        )
    )
    names = [part.event for part in parts]
    assert names[0] == "metadata" and parts[0].data["run_id"] == created[0]["run_id"]
    assert created[0]["thread_id"] == thread_id
    assert {"values", "updates", "messages", "debug", "tasks", "checkpoints", "events"} <= set(
        names
    )
    assert "custom" not in names  # the graph writes no custom events
    values = [part.data for part in parts if part.event == "values"]
    assert contents(values[-1]) == ["what is 6 * 7?", "", "42", ANSWER]
    updates = [part.data for part in parts if part.event == "updates"]
    assert [next(iter(update)) for update in updates] == ["agent", "tools", "agent"]
    tokens = [
        chunk["content"]
        for chunk, meta in (part.data for part in parts if part.event == "messages")
        if chunk["type"] == "AIMessageChunk" and meta["langgraph_node"] == "agent"
    ]
    assert "".join(tokens) == ANSWER and len(tokens) > 1
    checkpoints = [part.data for part in parts if part.event == "checkpoints"]
    assert checkpoints[-1]["next"] == [] and contents(checkpoints[-1]["values"])[-1] == ANSWER
    assert {part.data["type"] for part in parts if part.event == "debug"} >= {
        "checkpoint",
        "task",
        "task_result",
    }
    assert {part.data["name"] for part in parts if part.event == "tasks"} == {"agent", "tools"}
    kinds = {part.data["event"] for part in parts if part.event == "events"}
    assert {"on_chat_model_stream", "on_tool_start", "on_tool_end"} <= kinds
    run = await client.runs.get(thread_id, created[0]["run_id"])
    assert run["status"] == "success"


async def messages_mode_sends_partial_and_complete_messages(client: LangGraphClient) -> None:
    parts = await collect(
        client.runs.stream(None, GRAPH, input=ask("what is 6 * 7?"), stream_mode="messages")
    )
    names = [part.event for part in parts]
    assert set(names) == {
        "metadata",
        "messages/metadata",
        "messages/partial",
        "messages/complete",
    }
    partial = [p.data[0]["content"] for p in parts if p.event == "messages/partial"]
    assert partial[-1] == ANSWER
    (complete,) = [p.data[0] for p in parts if p.event == "messages/complete"]
    assert complete["type"] == "tool" and complete["content"] == "42"


async def subgraph_streaming_is_accepted(client: LangGraphClient) -> None:
    parts = await collect(
        client.runs.stream(
            None,
            GRAPH,
            input=ask("what is 6 * 7?"),
            stream_mode=["updates", "values"],
            stream_subgraphs=True,
        )
    )
    # The agent has no subgraphs: every event is the root graph's, named without `|ns`.
    assert {part.event for part in parts} == {"metadata", "updates", "values"}


async def a_failing_run_is_an_error_event_and_marks_the_thread(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    parts = await collect(
        client.runs.stream(thread_id, GRAPH, input={"messages": 12345}, stream_mode="updates")
    )
    assert [part.event for part in parts] == ["metadata", "error"]
    assert parts[1].data["error"] == "NotImplementedError"
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "error" and thread["error"]["error"] == "NotImplementedError"
    recovered = await client.runs.wait(thread_id, GRAPH, input=ask("what is 6 * 7?"))
    assert contents(recovered)[-1] == ANSWER
    assert (await client.threads.get(thread_id))["status"] == "idle"


# Background runs -----------------------------------------------------------------------------


async def background_runs_are_listed_joined_and_deleted(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    run = await client.runs.create(thread_id, GRAPH, input=ask("what is 6 * 7?"))
    assert run["status"] == "pending" and run["thread_id"] == thread_id
    assert run["assistant_id"] == SYSTEM_ASSISTANT
    joined = await client.runs.join(thread_id, run["run_id"])
    assert contents(joined)[-1] == ANSWER
    second = await client.runs.create(thread_id, GRAPH, input=ask("what is 2 + 3?"))
    await client.runs.join(thread_id, second["run_id"])
    listed = await client.runs.list(thread_id)
    assert [r["run_id"] for r in listed] == [second["run_id"], run["run_id"]]
    assert [r["status"] for r in listed] == ["success", "success"]
    assert [r["run_id"] for r in await client.runs.list(thread_id, limit=1, offset=1)] == [
        run["run_id"]
    ]

    # Deleting a run deletes the checkpoints it wrote too.
    await client.runs.delete(thread_id, second["run_id"])
    assert [r["run_id"] for r in await client.runs.list(thread_id)] == [run["run_id"]]
    assert contents((await client.threads.get_state(thread_id))["values"])[-1] == ANSWER
    assert await status_of(client.runs.get(thread_id, second["run_id"])) == 404
    assert await status_of(client.runs.delete(thread_id, second["run_id"])) == 404


async def a_dropped_stream_is_replayed_after_last_event_id(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    created: list[Any] = []
    parts = await collect(
        client.runs.stream(
            thread_id,
            GRAPH,
            input=ask("what is 6 * 7?"),
            stream_mode=["values", "updates"],
            stream_resumable=True,
            on_run_created=created.append,
        )
    )
    assert all(part.id for part in parts)
    run_id = created[0]["run_id"]
    replayed = await collect(client.runs.join_stream(thread_id, run_id, last_event_id=parts[1].id))
    assert [(p.event, p.data) for p in replayed] == [(p.event, p.data) for p in parts[2:]]


async def a_thread_stream_replays_its_runs(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    created: list[Any] = []
    parts = await collect(
        client.runs.stream(
            thread_id,
            GRAPH,
            input=ask("what is 6 * 7?"),
            stream_mode=["values", "updates"],
            stream_resumable=True,
            on_run_created=created.append,
        )
    )
    run_done = {"status": "run_done", "run_id": created[0]["run_id"]}
    followed: list[StreamPart] = []
    # "-": from the start; the stream follows the thread until the client leaves.
    stream = await client.threads.join_stream(thread_id, last_event_id="-")
    async with aclosing(stream):
        async for part in stream:
            followed.append(part)
            if part.data == run_done:
                break
    assert [(p.event, p.data) for p in followed[:-1]] == [(p.event, p.data) for p in parts]
    assert followed[-1].event == "metadata" and all(part.id for part in followed)


async def stateless_runs_leave_no_thread_unless_kept(client: LangGraphClient) -> None:
    before = await client.threads.count()
    waited = await client.runs.wait(None, GRAPH, input=ask("what is 6 * 7?"))
    assert contents(waited)[-1] == ANSWER
    streamed = await collect(
        client.runs.stream(None, GRAPH, input=ask("what is 2 + 3?"), stream_mode="values")
    )
    assert contents(streamed[-1].data)[-1] == "The answer is 5."
    assert await client.threads.count() == before
    kept: list[Any] = []
    await client.runs.wait(
        None,
        GRAPH,
        input=ask("what is 3 + 3?"),
        on_completion="keep",
        on_run_created=kept.append,
    )
    kept_thread = await client.threads.get(kept[0]["thread_id"])
    assert contents(kept_thread["values"])[-1] == "The answer is 6."
    await client.threads.delete(kept[0]["thread_id"])
    # In the background it runs on a thread of its own, which goes when it ends.
    background = await client.runs.create(None, GRAPH, input=ask("what is 1 + 1?"))
    assert background["status"] == "pending" and background["kwargs"]["temporary"] is True
    resume = client.runs.wait(None, GRAPH, command={"resume": "yes"})
    assert await status_of(resume) == 400


# One run per thread --------------------------------------------------------------------------


async def multitask_strategies(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    await client.runs.wait(thread_id, GRAPH, input=ask("what is 6 * 7?"))
    hanging = await start_hanging_run(client, thread_id)
    assert (await client.threads.get(thread_id))["status"] == "busy"
    assert (await client.runs.get(thread_id, hanging))["status"] == "running"

    rejected = client.runs.create(
        thread_id, GRAPH, input=ask("what is 1 + 1?"), multitask_strategy="reject"
    )
    assert await status_of(rejected) == 409
    queued = await client.runs.create(
        thread_id, GRAPH, input=ask("what is 2 + 2?"), multitask_strategy="enqueue"
    )
    assert (await client.runs.get(thread_id, queued["run_id"]))["status"] == "pending"

    # interrupt: the running and the queued runs stop, keeping what they wrote.
    interrupting = await client.runs.create(
        thread_id, GRAPH, input=ask("what is 3 + 3?"), multitask_strategy="interrupt"
    )
    result = await client.runs.join(thread_id, interrupting["run_id"])
    assert contents(result)[-1] == "The answer is 6." and HANG in contents(result)
    assert "what is 2 + 2?" not in contents(result)
    for stopped in (hanging, queued["run_id"]):
        assert (await client.runs.get(thread_id, stopped))["status"] == "interrupted"

    # rollback: the running run is deleted with what it wrote, as if it never ran.
    hanging = await start_hanging_run(client, thread_id, HANG + " again")
    rolling = await client.runs.create(
        thread_id, GRAPH, input=ask("what is 4 + 4?"), multitask_strategy="rollback"
    )
    result = await client.runs.join(thread_id, rolling["run_id"])
    assert contents(result)[-1] == "The answer is 8." and HANG + " again" not in contents(result)
    assert await status_of(client.runs.get(thread_id, hanging)) == 404
    assert (await client.threads.get(thread_id))["status"] == "idle"


async def cancel_interrupts_or_rolls_back(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    await client.runs.wait(thread_id, GRAPH, input=ask("what is 6 * 7?"))

    # interrupt: the run stops where it was; the thread can go on from there.
    hanging = await start_hanging_run(client, thread_id)
    await client.runs.cancel(thread_id, hanging, wait=True)
    assert (await client.runs.get(thread_id, hanging))["status"] == "interrupted"
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "interrupted" and contents(thread["values"])[-1] == HANG
    assert (await client.threads.get_state(thread_id))["next"] == ["agent"]
    assert await status_of(client.runs.cancel(thread_id, hanging)) == 404

    # rollback: the run and what it wrote are gone.
    hanging = await start_hanging_run(client, thread_id, HANG + " too")
    await client.runs.cancel(thread_id, hanging, wait=True, action="rollback")
    state = await client.threads.get_state(thread_id)
    assert contents(state["values"])[-1] == HANG and state["next"] == ["agent"]

    # Without wait the cancel is accepted at once; joining waits for the run to stop.
    hanging = await start_hanging_run(client, thread_id, HANG + " three")
    await client.runs.cancel(thread_id, hanging)
    await client.runs.join(thread_id, hanging)
    assert (await client.runs.get(thread_id, hanging))["status"] == "interrupted"


async def batches_and_cancelling_many(client: LangGraphClient) -> None:
    batch = await client.runs.create_batch(
        [
            {"assistant_id": GRAPH, "input": ask("what is 1 + 1?")},
            {"assistant_id": GRAPH, "input": ask("what is 2 + 2?")},
        ]
    )
    assert [run["status"] for run in batch] == ["pending", "pending"]
    assert len({run["thread_id"] for run in batch}) == 2

    thread_id = await new_thread(client)
    hanging = await start_hanging_run(client, thread_id)
    await client.runs.cancel_many(thread_id=thread_id, run_ids=[hanging])
    await client.runs.join(thread_id, hanging)
    assert (await client.runs.get(thread_id, hanging))["status"] == "interrupted"
    none_left = client.runs.cancel_many(thread_id=thread_id, run_ids=[hanging])
    assert await status_of(none_left) == 404


# Human in the loop ---------------------------------------------------------------------------


async def interrupt_before_a_node_then_continue(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    paused = await client.runs.wait(
        thread_id, GRAPH, input=ask("what is 6 * 7?"), interrupt_before=["tools"]
    )
    assert paused["messages"][-1]["tool_calls"][0]["name"] == "calculator"
    assert (await client.threads.get(thread_id))["status"] == "interrupted"
    assert (await client.threads.get_state(thread_id))["next"] == ["tools"]
    done = await client.runs.wait(thread_id, GRAPH, input=None)
    assert contents(done)[-1] == ANSWER
    assert (await client.threads.get(thread_id))["status"] == "idle"

    after = await client.runs.wait(
        thread_id, GRAPH, input=ask("what is 2 + 3?"), interrupt_after="*"
    )
    assert after["messages"][-1]["tool_calls"]
    assert (await client.threads.get_state(thread_id))["next"] == ["tools"]


async def tool_approval_pauses_and_resumes(client: LangGraphClient) -> None:
    careful = await client.assistants.create(
        GRAPH, config={"configurable": {"approve_tools": ["calculator"]}}
    )
    assistant_id = careful["assistant_id"]
    thread_id = await new_thread(client)
    parts = await collect(
        client.runs.stream(
            thread_id, assistant_id, input=ask("what is 6 * 7?"), stream_mode="values"
        )
    )
    (pending,) = parts[-1].data["__interrupt__"]
    (call,) = pending["value"]["tool_calls"]
    assert call["name"] == "calculator" and call["args"] == {"expression": "6 * 7"}
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "interrupted"
    assert [i["id"] for i in next(iter(thread["interrupts"].values()))] == [pending["id"]]

    approved = await client.runs.wait(
        thread_id, assistant_id, command={"resume": {"approved": True}}
    )
    assert contents(approved)[-1] == ANSWER

    await client.runs.wait(thread_id, assistant_id, input=ask("what is 2 + 3?"))
    refused = await client.runs.wait(
        thread_id, assistant_id, command={"resume": {"approved": False, "reason": "no"}}
    )
    refusal = refused["messages"][-2]
    assert refusal["type"] == "tool" and refusal["status"] == "error"
    assert "did not approve" in refusal["content"]

    await client.runs.wait(thread_id, assistant_id, input=ask("what is 1 + 1?"))
    edited = await client.runs.wait(
        thread_id,
        assistant_id,
        command={"resume": [{"name": "calculator", "args": {"expression": "9 * 9"}}]},
    )
    assert contents(edited)[-2:] == ["81", "The answer is 81."]
    assert (await client.threads.get(thread_id))["status"] == "idle"
    await client.assistants.delete(assistant_id)


async def state_updates_and_time_travel(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    assert await status_of(client.threads.update_state(thread_id, {"messages": []})) == 400
    await client.runs.wait(thread_id, GRAPH, input=ask("what is 6 * 7?"))
    history = await client.threads.get_history(thread_id)

    written = await client.threads.update_state(
        thread_id, {"messages": [{"role": "ai", "content": "edited"}]}, as_node="agent"
    )
    state = await client.threads.get_state(thread_id)
    assert state["checkpoint"]["checkpoint_id"] == written["checkpoint"]["checkpoint_id"]
    assert written["checkpoint_id"] == written["checkpoint"]["checkpoint_id"]
    assert contents(state["values"])[-1] == "edited" and state["next"] == []
    assert state["metadata"]["source"] == "update"
    bad_node = client.threads.update_state(thread_id, {"messages": []}, as_node="nowhere")
    assert await status_of(bad_node) == 400

    # Forking: a run from an earlier checkpoint continues from there, not from the latest.
    first_question = history[-2]["checkpoint"]  # step 0: the question, before any answer
    forked = await client.runs.wait(
        thread_id,
        GRAPH,
        input=ask("what is 2 + 3?"),
        checkpoint_id=first_question["checkpoint_id"],
    )
    assert contents(forked) == ["what is 6 * 7?", "what is 2 + 3?", "", "5", "The answer is 5."]
    replayed = await client.runs.wait(thread_id, GRAPH, input=None, checkpoint=first_question)
    assert contents(replayed) == ["what is 6 * 7?", "", "42", ANSWER]


# Store ---------------------------------------------------------------------------------------


async def the_store_files_items_under_namespaces(client: LangGraphClient) -> None:
    store, shelf = client.store, ["contract", "store"]
    await store.put_item(shelf, "a", {"kind": "note", "text": "tea at five"})
    await store.put_item([*shelf, "deep"], "b", {"kind": "todo", "text": "buy tea"})
    await store.put_item(shelf, "a", {"kind": "note", "text": "tea at six"})
    item = await store.get_item(shelf, "a")
    assert item is not None and {"created_at", "updated_at"} <= set(item)
    assert (item["namespace"], item["key"]) == (shelf, "a")
    assert item["value"] == {"kind": "note", "text": "tea at six"}
    assert await store.get_item(shelf, "missing") is None

    found = (await store.search_items(["contract"]))["items"]
    assert sorted((tuple(i["namespace"]), i["key"]) for i in found) == [
        (("contract", "store"), "a"),
        (("contract", "store", "deep"), "b"),
    ]
    assert all(i["score"] is None for i in found)
    notes = await store.search_items(["contract"], filter={"kind": "note"})
    assert [i["key"] for i in notes["items"]] == ["a"]
    todo = await store.search_items(["contract"], filter={"kind": "todo"}, query="tea")
    assert [i["key"] for i in todo["items"]] == ["b"]
    pages = [await store.search_items(["contract"], limit=1, offset=n) for n in (0, 1)]
    assert sorted(page["items"][0]["key"] for page in pages) == ["a", "b"]

    listed = await store.list_namespaces(prefix=["contract"])
    assert listed == {"namespaces": [["contract", "store"], ["contract", "store", "deep"]]}
    shallow = await store.list_namespaces(prefix=["contract"], max_depth=2)
    assert shallow == {"namespaces": [["contract", "store"]]}
    assert (await store.list_namespaces(suffix=["deep"]))["namespaces"] == [[*shelf, "deep"]]

    assert await status_of(store.put_item([], "k", {})) == 400
    assert await status_of(store.put_item(["langgraph"], "k", {})) == 400
    await store.delete_item([*shelf, "deep"], "b")
    await store.delete_item(shelf, "a")
    await store.delete_item(shelf, "a")  # gone already: no error
    assert await store.get_item(shelf, "a") is None
    assert await store.search_items(["contract"]) == {"items": []}


# Crons ---------------------------------------------------------------------------------------


def paris_time(moment: str) -> tuple[int, int, int, int]:
    local = datetime.fromisoformat(moment).astimezone(ZoneInfo("Europe/Paris"))
    return (local.month, local.day, local.hour, local.minute)


async def crons_are_created_found_changed_and_deleted(client: LangGraphClient) -> None:
    crons, tag, question = client.crons, {"contract": "crons"}, ask("what is 6 * 7?")
    thread_id = await new_thread(client)
    # Yearly schedules: no cron fires while the contract runs.
    on_thread = await crons.create_for_thread(
        thread_id,
        GRAPH,
        schedule="0 9 1 1 *",
        timezone="Europe/Paris",
        input=question,
        metadata=tag,
        end_time=datetime(2099, 1, 1, tzinfo=UTC),
    )
    stateless = await crons.create(
        GRAPH,
        schedule="30 8 1 1 *",
        metadata={**tag, "kind": "stateless"},
        on_run_completed="keep",
        enabled=False,
    )
    assert on_thread["assistant_id"] == stateless["assistant_id"] == SYSTEM_ASSISTANT
    assert (on_thread["thread_id"], stateless["thread_id"]) == (thread_id, None)
    assert (on_thread["on_run_completed"], stateless["on_run_completed"]) == (None, "keep")
    assert (on_thread["enabled"], stateless["enabled"]) == (True, False)
    assert (on_thread["schedule"], on_thread["timezone"]) == ("0 9 1 1 *", "Europe/Paris")
    assert on_thread["metadata"] == tag
    assert datetime.fromisoformat(on_thread["end_time"]) == datetime(2099, 1, 1, tzinfo=UTC)
    assert paris_time(on_thread["next_run_date"]) == (1, 1, 9, 0)
    payload = on_thread["payload"]
    assert payload["input"] == question and payload["assistant_id"] == SYSTEM_ASSISTANT
    assert payload["config"]["configurable"]["cron_id"] == on_thread["cron_id"]

    found = await crons.search(metadata=tag)
    assert [c["cron_id"] for c in found] == [stateless["cron_id"], on_thread["cron_id"]]
    assert found[1] == on_thread
    on_the_thread = await crons.search(thread_id=thread_id)
    assert [c["cron_id"] for c in on_the_thread] == [on_thread["cron_id"]]
    disabled = await crons.search(metadata=tag, enabled=False)
    assert [c["cron_id"] for c in disabled] == [stateless["cron_id"]]
    oldest = await crons.search(metadata=tag, sort_by="created_at", sort_order="asc", limit=1)
    assert [c["cron_id"] for c in oldest] == [on_thread["cron_id"]]
    picked = await crons.search(metadata=tag, select=["cron_id", "schedule"], offset=1)
    assert picked == [{"cron_id": on_thread["cron_id"], "schedule": "0 9 1 1 *"}]
    assert await crons.count(metadata=tag) == 2
    assert await crons.count(thread_id=thread_id) == 1
    assert await crons.count(assistant_id=SYSTEM_ASSISTANT, metadata={"kind": "stateless"}) == 1

    changed = await crons.update(
        on_thread["cron_id"],
        schedule="30 10 1 1 *",
        enabled=False,
        metadata={"changed": True},
        end_time=None,
    )
    assert (changed["cron_id"], changed["schedule"]) == (on_thread["cron_id"], "30 10 1 1 *")
    assert changed["enabled"] is False and changed["end_time"] is None
    assert changed["metadata"] == {**tag, "changed": True}
    assert paris_time(changed["next_run_date"]) == (1, 1, 10, 30)
    assert changed["payload"]["input"] == question
    assert changed["payload"]["config"]["configurable"]["cron_id"] == on_thread["cron_id"]

    before = await crons.count()
    assert await status_of(crons.create(GRAPH, schedule="not a schedule")) == 422
    assert await status_of(crons.create(GRAPH, schedule="0 9 1 1 *", timezone="Mars/X")) == 422
    assert await status_of(crons.create(MISSING, schedule="0 9 1 1 *")) == 404
    assert await status_of(crons.create_for_thread(MISSING, GRAPH, schedule="0 9 1 1 *")) == 404
    assert await status_of(crons.update(MISSING, enabled=True)) == 404
    assert await status_of(crons.update(on_thread["cron_id"], schedule="61 * * * *")) == 422
    assert await crons.count() == before
    for cron in (on_thread, stateless):
        await crons.delete(cron["cron_id"])
    assert await status_of(crons.delete(on_thread["cron_id"])) == 404
    assert await crons.count(metadata=tag) == 0


# Bad input -----------------------------------------------------------------------------------


async def bad_input_is_refused(client: LangGraphClient) -> None:
    thread_id = await new_thread(client)
    before = await client.threads.count()
    assert await status_of(client.runs.wait(thread_id, "nope", input=ask("hi"))) == 422
    assert await status_of(client.runs.wait(MISSING, GRAPH, input=ask("hi"))) == 404
    assert await status_of(client.runs.wait(thread_id, MISSING, input=ask("hi"))) == 404
    bogus_mode = client.runs.stream(thread_id, GRAPH, input=ask("hi"), stream_mode="bogus")
    assert await status_of(collect(bogus_mode)) == 422
    bad_checkpoint = client.runs.wait(thread_id, GRAPH, input=ask("hi"), checkpoint_id="nope")
    assert await status_of(bad_checkpoint) == 422
    assert await status_of(client.runs.get(thread_id, MISSING)) == 404
    assert await status_of(client.threads.get_state(MISSING)) == 404
    assert await client.runs.list(thread_id) == []
    assert await client.threads.count() == before


CHECKS: list[Check] = [
    assistants_are_versioned_configurations,
    assistants_describe_their_graph,
    assistant_configuration_reaches_the_graph,
    threads_are_created_changed_found_and_deleted,
    thread_state_history_and_checkpoints,
    a_copy_has_the_metadata_and_history_and_goes_its_own_way,
    threads_are_pruned,
    every_stream_mode,
    messages_mode_sends_partial_and_complete_messages,
    subgraph_streaming_is_accepted,
    a_failing_run_is_an_error_event_and_marks_the_thread,
    background_runs_are_listed_joined_and_deleted,
    a_dropped_stream_is_replayed_after_last_event_id,
    a_thread_stream_replays_its_runs,
    stateless_runs_leave_no_thread_unless_kept,
    multitask_strategies,
    cancel_interrupts_or_rolls_back,
    batches_and_cancelling_many,
    interrupt_before_a_node_then_continue,
    tool_approval_pauses_and_resumes,
    state_updates_and_time_travel,
    the_store_files_items_under_namespaces,
    crons_are_created_found_changed_and_deleted,
    bad_input_is_refused,
]


# A graph that is not a chat agent ----------------------------------------------------------------


def add(*numbers: int) -> dict[str, Any]:
    return {"added": list(numbers)}


async def graph_assistants_and_descriptions(client: LangGraphClient, graph_id: str) -> None:
    system_id = system_assistant(graph_id)
    system = await client.assistants.get(system_id)
    assert (system["graph_id"], system["name"]) == (graph_id, graph_id)
    assert system["metadata"] == {"created_by": "system"}
    listed = await client.assistants.search(graph_id=graph_id, metadata={"created_by": "system"})
    assert [a["assistant_id"] for a in listed] == [system_id]
    own = await client.assistants.create(graph_id, name="Counter", metadata={"mine": True})
    assert own["graph_id"] == graph_id
    found = await client.assistants.search(graph_id=graph_id, metadata={"mine": True})
    assert [a["assistant_id"] for a in found] == [own["assistant_id"]]

    drawing = await client.assistants.get_graph(own["assistant_id"])
    nodes = {node["id"] for node in drawing["nodes"]}
    assert nodes == {"__start__", "add", "review", "remember", "__end__"}
    assert await client.assistants.get_graph(graph_id) == drawing
    schemas = await client.assistants.get_schemas(system_id)
    assert schemas["graph_id"] == graph_id
    assert {"added", "total", "verdict"} <= set(schemas["state_schema"]["properties"])
    assert "added" in schemas["input_schema"]["properties"]
    assert "messages" not in schemas["state_schema"]["properties"]
    assert await client.assistants.get_subgraphs(system_id) == {}
    await client.assistants.delete(own["assistant_id"])


async def graph_streams_every_mode(client: LangGraphClient, graph_id: str) -> None:
    thread_id = await new_thread(client)
    created: list[Any] = []
    parts = await collect(
        client.runs.stream(
            thread_id,
            graph_id,
            input=add(2, 3),
            stream_mode=["values", "updates", "custom", "debug", "tasks", "checkpoints", "events"],
            on_run_created=created.append,
        )
    )
    names = [part.event for part in parts]
    assert names[0] == "metadata" and parts[0].data["run_id"] == created[0]["run_id"]
    assert {"values", "updates", "custom", "debug", "tasks", "checkpoints", "events"} <= set(names)
    assert [p.data for p in parts if p.event == "custom"] == [{"total": 5}]
    values = [part.data for part in parts if part.event == "values"]
    assert values[-1] == {"added": [2, 3], "total": 5, "verdict": "ok"}
    updates = [next(iter(part.data)) for part in parts if part.event == "updates"]
    assert updates == ["add", "review", "remember"]
    assert {p.data["name"] for p in parts if p.event == "tasks"} == {"add", "review", "remember"}
    assert (await client.runs.get(thread_id, created[0]["run_id"]))["status"] == "success"
    state = await client.threads.get_state(thread_id)
    assert state["values"] == values[-1] and state["next"] == []
    history = await client.threads.get_history(thread_id, limit=10)
    assert [s["metadata"]["step"] for s in history] == [3, 2, 1, 0, -1]
    thread = await client.threads.get(thread_id)
    assert thread["metadata"]["graph_id"] == graph_id and thread["status"] == "idle"
    assert await client.store.get_item(["counters"], thread_id) is not None


async def graph_interrupts_and_resumes(client: LangGraphClient, graph_id: str) -> None:
    thread_id = await new_thread(client)
    paused = await client.runs.wait(thread_id, graph_id, input=add(60, 50))
    (pending,) = paused["__interrupt__"]
    assert pending["value"]["total"] == 110
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "interrupted"
    assert [i["id"] for i in next(iter(thread["interrupts"].values()))] == [pending["id"]]
    assert (await client.threads.get_state(thread_id))["next"] == ["review"]
    assert await client.store.get_item(["counters"], thread_id) is None

    done = await client.runs.wait(thread_id, graph_id, command={"resume": "keep"})
    assert done == {"added": [60, 50], "total": 110, "verdict": "kept"}
    assert (await client.threads.get(thread_id))["status"] == "idle"
    filed = await client.store.get_item(["counters"], thread_id)
    assert filed is not None and filed["value"] == {"total": 110}

    await client.runs.wait(thread_id, graph_id, input=add(1))
    dropped = await client.runs.wait(thread_id, graph_id, command={"resume": "no"})
    assert dropped["total"] == 111 and dropped["verdict"] == "dropped"
    # interrupt_before works on any node of any graph.
    before = await client.runs.wait(
        thread_id, graph_id, input=add(-111), interrupt_before=["review"]
    )
    assert before["total"] == 0 and (await client.threads.get_state(thread_id))["next"] == [
        "review"
    ]
    assert (await client.runs.wait(thread_id, graph_id, input=None))["verdict"] == "ok"


async def graph_state_updates_and_forks(client: LangGraphClient, graph_id: str) -> None:
    thread_id = await new_thread(client)
    await client.runs.wait(thread_id, graph_id, input=add(1, 2))
    history = await client.threads.get_history(thread_id)
    written = await client.threads.update_state(
        thread_id, {"verdict": "edited"}, as_node="remember"
    )
    state = await client.threads.get_state(thread_id)
    assert state["checkpoint"]["checkpoint_id"] == written["checkpoint"]["checkpoint_id"]
    assert state["values"]["verdict"] == "edited" and state["metadata"]["source"] == "update"
    # An update as `add` makes `review` the next node.
    await client.threads.update_state(thread_id, {"total": 500}, as_node="add")
    assert (await client.threads.get_state(thread_id))["next"] == ["review"]

    first_input = history[-2]  # step 0: the input taken, before any node ran
    assert first_input["values"] == {"added": [1, 2]} and first_input["next"] == ["add"]
    forked = await client.runs.wait(
        thread_id, graph_id, input=add(5), checkpoint_id=first_input["checkpoint"]["checkpoint_id"]
    )
    assert forked == {"added": [1, 2, 5], "total": 8, "verdict": "ok"}, forked


async def graph_runs_are_cancelled(client: LangGraphClient, graph_id: str) -> None:
    thread_id = await new_thread(client)
    await client.runs.wait(thread_id, graph_id, input=add(4))

    async def hanging() -> str:
        created: list[Any] = []
        parts = client.runs.stream(
            thread_id,
            graph_id,
            input=add(counter_graph.HANG),
            stream_mode="values",
            durability="sync",
            on_run_created=created.append,
        )
        async for part in parts:
            if part.event == "values":
                break
        await parts.aclose()
        return created[0]["run_id"]

    run_id = await hanging()
    assert (await client.threads.get(thread_id))["status"] == "busy"
    assert (
        await status_of(
            client.runs.create(thread_id, graph_id, input=add(1), multitask_strategy="reject")
        )
        == 409
    )
    await client.runs.cancel(thread_id, run_id, wait=True)
    assert (await client.runs.get(thread_id, run_id))["status"] == "interrupted"
    assert (await client.threads.get_state(thread_id))["next"] == ["add"]

    run_id = await hanging()
    rolling = await client.runs.create(
        thread_id, graph_id, input=add(1), multitask_strategy="rollback"
    )
    result = await client.runs.join(thread_id, rolling["run_id"])
    assert result["total"] == 4 + counter_graph.HANG + 1  # the first hanging run's input stays
    assert await status_of(client.runs.get(thread_id, run_id)) == 404


async def graph_stateless_runs_and_crons(client: LangGraphClient, graph_id: str) -> None:
    before = await client.threads.count()
    assert await client.runs.wait(None, graph_id, input=add(7)) == {
        "added": [7],
        "total": 7,
        "verdict": "ok",
    }
    assert await client.threads.count() == before
    cron = await client.crons.create(
        graph_id, schedule="0 9 1 1 *", input=add(1), enabled=False, metadata={"g": graph_id}
    )
    assert cron["assistant_id"] == system_assistant(graph_id)
    assert [c["cron_id"] for c in await client.crons.search(metadata={"g": graph_id})] == [
        cron["cron_id"]
    ]
    await client.crons.delete(cron["cron_id"])


COUNTER_CHECKS: list[GraphCheck] = [
    graph_assistants_and_descriptions,
    graph_streams_every_mode,
    graph_interrupts_and_resumes,
    graph_state_updates_and_forks,
    graph_runs_are_cancelled,
    graph_stateless_runs_and_crons,
]
