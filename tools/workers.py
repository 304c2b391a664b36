"""`WorkerPool`: a few worker processes that run pure functions with a hard deadline and a
memory cap, so that a tool stuck in one long C call (which holds the interpreter lock and so
every thread of the server) can be stopped for real: its worker is killed and replaced.

A worker is a fresh interpreter (`python -m threadloom.tools.worker_process`), neither forked
from the server (which has threads) nor re-running its main module as multiprocessing's `spawn`
and `forkserver` do; it imports the `preload` modules, says it is ready, then serves calls over
two pipes. It caps its own address space (`RLIMIT_AS`) at what it started with plus
`memory_mb`. Processes are started by a thread of the pool's own (`STARTER_THREAD`), never by
the caller: `start` returns at once, and a killed worker's replacement is started as soon as
it is killed, so the pool stays at `size` warm workers and no caller (nor the event loop of a
server that builds the pool) waits while a process forks. A call waits for its worker to be
ready on a pipe without holding the interpreter lock; callers on the event loop use a thread
(`asyncio.to_thread`, or a sync tool's executor).

Example:
    >>> pool = WorkerPool(size=2, timeout_s=2.0, memory_mb=256)
    >>> pool.run(math.factorial, 20)
    2432902008176640000
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
# The longest a caller waits for a busy pool beyond its own deadline, as a multiple of it.
_QUEUE_WAIT_FACTOR = 4
# A new worker imports the preload modules; on a busy machine that can take seconds.
START_TIMEOUT_S = 120.0
# The name of the threads that start worker processes.
STARTER_THREAD = "compute-worker-start"


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
        self.preload = list(preload)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._started = False
        self._closed = False

    def configure(self, *, size: int, timeout_s: float, memory_mb: int) -> None:
        """Change the limits; takes effect for workers started afterwards (all, before `start`)."""
        self.size, self.timeout_s, self.memory_mb = size, timeout_s, memory_mb

    def start(self) -> None:
        """Have the workers started (by the pool's thread; returns at once); `run` starts them
        otherwise."""
        with self._lock:
            if self._started:
                return
            self._started, self._closed = True, False
        self._start_workers(self.size)

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
            worker.wait_ready()  # it may still be starting
            outcome, value = worker.call(function, args, self.timeout_s)
        except BaseException:
            worker.kill()
            if not self._closed:
                self._start_workers(1)
            raise
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

    def _start_workers(self, count: int) -> None:
        """Start `count` workers in a thread of their own; each joins the idle ones as soon as
        its process runs (`run` waits for it to be ready)."""
        threading.Thread(
            target=self._add_workers, args=(count,), name=STARTER_THREAD, daemon=True
        ).start()

    def _add_workers(self, count: int) -> None:
        for _ in range(count):
            worker = _Worker(self.preload, self.memory_mb)
            with self._lock:
                if not self._closed:
                    self._idle.put(worker)
                    continue
            worker.kill()  # the pool closed while it started
            return


class _Worker:
    """One worker process and the parent's ends of its two pipes."""

    def __init__(self, preload: Sequence[str], memory_mb: int) -> None:
        calls_read, calls_write = os.pipe()
        answers_read, answers_write = os.pipe()
        command = [
            sys.executable, "-m", "threadloom.tools.worker_process",
            str(calls_read), str(answers_write), str(memory_mb * 1024 * 1024), *preload,
        ]  # fmt: skip
        try:
            self.process = subprocess.Popen(
                command, pass_fds=(calls_read, answers_write), stdin=subprocess.DEVNULL
            )
        finally:
            os.close(calls_read)
            os.close(answers_write)
        self.calls = Connection(calls_write, readable=False)
        self.answers = Connection(answers_read, writable=False)
        self.ready = False

    def wait_ready(self) -> None:
        if self.ready:
            return
        try:
            if self.answers.poll(START_TIMEOUT_S) and self.answers.recv() == ("ready", None):
                self.ready = True
                return
        except (EOFError, OSError):
            pass
        raise WorkerFailed(f"a compute worker did not start within {START_TIMEOUT_S:g} s")

    def call(self, function: Callable[..., Any], args: tuple[Any, ...], timeout_s: float) -> Any:
        try:
            self.calls.send((function, args))
            answered = self.answers.poll(timeout_s)
            if answered:
                return self.answers.recv()
        except (EOFError, OSError) as exc:
            raise WorkerFailed(
                "the computation stopped its worker (it may have needed too much memory)"
            ) from exc
        logger.warning("compute worker killed: call ran past %g s", timeout_s)
        raise WorkerTimeout(f"the computation ran past {timeout_s:g} s and was stopped")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)
        self.calls.close()
        self.answers.close()


def serve_calls(calls: Connection, answers: Connection, memory_bytes: int) -> None:
    """A worker's loop (`worker_process`): say ready, then receive `(function, args)` and send
    `("ok", result)` or `("error", exc)`, until the pool closes the pipe."""
    _cap_memory(memory_bytes)
    answers.send(("ready", None))
    while True:
        try:
            function, args = calls.recv()
        except EOFError:  # the pool went away
            return
        try:
            answer: tuple[str, Any] = ("ok", function(*args))
        except MemoryError:
            answer = ("error", MemoryError("the computation needs more memory than allowed"))
        except Exception as exc:
            answer = ("error", exc)
        try:
            answers.send(answer)
        except Exception as exc:  # an answer that does not pickle
            answers.send(("error", WorkerFailed(f"unsendable result: {exc}")))


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
