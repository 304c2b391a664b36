"""A server under test, run as a child process on loopback: started, watched, measured, stopped.

The child runs in its own session so that stopping it takes its whole process group along.
Its output goes to a log file, as a deployed server's would: a pipe drained by this process
(busy generating load, its drain thread waiting for the GIL) fills up and stalls the server on
every log line, which the measurement would then charge to the server. The file's last lines
explain a failed start.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_ERROR = re.compile(r"\w+(Error|Exception)\b")
_LOG_POLL_S = 0.05


class ChildStartError(RuntimeError):
    """The child exited or stayed silent before printing its ready line; the message is the
    telling line of its output (see `output_tail` for more)."""


def free_port() -> int:
    """A loopback port that is free now (for servers that must be told their port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ChildServer:
    """One server process, logging to `log_path`; `start` returns the match of its ready line."""

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        log_path: Path,
        tail_lines: int = 40,
    ) -> None:
        self.command = list(command)
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_path
        self._tail_lines = tail_lines
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, ready: re.Pattern[str], timeout_s: float) -> re.Match[str]:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        with self.log_path.open(encoding="utf-8", errors="replace") as output:
            while True:
                line = output.readline()
                if line and (match := ready.search(line)):
                    return match
                if line:
                    continue
                if self._process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(_LOG_POLL_S)  # nothing new in the log yet
        late = "" if self._process.poll() is not None else f" (not ready after {timeout_s:g} s)"
        self.stop()
        lines = [line.strip() for line in self._tail() if line.strip()] or ["(no output)"]
        raise ChildStartError((self.last_error_line() or lines[-1]) + late)

    def output_tail(self) -> str:
        return "".join(self._tail()).rstrip()

    def last_error_line(self) -> str | None:
        """The last line of output that names an exception (`...Error`, `...Exception`)."""
        errors = [line.strip() for line in self._tail() if _ERROR.search(line)]
        return errors[-1] if errors else None

    def cpu_seconds(self) -> float:
        """User + system CPU the child has used so far (Linux `/proc`)."""
        if self._process is None:
            return 0.0
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # After the command name: utime and stime are fields 14 and 15 of stat(5).
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def rss_bytes(self) -> int:
        """The child's resident memory now (Linux `/proc`)."""
        if self._process is None:
            return 0
        for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def maps_library(self, name: str) -> bool:
        """Whether a shared library whose file name contains `name` is loaded in the child."""
        if self._process is None:
            return False
        return name in Path(f"/proc/{self._process.pid}/maps").read_text()

    def stop(self, timeout_s: float = 30.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout_s)

    def kill(self) -> None:
        """End the child as a crash would (SIGKILL to its process group): no shutdown at all."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> ChildServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _tail(self) -> list[str]:
        if not self.log_path.exists():
            return []
        with self.log_path.open(encoding="utf-8", errors="replace") as output:
            return list(deque(output, maxlen=self._tail_lines))
