"""The SDK scenario the parity suite drives through threadloom and `langgraph dev` alike, over
the app in `tests/service/parity_app`: what each step answered (status codes, event names in
order, state shapes), with ids and times left out, so the two servers' answers compare equal.
"""

from __future__ import annotations

from typing import Any

import httpx
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

ALICE = {"Authorization": "Bearer alice"}
BOB = {"Authorization": "Bearer bob"}
GRAPHS = ("chatbot", "memory", "functional", "approval", "parent", "fanout", "greeter")
Observations = dict[str, Any]


async def observe(url: str) -> Observations:
    """Every section of the scenario against the server at `url`."""
    seen: Observations = {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        seen["info"] = await _info(http)
        seen["custom route"] = await _status_and_body(http, "/parity/hello")
        seen["no credentials"] = (await http.post("/threads/search", json={})).status_code
    async with get_client(url=url, headers=ALICE, timeout=120) as alice:
        system = await alice.assistants.search(metadata={"created_by": "system"})
        assistants = {a["graph_id"]: a["assistant_id"] for a in system}
        seen["graphs"] = sorted(assistants)
        for graph in GRAPHS:
            schemas = await alice.assistants.get_schemas(assistants[graph])
            seen[f"schemas {graph}"] = _schema_shape(schemas)
        seen.update(await _memory_chat(alice, url))
        seen.update(await _interrupt_and_resume(alice))
        seen["functional"] = await alice.runs.wait(None, "functional", input={"numbers": [2, 3]})
        seen["subgraphs"] = await _subgraph_events(alice)
        fanned = await alice.runs.wait(None, "fanout", input={"words": ["a", "b", "c"]})
        seen["fanout"] = sorted(fanned["shouted"])
        seen["context"] = await alice.runs.wait(
            None, "greeter", input={"name": "ada"}, context={"greeting": "ahoy"}
        )
    return seen


async def _info(http: httpx.AsyncClient) -> dict[str, Any]:
    body = (await http.get("/info")).json()
    return {"flags.crons": body["flags"]["crons"], "host": sorted(body.get("host", {}))}


async def _status_and_body(http: httpx.AsyncClient, path: str) -> tuple[int, Any]:
    response = await http.get(path)
    return response.status_code, response.json()


def _schema_shape(schemas: dict[str, Any]) -> dict[str, Any]:
    """Which schemas were built, and the fields each names."""
    return {
        name: None if schema is None else sorted(schema.get("properties") or {})
        for name, schema in schemas.items()
        if name != "graph_id"
    }


def _messages(values: dict[str, Any]) -> list[tuple[str, str]]:
    return [(message["type"], message["content"]) for message in values.get("messages", [])]


async def _memory_chat(alice: LangGraphClient, url: str) -> Observations:
    """memory-template: two turns; each enqueues a memory run through `get_client()`, which
    files what the user said, and the second turn answers from it."""
    seen: Observations = {}
    thread = await alice.threads.create()
    thread_id = thread["thread_id"]
    context = {"user_id": "alice"}
    turns = []
    for said in ("I love my cat", "tell me about cats"):
        result = await alice.runs.wait(
            thread_id,
            "chatbot",
            input={"messages": [{"role": "user", "content": said}]},
            context=context,
        )
        turns.append(_messages(result)[-1])
        for run in await alice.runs.list(thread_id):
            if run["status"] in ("pending", "running"):
                await alice.runs.join(thread_id, run["run_id"])
    seen["chat answers"] = turns
    graph_of = {a["assistant_id"]: a["graph_id"] for a in await alice.assistants.search()}
    runs = await alice.runs.list(thread_id)
    seen["chat runs"] = sorted((graph_of[r["assistant_id"]], r["status"]) for r in runs)
    state = await alice.threads.get_state(thread_id)
    seen["chat state keys"] = sorted(state["values"])
    seen["chat thread status"] = (await alice.threads.get(thread_id))["status"]
    memories = await alice.store.search_items(["memories", "alice"], query="cat", limit=5)
    seen["memories"] = sorted(item["value"]["text"] for item in memories["items"])
    history = await alice.threads.get_history(thread_id, limit=1)
    seen["checkpoint metadata keys"] = sorted(history[0]["metadata"])
    async with get_client(url=url, headers=BOB) as bob:
        seen["other user reads the thread"] = await _status(bob.threads.get(thread_id))
    return seen


async def _status(call: Any) -> int:
    try:
        await call
    except httpx.HTTPStatusError as exc:
        return exc.response.status_code
    return 200


async def _interrupt_and_resume(alice: LangGraphClient) -> Observations:
    seen: Observations = {}
    for modes in (["values"], ["messages-tuple"], ["updates"], ["events"]):
        asked = {"request": "leave"}
        thread_id = (await alice.threads.create())["thread_id"]
        events = [
            part.event
            async for part in alice.runs.stream(
                thread_id, "approval", input=asked, stream_mode=modes
            )
        ]
        seen[f"interrupt events {modes[0]}"] = events
    state = await alice.threads.get_state(thread_id)
    seen["interrupt state"] = {
        "next": state["next"],
        "interrupts": [i["value"] for i in state.get("interrupts", [])],
        "thread status": (await alice.threads.get(thread_id))["status"],
    }
    resumed = [
        (part.event, part.data if part.event == "values" else None)
        async for part in alice.runs.stream(
            thread_id, "approval", command={"resume": "yes"}, stream_mode=["values"]
        )
    ]
    seen["resume events"] = [event for event, _ in resumed]
    seen["resumed values"] = resumed[-1][1]
    return seen


async def _subgraph_events(alice: LangGraphClient) -> list[str]:
    """Event names, a subgraph's namespace without its task id (`updates|child`)."""
    names = []
    async for part in alice.runs.stream(
        None, "parent", input={"total": 1}, stream_mode=["updates"], stream_subgraphs=True
    ):
        mode, *namespace = part.event.split("|")
        names.append("|".join([mode, *(label.split(":")[0] for label in namespace)]))
    return names
