"""Body of the run routes (`/threads/{id}/runs`, `/stream`, `/wait`, and the stateless `/runs`
routes): the LangGraph run request."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from threadloom.service.errors import InvalidRequest, describe_validation_errors
from threadloom.service.schemas.bounds import (
    AfterSeconds,
    Ids,
    Metadata,
    RunConfig,
    bound_messages,
)
from threadloom.service.storage.records import MultitaskStrategy, RunRecord

STREAM_MODES = (
    "values",
    "updates",
    "messages",
    "messages-tuple",
    "custom",
    "debug",
    "events",
    "tasks",
    "checkpoints",
)
DEFAULT_STREAM_MODES = ["values"]
# Request fields a run's stored kwargs keep under their own names.
_STORED_AS_IS = (
    "input",
    "command",
    "config",  # its configurable holds the context too
    "context",  # for graphs with a context_schema, which read it from the runtime
    "stream_mode",
    "interrupt_before",
    "interrupt_after",
    "webhook",
    "feedback_keys",
    "durability",
)


class RunSend(BaseModel):
    """Run `node` with `input` (LangGraph's `Send`)."""

    model_config = ConfigDict(extra="forbid")

    node: str
    input: Any = None


class RunCommand(BaseModel):
    """What to do instead of new input: resume an interrupt, update the state, go to a node."""

    model_config = ConfigDict(extra="forbid")

    update: Annotated[dict[str, Any] | list[Any] | None, AfterValidator(bound_messages)] = None
    resume: Any = None
    goto: str | RunSend | list[str | RunSend] | None = None


class RunCreate(BaseModel):
    """A run on a thread, as the `langgraph_sdk` client sends it."""

    # Unknown fields are ignored so that newer clients keep working against this server.
    model_config = ConfigDict(extra="ignore")

    assistant_id: str = Field(description="The graph name (`agent`) or its assistant UUID.")
    input: Annotated[dict[str, Any] | list[Any] | None, AfterValidator(bound_messages)] = None
    command: RunCommand | None = None
    stream_mode: list[str] = Field(default_factory=lambda: list(DEFAULT_STREAM_MODES))
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    config: RunConfig | None = None
    context: dict[str, Any] | None = None
    metadata: Metadata | None = None
    checkpoint: dict[str, Any] | None = None
    checkpoint_id: str | None = None
    checkpoint_during: bool | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    multitask_strategy: MultitaskStrategy = "enqueue"
    if_not_exists: Literal["reject", "create"] = "reject"
    on_disconnect: Literal["cancel", "continue"] = "continue"
    on_completion: Literal["delete", "keep"] | None = None
    after_seconds: AfterSeconds | None = None
    webhook: str | None = None
    feedback_keys: list[str] | None = None
    durability: Literal["sync", "async", "exit"] | None = None

    @classmethod
    def checked(cls, **fields: Any) -> RunCreate:
        """A run request a front builds from what its client sent (a message list, a text
        part): `InvalidRequest` (422) naming each problem, such as a bound, if it is invalid."""
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            raise InvalidRequest(describe_validation_errors(exc.errors())) from None

    @classmethod
    def from_record(cls, record: RunRecord) -> RunCreate:
        """The request of a stored run, from its `kwargs` (see `RunSpec.record_kwargs`)."""
        kwargs = record.kwargs
        return cls.model_validate(
            {
                "assistant_id": record.assistant_id,
                "metadata": record.metadata,
                "multitask_strategy": record.multitask_strategy,
                "stream_subgraphs": kwargs.get("subgraphs", False),
                "stream_resumable": kwargs.get("resumable", False),
                **{key: kwargs.get(key) for key in _STORED_AS_IS},
            }
        )

    @field_validator("stream_mode", mode="before")
    @classmethod
    def _known_stream_modes(cls, value: object) -> object:
        if value is None:
            return list(DEFAULT_STREAM_MODES)
        modes = [value] if isinstance(value, str) else value
        if not isinstance(modes, list):
            return modes  # the list[str] type reports it
        unknown = [mode for mode in modes if mode not in STREAM_MODES]
        if unknown:
            raise ValueError(
                f"Unknown stream mode {', '.join(map(repr, unknown))}. "
                f"Use one or a list of: {', '.join(STREAM_MODES)}."
            )
        return list(dict.fromkeys(modes))

    @field_validator("multitask_strategy", "if_not_exists", "on_disconnect", mode="before")
    @classmethod
    def _null_means_default(cls, value: object, info: ValidationInfo) -> object:
        # The SDK drops None fields, but other clients send explicit nulls for "default".
        return cls.model_fields[info.field_name].default if value is None else value

    @field_validator("checkpoint_id")
    @classmethod
    def _checkpoint_id_is_a_uuid(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                UUID(value)
            except ValueError:
                raise ValueError(
                    f"Invalid checkpoint ID {value!r}: use the checkpoint_id of a state in the "
                    "thread's history."
                ) from None
        return value

    @model_validator(mode="after")
    def _input_or_command(self) -> RunCreate:
        if self.input is not None and self.command is not None:
            raise ValueError("Send either input or command, not both.")
        return self


class RunsCancel(BaseModel):
    """`POST /runs/cancel`: the runs `run_ids` of thread `thread_id`, or every run with `status`
    (`all`: pending and running)."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["pending", "running", "all"] | None = None
    thread_id: str | None = None
    run_ids: Ids | None = None

    @model_validator(mode="after")
    def _runs_or_status(self) -> RunsCancel:
        if (self.status is None) == (self.thread_id is None or self.run_ids is None):
            raise ValueError('Send either "status", or "thread_id" with "run_ids".')
        for value in [self.thread_id or "", *(self.run_ids or [])]:
            if value:
                try:
                    UUID(value)
                except ValueError:
                    raise ValueError(f"Invalid ID {value!r}: must be a UUID.") from None
        return self
