"""A validated run request turned into what `graph.astream` needs: input, config, options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, Send
from langgraph.version import __version__ as langgraph_version

from service.assistants import Assistant
from service.schemas.runs import RunCommand, RunCreate


@dataclass(frozen=True, slots=True)
class RunSpec:
    """Everything needed to execute one run; built once when the run is admitted."""

    run_id: str
    thread_id: str
    assistant: Assistant
    request: RunCreate

    def graph_input(self) -> Any:
        command = self.request.command
        return _command(command) if command is not None else self.request.input

    def config(self) -> RunnableConfig:
        """The request's config with the ids of this run, thread and assistant added."""
        request = self.request
        config = dict(request.config or {})
        configurable = {
            **(config.get("configurable") or {}),
            **(request.checkpoint or {}),
            "thread_id": self.thread_id,
            "run_id": self.run_id,
            "graph_id": self.assistant.graph_id,
            "assistant_id": self.assistant.assistant_id,
        }
        if request.checkpoint_id:
            configurable["checkpoint_id"] = request.checkpoint_id
        metadata = {
            **(config.get("metadata") or {}),
            **(request.metadata or {}),
            "graph_id": self.assistant.graph_id,
            "assistant_id": self.assistant.assistant_id,
            "run_attempt": 1,
            "langgraph_version": langgraph_version,
        }
        return RunnableConfig(
            **{
                **config,
                "configurable": configurable,
                "metadata": metadata,
                "run_id": UUID(self.run_id),
            }
        )

    def stream_options(self) -> dict[str, Any]:
        """Keyword arguments of `astream` / `astream_events` besides input, config and modes."""
        request = self.request
        durability = request.durability
        if durability is None and request.checkpoint_during is False:
            durability = "exit"
        options: dict[str, Any] = {
            "subgraphs": request.stream_subgraphs,
            "interrupt_before": request.interrupt_before,
            "interrupt_after": request.interrupt_after,
        }
        if durability is not None:
            options["durability"] = durability
        if request.context is not None:
            options["context"] = request.context
        return options

    def record_kwargs(self) -> dict[str, Any]:
        """The request as stored with the run (for `GET /threads/{t}/runs/{r}`)."""
        return self.request.model_dump(mode="json", exclude_none=True)


def _command(command: RunCommand) -> Command:
    fields = command.model_dump(exclude_unset=True)
    if "goto" in fields:
        fields["goto"] = _goto(fields["goto"])
    return Command(**fields)


def _goto(goto: Any) -> Any:
    if isinstance(goto, list):
        return [_goto(item) for item in goto]
    if isinstance(goto, dict):
        return Send(goto["node"], goto.get("input"))
    return goto
