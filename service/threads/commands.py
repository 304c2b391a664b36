"""The commands of the thread-centric protocol (`POST /threads/{id}/commands`), carried out by
the same run manager as `POST /threads/{id}/runs`.

- `run.start` `{assistant_id, input, config?, metadata?, multitask_strategy?}`: a new run; the
  thread is created if it does not exist (the SDKs mint thread ids client-side). On a thread
  waiting at an interrupt, `input` is the resume value (`Command(resume=input)`), as on
  LangGraph Server. Answers `{run_id}`.
- `input.respond` `{interrupt_id, response}` or `{responses: [{interrupt_id, response}]}`
  (optionally `update`, `goto`, `config`, `metadata`): resumes the thread's interrupted run with
  `Command(resume={interrupt_id: response, ...})`, on the assistant of its latest run. Answers
  `{run_id}` of the resuming run.
- `run.cancel` `{run_id?, action?}` (threadloom's addition; LangGraph's SDKs cancel through
  `POST /threads/{id}/runs/{run_id}/cancel`): stops that run, or every unfinished run of the
  thread. Answers `{}`.

Runs started here stream `values`, `updates`, `messages-tuple` and `custom` with subgraphs,
which `service.threads.protocol_events` turns into the protocol's events.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from threadloom.service.auth.policy import authorize
from threadloom.service.errors import InvalidRequest, NotFound, describe_validation_errors
from threadloom.service.http.deps import Services
from threadloom.service.schemas.runs import RunCreate
from threadloom.service.schemas.thread_commands import (
    InputRespondParams,
    RunCancelParams,
    RunStartParams,
    ThreadCommand,
)
from threadloom.service.storage.records import RunStatus
from threadloom.service.threads.access import thread_for_caller

COMMANDS = ("run.start", "input.respond", "run.cancel")
_STREAM_MODES = ["values", "updates", "messages-tuple", "custom"]
_UNFINISHED: tuple[RunStatus, ...] = ("running", "pending")
P = TypeVar("P", bound=BaseModel)


async def run_command(services: Services, thread_id: str, command: ThreadCommand) -> dict[str, Any]:
    """Carry out `command` on the thread; its `result`. Raises the service's errors: 422 for an
    unknown method or bad params, 404 for a thread, run or interrupt that is not there."""
    if command.method == "run.start":
        return await _start(services, thread_id, _params(RunStartParams, command))
    if command.method == "input.respond":
        return await _respond(services, thread_id, _params(InputRespondParams, command))
    if command.method == "run.cancel":
        return await _cancel(services, thread_id, _params(RunCancelParams, command))
    raise InvalidRequest(f"Unknown command {command.method!r}: use one of {', '.join(COMMANDS)}.")


async def _start(services: Services, thread_id: str, params: RunStartParams) -> dict[str, Any]:
    # As on LangGraph Server, input given to a thread waiting at an interrupt resumes it.
    thread = await thread_for_caller(services.threads, thread_id)
    resumes = params.input is not None and thread is not None and bool(thread.interrupts)
    request = _run_request(
        assistant_id=params.assistant_id,
        input=None if resumes else params.input,
        command={"resume": params.input} if resumes else None,
        config=params.config,
        metadata=params.metadata,
        multitask_strategy=params.multitask_strategy,
        if_not_exists="create",
    )
    run = await services.run_manager.submit(thread_id, request)
    return {"run_id": run.run_id}


async def _respond(
    services: Services, thread_id: str, params: InputRespondParams
) -> dict[str, Any]:
    answers = params.answers()
    if not answers:
        raise InvalidRequest("input.respond needs an `interrupt_id` (or `responses`).")
    if await thread_for_caller(services.threads, thread_id) is None:
        raise NotFound(f"Thread with ID {thread_id} not found")
    # The interrupt reaches the client before its run has ended and left its interrupts on
    # the thread: wait for that.
    for record in await services.runs.list(thread_id, limit=100, offset=0, status="running"):
        await services.run_manager.wait_ended(thread_id, record.run_id)
    thread = await services.threads.get(thread_id)
    if thread is None:
        raise NotFound(f"Thread with ID {thread_id} not found")
    pending = {
        interrupt["id"]
        for interrupts in thread.interrupts.values()
        for interrupt in interrupts
        if isinstance(interrupt, dict) and "id" in interrupt
    }
    if missing := sorted(set(answers) - pending):
        raise NotFound(
            f"No pending interrupt {missing[0]!r} on thread {thread_id}: it was answered "
            "already, or never raised."
        )
    latest = await services.runs.list(thread_id, limit=1, offset=0)
    if not latest:
        raise NotFound(f"Thread {thread_id} has no run to resume.")
    command: dict[str, Any] = {"resume": answers}
    if params.update is not None:
        command["update"] = params.update
    if params.goto is not None:
        command["goto"] = params.goto
    request = _run_request(
        assistant_id=latest[0].assistant_id,
        command=command,
        config=params.config,
        metadata=params.metadata,
    )
    run = await services.run_manager.submit(thread_id, request)
    return {"run_id": run.run_id}


async def _cancel(services: Services, thread_id: str, params: RunCancelParams) -> dict[str, Any]:
    if await thread_for_caller(services.threads, thread_id, "update") is None:
        raise NotFound(f"Thread with ID {thread_id} not found")
    if params.run_id is not None:
        run_ids = [params.run_id]
    else:
        run_ids = [
            record.run_id
            for status in _UNFINISHED
            for record in await services.runs.list(thread_id, limit=100, offset=0, status=status)
        ]
        if not run_ids:
            raise NotFound(f"Thread {thread_id} has no pending or running run to cancel.")
    for run_id in run_ids:
        await authorize("threads", "update", {"thread_id": thread_id, "run_id": run_id})
        await services.run_manager.cancel(thread_id, run_id, action=params.action, wait=False)
    return {}


def _run_request(**fields: Any) -> RunCreate:
    return RunCreate.checked(
        **fields, stream_mode=_STREAM_MODES, stream_subgraphs=True, stream_resumable=True
    )


def _params(model: type[P], command: ThreadCommand) -> P:
    try:
        return model.model_validate(command.params)
    except ValidationError as exc:
        problems = describe_validation_errors(exc.errors())
        raise InvalidRequest(f"{command.method}: {problems}") from None
