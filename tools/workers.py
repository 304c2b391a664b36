"""`WorkerPool`: a few worker processes that run pure functions with a hard deadline and a
memory cap, so that a tool stuck in one long C call (which holds the interpreter lock and so
every thread of the server) can be stopped for real: its worker is killed and replaced.

Workers come from a `forkserver` (never `fork`: the server has threads), which imports the
`preload` modules once, so each worker starts in milliseconds. A worker caps its own address
space (`RLIMIT_AS`) at what it started with plus `memory_mb`. The calling thread waits on a pipe
without holding the interpreter lock; callers on the event loop use `asyncio.to_thread`.

Example:
    >>> pool = WorkerPool(size=2, timeout_s=2.0, memory_mb=256)
    >>> pool.run(math.factorial, 20)
    2432902008176640000
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
# The longest a caller waits for a busy pool beyond its own deadline, as a multiple of it.
_QUEUE_WAIT_FACTOR = 4


class WorkerTimeout(TimeoutError):
    """The call ran past the pool's deadline; its worker was killed."""


class WorkerFailed(RuntimeError):
    """The worker died during the call (killed for memory, crashed) or the pool is closed."""


class WorkerPool:
    """`size` worker processes; `run` sends a call to an idle one and waits at most `timeout_s`."""

    def __init__(
        self,
        size: int = 2,
        timeout_s: float = 5.0,
        memory_mb: int = 256,
        preload: Sequence[str] = (),
    ) -> None:
        self.size = size
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.preload = [__name__, *preload]
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._started = False
        self._closed = False

    def configure(self, *, size: int, timeout_s: float, memory_mb: int) -> None:
        """Change the limits; takes effect for workers started afterwards (all, before `start`)."""
        self.size, self.timeout_s, self.memory_mb = size, timeout_s, memory_mb

    def start(self) -> None:
        """Start the workers now (start-up, off the request path); `run` starts them otherwise."""
        with self._lock:
            if self._started:
                return
            self._started, self._closed = True, False
            for _ in range(self.size):
                self._idle.put(self._new_worker())

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in a worker; its exception is raised here.

        Raises:
            WorkerTimeout: past `timeout_s` (the worker is killed and replaced), or no worker
                became free in time.
            WorkerFailed: the worker died (e.g. over its memory cap) or the pool is closed.
        """
        self.start()
        try:
            worker = self._idle.get(timeout=self.timeout_s * _QUEUE_WAIT_FACTOR)
        except queue.Empty:
            raise WorkerTimeout(
                f"every compute worker stayed busy for {self.timeout_s * _QUEUE_WAIT_FACTOR:g} s"
            ) from None
        try:
            outcome, value = worker.call(function, args, self.timeout_s)
        except BaseException:
            worker.kill()
            worker = self._new_worker()
            raise
        finally:
            if self._closed:
                worker.kill()
            else:
                self._idle.put(worker)
        if outcome == "error":
            raise value
        return value

    def close(self) -> None:
        """Stop every idle worker (busy ones stop when their call returns)."""
        with self._lock:
            self._closed, self._started = True, False
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return

    def _new_worker(self) -> _Worker:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(self.preload)
        return _Worker(context, self.memory_mb)


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: Any, memory_mb: int) -> None:
        self.connection, child = multiprocessing.Pipe()
        self.process: BaseProcess = context.Process(
            target=_serve, args=(child, memory_mb * 1024 * 1024), daemon=True
        )
        self.process.start()
        child.close()

    def call(self, function: Callable[..., Any], args: tuple[Any, ...], timeout_s: float) -> Any:
        try:
            self.connection.send((function, args))
            answered = self.connection.poll(timeout_s)
            if answered:
                return self.connection.recv()
        except (EOFError, OSError) as exc:
            raise WorkerFailed(
                "the computation stopped its worker (it may have needed too much memory)"
            ) from exc
        logger.warning("compute worker killed: call ran past %g s", timeout_s)
        raise WorkerTimeout(f"the computation ran past {timeout_s:g} s and was stopped")

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.connection.close()


def _serve(connection: Connection, memory_bytes: int) -> None:
    """A worker's loop: receive `(function, args)`, send `("ok", result)` or `("error", exc)`."""
    _cap_memory(memory_bytes)
    while True:
        try:
            function, args = connection.recv()
        except EOFError:  # the pool went away
            return
        try:
            answer: tuple[str, Any] = ("ok", function(*args))
        except MemoryError:
            answer = ("error", MemoryError("the computation needs more memory than allowed"))
        except Exception as exc:
            answer = ("error", exc)
        try:
            connection.send(answer)
        except Exception as exc:  # an answer that does not pickle
            connection.send(("error", WorkerFailed(f"unsendable result: {exc}")))


def _cap_memory(memory_bytes: int) -> None:
    try:
        import resource

        with open("/proc/self/statm") as statm:  # Linux: the address space in use, in pages
            in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError):  # no RLIMIT_AS where there is no /proc: no cap
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = in_use + memory_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
