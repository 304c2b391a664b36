"""Public LangGraph app shapes, written as their authors write them, served by threadloom and by
`langgraph dev` alike (tests/service/deployment/test_langgraph_parity.py).

- `chatbot` / `memory`: memory-template's shape: the chatbot answers from the store's memories
  and enqueues a `memory` run on its own thread through `get_client()` with no URL;
- `functional`: an `@entrypoint` with `@task`s;
- `approval`: an `interrupt()` resumed by a `Command`;
- `parent`: a subgraph inside a node;
- `fanout`: `Send` to the same node for each item;
- `greeter`: a `context_schema` (a dataclass) over a `typing.TypedDict` state.
"""

import operator
import typing
from dataclasses import dataclass
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableConfig
from langgraph.func import entrypoint, task
from langgraph.graph import START, StateGraph, add_messages
from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt
from langgraph_sdk import get_client
from typing_extensions import TypedDict


@dataclass
class UserContext:
    user_id: str = "anonymous"
    # How long the memory run waits after the chat turn (memory-template debounces it).
    memory_delay_s: int = 0


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


async def respond(state: ChatState, runtime: Runtime[UserContext]) -> dict[str, Any]:
    said = state["messages"][-1].content
    namespace = ("memories", runtime.context.user_id)
    memories = await runtime.store.asearch(namespace, query=said, limit=1)
    known = memories[0].value["text"] if memories else "nothing yet"
    return {"messages": [AIMessage(f"I remember: {known}")]}


async def schedule_memories(
    state: ChatState, config: RunnableConfig, runtime: Runtime[UserContext]
) -> dict[str, Any]:
    client = get_client()  # this server, in process
    await client.runs.create(
        config["configurable"]["thread_id"],
        "memory",
        input={"note": state["messages"][-2].content},
        context={"user_id": runtime.context.user_id},
        multitask_strategy="enqueue",
        after_seconds=runtime.context.memory_delay_s,
    )
    return {}


_chat = StateGraph(ChatState, context_schema=UserContext)
_chat.add_node("respond", respond)
_chat.add_node("schedule_memories", schedule_memories)
_chat.add_edge(START, "respond")
_chat.add_edge("respond", "schedule_memories")
chatbot = _chat.compile()


class MemoryState(TypedDict, total=False):
    note: str
    saved: int


async def remember(state: MemoryState, runtime: Runtime[UserContext]) -> dict[str, Any]:
    namespace = ("memories", runtime.context.user_id)
    saved = len(await runtime.store.asearch(namespace, limit=100))
    await runtime.store.aput(namespace, f"memory-{saved}", {"text": state["note"]})
    return {"saved": saved + 1}


_memory = StateGraph(MemoryState, context_schema=UserContext)
_memory.add_node("remember", remember)
_memory.add_edge(START, "remember")
memory = _memory.compile()


@task
def square(number: int) -> int:
    return number * number


@entrypoint()
def functional(inputs: dict) -> dict:
    squares = [square(number) for number in inputs["numbers"]]
    return {"squares": [future.result() for future in squares]}


class ApprovalState(TypedDict, total=False):
    request: str
    decision: str


def ask(state: ApprovalState) -> dict[str, Any]:
    return {"decision": interrupt({"question": f"approve {state['request']}?"})}


_approval = StateGraph(ApprovalState)
_approval.add_node("ask", ask)
_approval.add_edge(START, "ask")
approval = _approval.compile()


class Numbers(TypedDict):
    total: int


_child = StateGraph(Numbers)
_child.add_node("double", lambda state: {"total": state["total"] * 2})
_child.add_edge(START, "double")

_parent = StateGraph(Numbers)
_parent.add_node("increment", lambda state: {"total": state["total"] + 1})
_parent.add_node("child", _child.compile())
_parent.add_edge(START, "increment")
_parent.add_edge("increment", "child")
parent = _parent.compile()


class FanState(TypedDict, total=False):
    words: list[str]
    shouted: Annotated[list[str], operator.add]


def spread(state: FanState) -> list[Send]:
    return [Send("shout", {"word": word}) for word in state["words"]]


def shout(item: dict) -> dict[str, Any]:
    return {"shouted": [item["word"].upper()]}


_fanout = StateGraph(FanState)
_fanout.add_node("shout", shout)
_fanout.add_conditional_edges(START, spread, ["shout"])
fanout = _fanout.compile()


@dataclass
class Greeting:
    greeting: str = "hello"
    punctuation: str = "!"


class GreeterState(typing.TypedDict):  # typing's, which pydantic cannot describe before 3.12
    name: str
    text: str


def greet(state: GreeterState, runtime: Runtime[Greeting]) -> dict[str, Any]:
    context = runtime.context
    return {"text": f"{context.greeting}, {state['name']}{context.punctuation}"}


_greeter = StateGraph(GreeterState, context_schema=Greeting)
_greeter.add_node("greet", greet)
_greeter.add_edge(START, "greet")
greeter = _greeter.compile()
