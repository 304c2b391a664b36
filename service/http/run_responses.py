"""How a run is answered over HTTP: its event stream, or its result once it ends.

Shared by the thread-bound run routes and the stateless ones; a run here is one this process
executes (`ActiveRun`) or one it follows through the database (`RemoteRun`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from starlette.responses import StreamingResponse

from threadloom.service.errors import InvalidRequest
from threadloom.service.http.sse import (
    EventStream,
    event_stream_response,
    frame,
    run_result_response,
)
from threadloom.service.runs.events import EventLog
from threadloom.service.runs.manager import ActiveRun
from threadloom.service.runs.stored_run import RemoteRun
from threadloom.service.runs.stream_modes import joined

Run = ActiveRun | RemoteRun
# The `Last-Event-ID` that asks for every event from the start.
REPLAY_ALL = "-"


def thread_run_path(run: Run) -> str:
    return f"/threads/{run.thread_id}/runs/{run.run_id}"


def stream_response(
    run: Run,
    *,
    heartbeat_s: float,
    resumable: bool,
    cancel_on_disconnect: bool,
    path: str | None = None,
    start: int | None = 0,
    modes: Iterable[str] = (),
    max_s: float | None = None,
) -> EventStream:
    """The run's events from number `start` (None: from the next one) as SSE, only those of
    `modes` if given; a client that leaves cancels the run if it asked to."""
    return event_stream_response(
        _frames(run, start, tuple(modes), resumable),
        run_path=path or thread_run_path(run),
        heartbeat_s=heartbeat_s,
        on_disconnect=run.cancel if cancel_on_disconnect else None,
        max_s=max_s,
    )


async def _frames(
    run: Run, start: int | None, modes: tuple[str, ...], resumable: bool
) -> AsyncIterator[bytes]:
    """The run's events as SSE frames: all that came since the last look as one chunk, so that
    a stream costs one write per loop tick however many events the run made meanwhile."""
    log = run.log
    if not isinstance(log, EventLog):  # followed through the database: one event at a time
        async for index, event in log.follow(start):
            if not modes or joined(event.name, modes):
                yield frame(event, index if resumable else None)
        return
    # Only events already stored are sent (`visible`), so an id a client saw is never reused.
    index = log.visible if start is None else max(start, 0)
    while True:
        events = log.visible_since(index)
        if events:
            frames = [
                frame(event, number if resumable else None)
                for number, event in enumerate(events, index)
                if not modes or joined(event.name, modes)
            ]
            index += len(events)
            if frames:
                yield b"".join(frames)
            continue
        if log.read_to_end(index):
            return
        # No await between reading and taking the signal, so no append is missed.
        await log.changed()


def result_response(
    run: Run, *, heartbeat_s: float, cancel_on_disconnect: bool
) -> StreamingResponse:
    """The run's final values (or `__error__` / `__interrupt__`) once it ends."""

    async def result() -> Any:
        return (await run.outcome()).result

    return run_result_response(
        result(),
        run_path=thread_run_path(run),
        heartbeat_s=heartbeat_s,
        on_disconnect=run.cancel if cancel_on_disconnect else None,
    )


_INT64 = 2**63 - 1
_EVENT_ID_DIGITS = 19


def after_event(last_event_id: str) -> int:
    """The number of the first event to replay after the `Last-Event-ID` a client sends;
    `-` (what the JavaScript SDK sends to rejoin from the start) replays them all."""
    if last_event_id == REPLAY_ALL:
        return 0
    # Event ids are stored as 64-bit integers: a longer number is no id this server sent.
    number = last_event_id.strip().removeprefix("-")
    if not number.isdigit() or len(number) > _EVENT_ID_DIGITS or int(number) >= _INT64:
        raise InvalidRequest(
            f"Invalid Last-Event-ID {last_event_id[:40]!r}: use the id of the last event received."
        )
    return int(last_event_id) + 1
