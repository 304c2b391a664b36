"""Following a thread: the events of its runs, one run after another, as they come.

`GET /threads/{id}/stream` (`client.threads.join_stream`) sends the events of the thread's runs
in the order the runs were created: of the run going on when the client joins, those from then
on; of every run created later, all. After each run's events comes a `metadata` event
`{"status": "run_done", "run_id": ...}`. The stream goes on until the client leaves or the
thread is deleted.

Each event's id is `<run_id>:<n>` (the run's `n`th event, as in its own stream) or
`<run_id>:done`. Sent back as `Last-Event-ID`, it resumes after that event: the rest of that
run, then every run created after it, as far as the event log still holds them
(`EVENT_LOG_RETENTION_S`); `-` replays every run of the thread. An id of a run that no longer
exists resumes from now.

Modes (`stream_mode`, or `stream_modes` as `langgraph dev` reads it): `run_modes` (the runs'
events; the default), `lifecycle` (each run's first `metadata` event, which names the run, and
its `run_done`), `state_update` (accepted; no such events are sent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from sse_starlette import EventSourceResponse

from threadloom.service.errors import InvalidRequest
from threadloom.service.http.json_codec import dumps, loads
from threadloom.service.http.run_responses import REPLAY_ALL, Run
from threadloom.service.http.sse import for_at_most, frame, sse_response
from threadloom.service.runs.events import RunEvent
from threadloom.service.storage.records import RunRecord
from threadloom.service.storage.runs import Runs
from threadloom.service.threads.watch import ThreadWatches

ThreadStreamMode = Literal["run_modes", "lifecycle", "state_update"]
_DONE = "done"
# How many of a thread's runs one look for new runs reads at a time.
_PAGE = 100

RunKey = tuple[datetime, str]
_BEFORE_ALL: RunKey = (datetime.min.replace(tzinfo=UTC), "")
FindRun = Callable[[str, str], Awaitable[Run | None]]


def parse_thread_stream_modes(values: Iterable[str]) -> frozenset[str]:
    """The modes asked for (each value one mode, or several separated by commas); `run_modes`
    when none. Raises `InvalidRequest` for an unknown mode."""
    modes = frozenset(m.strip() for value in values for m in value.split(",") if m.strip())
    allowed = get_args(ThreadStreamMode)
    if unknown := sorted(modes - set(allowed)):
        raise InvalidRequest(
            f"Invalid stream mode {unknown[0]!r} for a thread stream; use one of "
            f"{', '.join(allowed)}."
        )
    return modes or frozenset({"run_modes"})


@dataclass(frozen=True, slots=True)
class _Start:
    """Follow run `run_id` from its event number `index` (None: from its next new event)."""

    run_id: str
    index: int | None


class ThreadStream:
    """One client's view of a thread's runs; `open` it before answering, then stream `events`."""

    def __init__(
        self,
        thread_id: str,
        *,
        runs: Runs,
        find_run: FindRun,
        modes: frozenset[str],
        watches: ThreadWatches,
    ) -> None:
        self._thread_id = thread_id
        self._runs = runs
        self._find_run = find_run
        self._modes = modes
        self._watches = watches
        self._pending: list[_Start] = []
        self._latest: RunKey = _BEFORE_ALL

    async def open(self, last_event_id: str | None) -> None:
        """Fix where the stream starts, now (see the module's doc). Raises `InvalidRequest` for
        a `Last-Event-ID` that is not one of this stream's ids."""
        if last_event_id == REPLAY_ALL:
            return
        if last_event_id is not None:
            run_id, after = _parse_event_id(last_event_id)
            record = await self._runs.get(self._thread_id, run_id)
            if record is not None:
                self._latest = _key(record)
                if after is not None:
                    self._pending = [_Start(run_id, after + 1)]
                return
        newest = await self._runs.list(self._thread_id, limit=1, offset=0)
        self._latest = _key(newest[0]) if newest else _BEFORE_ALL
        unfinished = [
            record
            for status in ("running", "pending")
            for record in await self._runs.list(
                self._thread_id, limit=_PAGE, offset=0, status=status
            )
        ]
        self._pending = [
            _Start(record.run_id, None if record.status == "running" else 0)
            for record in sorted(unfinished, key=_key)
        ]

    async def events(self) -> AsyncIterator[tuple[str, RunEvent]]:
        """`(event id, event)` of each run in turn, waiting for new runs, until the thread is
        deleted."""
        with self._watches.follow(self._thread_id) as watch:
            while True:
                for start in self._pending:
                    async for item in self._run_events(start):
                        yield item
                newer = await self._created_after(self._latest)
                self._pending = [_Start(record.run_id, 0) for record in newer]
                if newer:
                    self._latest = _key(newer[-1])
                elif watch.gone:
                    return
                else:
                    await watch.changed()

    async def _run_events(self, start: _Start) -> AsyncIterator[tuple[str, RunEvent]]:
        run = await self._find_run(self._thread_id, start.run_id)
        if run is None:  # deleted since
            return
        async for index, event in run.log.follow(start.index):
            if self._wanted(event):
                yield f"{start.run_id}:{index}", event
        if {"run_modes", "lifecycle"} & self._modes:
            done = {"status": "run_done", "run_id": start.run_id}
            yield f"{start.run_id}:{_DONE}", RunEvent("metadata", dumps(done))

    def _wanted(self, event: RunEvent) -> bool:
        if "run_modes" in self._modes:
            return True
        if "lifecycle" not in self._modes or event.name != "metadata":
            return False
        data = loads(event.data)
        return isinstance(data, dict) and "run_id" in data and "attempt" in data

    async def _created_after(self, key: RunKey) -> list[RunRecord]:
        """The thread's runs created after the run with `key`, oldest first."""
        newer: list[RunRecord] = []
        offset = 0
        while True:  # newest first, until the runs reach `key`
            page = await self._runs.list(self._thread_id, limit=_PAGE, offset=offset)
            newer += [record for record in page if _key(record) > key]
            if len(page) < _PAGE or _key(page[-1]) <= key:
                return sorted(newer, key=_key)
            offset += _PAGE


def thread_stream_response(
    stream: ThreadStream, *, heartbeat_s: float, max_s: float | None = None
) -> EventSourceResponse:
    """The stream's events as SSE frames, each with its id, and heartbeat comments; for at
    most `max_s` seconds if given."""

    async def frames() -> AsyncIterator[bytes]:
        async for event_id, event in stream.events():
            yield frame(event, event_id)

    return sse_response(for_at_most(frames(), max_s), heartbeat_s=heartbeat_s)


def _key(record: RunRecord) -> RunKey:
    return record.created_at, record.run_id


def _parse_event_id(value: str) -> tuple[str, int | None]:
    """`(run_id, n)` of an id `<run_id>:<n>`, `(run_id, None)` of `<run_id>:done`."""
    run_id, _, index = value.rpartition(":")
    if run_id and index == _DONE:
        return run_id, None
    if run_id and index.isdigit():
        return run_id, int(index)
    raise InvalidRequest(
        f"Invalid Last-Event-ID {value!r}: use the id of the last event received, or "
        f"{REPLAY_ALL!r} to replay the thread's runs from the start."
    )
