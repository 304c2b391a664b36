"""Watching threads for new runs: one poller for every thread this process's streams follow.

A thread stream (`service.threads.follow`) that has sent every run so far waits for the thread's
next run, or for the thread to be deleted. Each stream used to poll the database for that on
its own, every `poll_interval_s` (issue 11, goal 5), and then each followed thread had one
watcher task polling it: still two statements and a timer per thread per second, which at
~5,000 threads was all the event loop did. Now one task polls every watched thread at once
(`ThreadHeads`: one statement per 500 threads) and wakes the followers of the threads whose
newest run changed or that are gone; only then does each follower read what is new for it.

A follower's wake-up flag is its subscription to the thread's admissions (`RunQueue.admissions`),
so a run admitted by this replica wakes the thread's followers at once, without the poller and
without a task per thread; the poller wakes the same flags for what other replicas did.

Visibility: the poller reads every owner's threads (see `service.storage.thread_heads`). The
routes 404 a thread the caller may not see before its stream follows it, and the stream reads
the runs themselves as the caller; so a stream learns when to look from the poller, and what
it may see from its own reads.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from threadloom.service.storage.thread_heads import ThreadHeads
from threadloom.service.storage.wakeups import Subscription

logger = logging.getLogger(__name__)

Admissions = Callable[[str], AbstractContextManager[Subscription]]
# The newest run before the first look: unlike any run, so the first look wakes the followers
# (a run may have come between their own first read and the poller's first look).
_UNREAD = object()
# Followers are woken by the poller or an admission, not by a timer; this bound only keeps a
# wait from lasting forever (a follower woken for nothing reads once and waits again).
_FOLLOWER_WAIT_S = 3600.0


class ThreadWatchFailed(RuntimeError):
    """The database could not be read while watching a thread; the streams following it end."""


class ThreadWatch:
    """One watched thread: the newest run the poller saw, and its followers' wake-up flags."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self.newest: object = _UNREAD
        self.gone = False
        self.error: Exception | None = None
        self.followers: set[Subscription] = set()

    def notify(self) -> None:
        for woken in self.followers:
            woken.wake()

    def fail(self, error: Exception) -> None:
        self.error = error
        self.notify()


class Follower:
    """One stream's hold on its thread's watch.

    A follower reads the database, and if it found nothing new waits with `changed`: a change
    seen after it started following (by the poller, or a run admitted here) is never missed.
    """

    def __init__(self, watch: ThreadWatch, woken: Subscription) -> None:
        self._watch = watch
        self._woken = woken

    @property
    def gone(self) -> bool:
        """The poller found the thread deleted."""
        return self._watch.gone

    async def changed(self) -> None:
        """Return once the thread may have changed since the last call (at once if it did
        meanwhile). Raises `ThreadWatchFailed` if the poller could not read the database."""
        if self._watch.error is None:
            await self._woken.wait(_FOLLOWER_WAIT_S)
        if self._watch.error is not None:
            raise ThreadWatchFailed(
                f"Watching thread {self._watch.thread_id} failed."
            ) from self._watch.error


class ThreadWatches:
    """The threads this process's streams follow, polled together every `poll_interval_s` by
    one task (`poller`) while any is followed."""

    def __init__(
        self, heads: ThreadHeads, admissions: Admissions, *, poll_interval_s: float
    ) -> None:
        self._heads = heads
        self._admissions = admissions
        self._poll_interval_s = poll_interval_s
        self._watches: dict[str, ThreadWatch] = {}
        self.poller: asyncio.Task[None] | None = None

    @contextmanager
    def follow(self, thread_id: str) -> Iterator[Follower]:
        """Follow the thread while the `with` block lasts; enter it before the first read."""
        watch = self._watches.get(thread_id)
        if watch is None:
            watch = self._watches[thread_id] = ThreadWatch(thread_id)
            self._start_poller()
        with self._admissions(thread_id) as woken:
            watch.followers.add(woken)
            try:
                yield Follower(watch, woken)
            finally:
                watch.followers.discard(woken)
                if not watch.followers:
                    self._forget(watch)

    async def poll(self) -> None:
        """Look at every watched thread once; wake the followers of those whose newest run
        changed, or that are gone. If the database cannot be read, every watch fails."""
        watches = list(self._watches.values())
        try:
            newest = await self._heads.newest_runs([watch.thread_id for watch in watches])
        except Exception as error:
            logger.exception("watching threads failed threads=%d", len(watches))
            for watch in watches:
                self._forget(watch)
                watch.fail(error)
            return
        for watch in watches:
            if watch.thread_id not in newest:
                self._forget(watch)  # a thread made again under this id gets a new watch
                watch.gone = True
                watch.notify()
            elif newest[watch.thread_id] != watch.newest:
                watch.newest = newest[watch.thread_id]
                watch.notify()

    def _start_poller(self) -> None:
        if self.poller is None or self.poller.done():
            # In a context of its own: it serves every stream, not the request that started it.
            self.poller = asyncio.create_task(
                self._poll_while_watched(), name="thread watches", context=contextvars.Context()
            )

    async def _poll_while_watched(self) -> None:
        while self._watches:
            await self.poll()
            await asyncio.sleep(self._poll_interval_s)

    def _forget(self, watch: ThreadWatch) -> None:
        if self._watches.get(watch.thread_id) is watch:
            del self._watches[watch.thread_id]
        if not self._watches and self.poller is not None:
            self.poller.cancel()
            self.poller = None
