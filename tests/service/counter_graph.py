"""A graph that is not a chat agent, for the SDK contract (`sdk_contract.COUNTER_CHECKS`): a
running total kept in a custom state, with custom stream events, the store, and an interrupt.

Input `{"added": [numbers]}` appends the numbers; node `add` sums them into `total` (and writes
`{"total": ...}` to the `custom` stream); node `review` asks a human (an interrupt) whether to
keep a total over `LIMIT` and records the answer in `verdict`; node `remember` files the total
in the store under ("counters", thread id). Adding `HANG` makes `add` wait until the run is
cancelled.

It imports nothing but LangGraph, so that `langgraph dev` loads it by path and the sample app of
`tests/service/deployment/test_user_app.py` carries a copy of it.
"""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_store, get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict

HANG = 999
LIMIT = 100


class CounterState(TypedDict, total=False):
    added: Annotated[list[int], operator.add]
    total: int
    verdict: str


async def add(state: CounterState) -> dict[str, Any]:
    added = state.get("added", [])
    if added and added[-1] == HANG:
        await asyncio.Event().wait()  # until the run is cancelled
    total = sum(added)
    get_stream_writer()({"total": total})
    return {"total": total}


def review(state: CounterState) -> dict[str, Any]:
    total = state["total"]
    if total <= LIMIT:
        return {"verdict": "ok"}
    answer = interrupt({"total": total, "question": f"Keep a total over {LIMIT}?"})
    return {"verdict": "kept" if answer == "keep" else "dropped"}


async def remember(state: CounterState, config: RunnableConfig) -> dict[str, Any]:
    thread_id = config["configurable"]["thread_id"]
    await get_store().aput(("counters",), thread_id, {"total": state["total"]})
    return {}


def build_counter() -> StateGraph:
    builder = StateGraph(CounterState)
    builder.add_node("add", add)
    builder.add_node("review", review)
    builder.add_node("remember", remember)
    builder.add_edge(START, "add")
    builder.add_edge("add", "review")
    builder.add_edge("review", "remember")
    builder.add_edge("remember", END)
    return builder


graph = build_counter().compile()
