"""Bodies of the thread-centric protocol routes (`POST /threads/{id}/commands` and
`POST /threads/{id}/stream/events`), as `client.threads.stream()` of the LangGraph SDKs sends
them: a command `{id, method, params}`, and the filter of an event stream."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from threadloom.service.storage.records import MultitaskStrategy

# The channels a client may ask for; `custom:<name>` narrows `custom` to one name.
CHANNELS = (
    "values",
    "updates",
    "messages",
    "tools",
    "custom",
    "lifecycle",
    "input",
    "tasks",
    "checkpoints",
)


class ThreadCommand(BaseModel):
    """One command; the answer echoes its `id`."""

    model_config = ConfigDict(extra="ignore")

    id: int = Field(ge=0, description="Chosen by the client; echoed in the answer.")
    method: str = Field(description="`run.start`, `input.respond` or `run.cancel`.")
    params: dict[str, Any] = Field(default_factory=dict)


class RunStartParams(BaseModel):
    """`run.start`: a new run of `assistant_id` on the thread (created if it does not exist)."""

    model_config = ConfigDict(extra="ignore")

    assistant_id: str = Field(min_length=1)
    input: Any = None
    config: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    multitask_strategy: MultitaskStrategy = "enqueue"


class InterruptResponse(BaseModel):
    """The answer to one pending interrupt."""

    model_config = ConfigDict(extra="ignore")

    interrupt_id: str = Field(min_length=1)
    response: Any = None
    namespace: list[str] = Field(default_factory=list)


class InputRespondParams(BaseModel):
    """`input.respond`: resume the thread's interrupted run, answering one interrupt
    (`interrupt_id`, `response`) or several (`responses`)."""

    model_config = ConfigDict(extra="ignore")

    interrupt_id: str | None = None
    response: Any = None
    namespace: list[str] = Field(default_factory=list)
    responses: list[InterruptResponse] | None = Field(None, min_length=1)
    update: dict[str, Any] | list[Any] | None = None
    goto: Any = None
    config: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    def answers(self) -> dict[str, Any]:
        """`{interrupt_id: response}` of every interrupt answered; empty if none is named."""
        if self.responses is not None:
            return {entry.interrupt_id: entry.response for entry in self.responses}
        return {self.interrupt_id: self.response} if self.interrupt_id else {}


class RunCancelParams(BaseModel):
    """`run.cancel` (threadloom's addition): stop the run `run_id`, or every pending or running
    run of the thread."""

    model_config = ConfigDict(extra="ignore")

    run_id: str | None = None
    action: Literal["interrupt", "rollback"] = "interrupt"


class CommandSuccess(BaseModel):
    """The answer to a command that succeeded (an error answers with its HTTP status and
    `detail`)."""

    type: Literal["success"] = "success"
    id: int
    result: dict[str, Any] = Field(
        description="`{run_id}` for `run.start` and `input.respond`; `{}` for `run.cancel`."
    )


class EventStreamRequest(BaseModel):
    """Which of the thread's events to stream, and from where."""

    model_config = ConfigDict(extra="ignore")

    channels: list[str] = Field(min_length=1, description=f"Any of {', '.join(CHANNELS)}.")
    namespaces: list[list[str]] | None = Field(
        None, description="Only events whose namespace starts with one of these."
    )
    depth: int | None = Field(None, ge=0, description="How far below those namespaces.")
    since: int | None = Field(
        None, ge=0, description="Replay only the events after this `seq` (the last one seen)."
    )

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, channels: list[str]) -> list[str]:
        unknown = [c for c in channels if c not in CHANNELS and not c.startswith("custom:")]
        if unknown:
            raise ValueError(
                f"Unknown channel {unknown[0]!r}; use any of {', '.join(CHANNELS)} or "
                "`custom:<name>`."
            )
        return channels
