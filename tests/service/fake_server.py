"""A service process with the fake model, for tests that need real processes (replicas, crashes,
drains), and the gate through which a test holds that model's generations.

Run it as `python -m tests.service.fake_server serve --port 0 ...`: the same flags and
`THREADLOOM_*` settings as `threadloom serve`, with `FakeToolCallingModel` as the model. With
`FAKE_MODEL_GATE=127.0.0.1:PORT`, every generation first connects to that address, writes one
line (`started <pid>`) and waits for a line back: the test's `Gate` answers at once, unless the
test asked to hold the next generation; then the test knows that a run is in progress (no
sleeping, no polling) and decides when, or whether, it goes on.
"""

from __future__ import annotations

import asyncio
import os
import queue
import socket
import threading
from pathlib import Path

from tests.e2e.server_process import ServerProcess
from tests.fakes import FakeToolCallingModel
from threadloom.service.cli.commands import main
from threadloom.service.deployment.builtin_agent import agent_graph

GATE_VARIABLE = "FAKE_MODEL_GATE"
DEADLINE_S = 30.0


class GatedModel(FakeToolCallingModel):
    """`FakeToolCallingModel` that asks the test's gate before each generation."""

    gate_address: str

    async def _hold(self) -> None:
        host, port = self.gate_address.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(f"started {os.getpid()}\n".encode())
            await writer.drain()
            if not await reader.readline():
                raise RuntimeError("the test's gate closed without letting the generation go")
        finally:
            writer.close()


class Held:
    """A generation the gate holds: the process is inside a run until `release`."""

    def __init__(self, conn: socket.socket, pid: int) -> None:
        self._conn = conn
        self.pid = pid

    def release(self) -> None:
        with self._conn:
            self._conn.sendall(b"go\n")


class Gate:
    """The test's end: a loopback server that lets generations go, or holds the next ones.

    Runs in a thread, so it serves whatever the test's event loop is doing (and across tests).
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._to_hold = 0
        self._held: queue.Queue[Held] = queue.Queue()
        # Every connection stays open until released or closed here, even if the test drops
        # its `Held` (a dropped socket would close, and let the generation go).
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def hold_next(self, count: int = 1) -> None:
        """Hold the next `count` generations (of any process using this gate)."""
        with self._lock:
            self._to_hold += count

    def held(self, timeout_s: float = DEADLINE_S) -> Held:
        """The next held generation, once one has started (blocking: call it in a thread)."""
        return self._held.get(timeout=timeout_s)

    async def wait_held(self) -> Held:
        return await asyncio.to_thread(self.held)

    def reset(self) -> None:
        """Hold nothing more, and let go what is held (what an earlier test may have left)."""
        with self._lock:
            self._to_hold = 0
        while not self._held.empty():
            self._held.get().release()

    def close(self) -> None:
        self._listener.close()
        for conn in self._connections:
            conn.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed
                return
            self._connections.append(conn)
            line = conn.makefile("rb").readline().decode()
            held = Held(conn, int(line.split()[1]))
            with self._lock:
                hold, self._to_hold = self._to_hold > 0, max(self._to_hold - 1, 0)
            if hold:
                self._held.put(held)
            else:
                held.release()


def fake_server(
    db: Path, gate: Gate, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> ServerProcess:
    """A server process (not started yet) whose fake model asks `gate`."""
    settings = {GATE_VARIABLE: gate.address, "THREADLOOM_LOG_LEVEL": "info", **(env or {})}
    return ServerProcess(db, args, settings, module="tests.service.fake_server")


if __name__ == "__main__":
    gated = GatedModel(gate_address=os.environ[GATE_VARIABLE])
    raise SystemExit(main(graphs=lambda settings: {"agent": agent_graph(settings, gated)}))
