"""Watching threads for new runs: one watcher per thread, however many streams follow it.

A thread stream (`service.thread_stream`) that has sent every run so far waits for the thread's
next run, or for the thread to be deleted. Each stream used to poll the database for that on
its own, every `poll_interval_s`: two statements and a timer on the event loop per stream per
second, which at ~6,500 open streams was all the loop did (issue 11, goal 5). Streams of one
thread now share a `ThreadWatch`: one task polls (and wakes at once when this replica admits a
run on the thread) and tells the followers when the thread's newest run changes or the thread
is gone; only then does each follower read what is new for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from threadloom.service.storage.runs import Runs
from threadloom.service.storage.threads import Threads
from threadloom.service.storage.wakeups import Subscription

logger = logging.getLogger(__name__)

Admissions = Callable[[str], AbstractContextManager[Subscription]]
# The newest run before the first look: unlike any run, so the first look tells the followers
# to read (a run may have come between their own read and the watcher's first).
_UNREAD = object()


class ThreadWatchFailed(RuntimeError):
    """The database could not be read while watching a thread; the streams following it end."""


class ThreadWatch:
    """What the followers of one thread see: a count of changes, and whether the thread is gone.

    A follower notes `changes`, reads the database, and if it found nothing new waits with
    `changed(noted)`: a change seen by the watcher after the note is never missed.
    """

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self.changes = 0
        self.gone = False
        self.followers = 0
        self.task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._error: Exception | None = None

    async def changed(self, seen: int) -> None:
        """Return once `changes` is past `seen`. Raises `ThreadWatchFailed` if the watcher
        could not read the database."""
        while self.changes == seen and self._error is None:
            await self._changed.wait()
        if self._error is not None:
            raise ThreadWatchFailed(f"Watching thread {self.thread_id} failed.") from self._error

    def _notify(self, *, gone: bool = False) -> None:
        self.gone = gone
        self.changes += 1
        # Set, then replaced: every waiter of this change wakes, later ones wait for the next.
        self._changed.set()
        self._changed = asyncio.Event()

    def _fail(self, error: Exception) -> None:
        self._error = error
        self._changed.set()


class ThreadWatches:
    """The watches of the threads this process's streams follow, each polled by one task while
    any stream follows its thread."""

    def __init__(self, threads: Threads, runs: Runs, admissions: Admissions) -> None:
        self._threads = threads
        self._runs = runs
        self._admissions = admissions
        self._watches: dict[str, ThreadWatch] = {}

    @contextmanager
    def follow(self, thread_id: str) -> Iterator[ThreadWatch]:
        """The thread's watch while the `with` block lasts; the last follower out stops it."""
        watch = self._watches.get(thread_id)
        if watch is None:
            watch = self._watches[thread_id] = ThreadWatch(thread_id)
            watch.task = asyncio.create_task(self._watch(watch), name=f"watch {thread_id}")
        watch.followers += 1
        try:
            yield watch
        finally:
            watch.followers -= 1
            if not watch.followers:
                self._forget(watch)
                if watch.task is not None:
                    watch.task.cancel()

    async def _watch(self, watch: ThreadWatch) -> None:
        thread_id = watch.thread_id
        newest: object = _UNREAD
        try:
            # Subscribed before each look, so an admission during the look still wakes it.
            with self._admissions(thread_id) as admitted:
                while True:
                    page = await self._runs.list(thread_id, limit=1, offset=0)
                    latest = (page[0].created_at, page[0].run_id) if page else None
                    if await self._threads.get(thread_id) is None:
                        self._forget(watch)  # a thread made again under this id: a new watch
                        watch._notify(gone=True)
                        return
                    if latest != newest:
                        newest = latest
                        watch._notify()
                    await admitted.wait()
        except Exception as error:
            logger.exception("watching a thread failed thread_id=%s", thread_id)
            self._forget(watch)
            watch._fail(error)

    def _forget(self, watch: ThreadWatch) -> None:
        if self._watches.get(watch.thread_id) is watch:
            del self._watches[watch.thread_id]
