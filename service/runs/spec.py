"""A validated run request turned into what `graph.astream` needs: input, config, options.

The assistant's configuration comes first and the request's on top of it, as LangGraph Server
merges them: `configurable` (or the newer name, `context`) carries the system prompt, tools
and approvals that the graph reads (see `graphs.run_options`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, Send
from langgraph.version import __version__ as langgraph_version

from threadloom.service.auth.policy import USER_KEY, auth_configurable, graph_user
from threadloom.service.errors import BadRequest
from threadloom.service.schemas.runs import RunCommand, RunCreate
from threadloom.service.storage.assistants import Assistant


@dataclass(frozen=True, slots=True)
class RunSpec:
    """Everything needed to execute one run; built once when the run is admitted."""

    run_id: str
    thread_id: str
    assistant: Assistant
    request: RunCreate
    # The run's own thread, deleted when the run ends (a stateless run).
    temporary: bool = False
    # Merged from the assistant's, the thread's and the request's metadata.
    metadata: dict[str, Any] = field(default_factory=dict)
    # 2 and up when a run a stopped server left is run again.
    attempt: int = 1
    # Rebuilt from a stored run (recovery), whose request was checked when it was admitted.
    recovered: bool = False
    # Which admission (or recovery) made this spec, as LangGraph Server ids its requests.
    request_id: str = field(default_factory=lambda: str(uuid4()))

    def __post_init__(self) -> None:
        configurable = (self.request.config or {}).get("configurable")
        # A run a stopped server left is run again from its record, which keeps both.
        if configurable and self.request.context and not self.recovered:
            raise BadRequest(
                "Cannot specify both configurable and context. Prefer setting context alone. "
                "Context was introduced in LangGraph 0.6.0 and is the long term planned "
                "replacement for configurable."
            )

    def graph_input(self) -> Any:
        command = self.request.command
        return _command(command) if command is not None else self.request.input

    def configurable(self) -> dict[str, Any]:
        """The assistant's configurable, the request's over it, then the run's ids and the
        auth policy's user (which no request can set for itself)."""
        request = self.request
        asked = {**((request.config or {}).get("configurable") or {}), **(request.context or {})}
        configurable = {
            **(self.assistant.config.get("configurable") or {}),
            **asked,
            **(request.checkpoint or {}),
            **auth_configurable(),
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "graph_id": self.assistant.graph_id,
            "assistant_id": self.assistant.assistant_id,
        }
        if request.checkpoint_id:
            configurable["checkpoint_id"] = request.checkpoint_id
        return configurable

    def context(self) -> dict[str, Any]:
        return {**self.assistant.context, **(self.request.context or {})}

    def config(self) -> RunnableConfig:
        """The assistant's config with the request's over it, and this run's ids added."""
        merged = {**self.assistant.config, **(self.request.config or {})}
        # The keys LangGraph Server writes into every checkpoint's metadata, which apps and
        # tracing read back (not `langgraph_api_version` / `langgraph_api_url`: see
        # docs/langgraph-parity.md).
        metadata = {
            **(merged.get("metadata") or {}),
            **self.metadata,
            "thread_id": self.thread_id,
            "run_attempt": self.attempt,
            "langgraph_version": langgraph_version,
            "langgraph_host": "self-hosted",
            "langgraph_plan": "developer",
            "langgraph_request_id": self.request_id,
        }
        configurable = self.configurable()
        if USER_KEY in configurable:
            configurable[USER_KEY] = graph_user(configurable[USER_KEY])
        return RunnableConfig(
            **{
                **merged,
                "configurable": configurable,
                "metadata": metadata,
                "run_id": UUID(self.run_id),
            }
        )

    def stream_options(self) -> dict[str, Any]:
        """Keyword arguments of `astream` / `astream_events` besides input, config and modes."""
        request = self.request
        options: dict[str, Any] = {
            "subgraphs": request.stream_subgraphs,
            "interrupt_before": request.interrupt_before,
            "interrupt_after": request.interrupt_after,
            "durability": self.durability(),
        }
        if context := self.context():
            options["context"] = context
        return options

    def durability(self) -> str:
        if self.request.durability is not None:
            return self.request.durability
        return "exit" if self.request.checkpoint_during is False else "async"

    def record_kwargs(self) -> dict[str, Any]:
        """The run's request as `GET /threads/{t}/runs/{r}` shows it (LangGraph Server's shape);
        `RunCreate.from_kwargs` reads it back to run it again."""
        request = self.request
        config = self.config()
        return {
            "input": request.input,
            "command": request.command.model_dump(exclude_unset=True) if request.command else None,
            "config": {
                **{key: value for key, value in config.items() if key != "run_id"},
                "configurable": self.configurable(),
            },
            "context": self.context(),
            "stream_mode": request.stream_mode,
            "interrupt_before": request.interrupt_before,
            "interrupt_after": request.interrupt_after,
            "webhook": request.webhook,
            "feedback_keys": request.feedback_keys,
            "temporary": self.temporary,
            "subgraphs": request.stream_subgraphs,
            "resumable": request.stream_resumable,
            "checkpoint_during": request.checkpoint_during is not False,
            "durability": self.durability(),
        }


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
