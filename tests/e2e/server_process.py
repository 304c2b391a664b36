"""Runs `threadloom serve` (or another uvicorn server) as a real child process on loopback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

READY = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
REPO = Path(__file__).resolve().parents[2]


class ChildServer:
    """A child process serving HTTP with uvicorn; `start()` returns once it reports its address.

    Subclasses say which `command()` to run; the environment is offline (HF_HUB_OFFLINE=1).
    """

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.log: list[str] = []
        self._logged = threading.Condition()

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout_s: float = 120.0) -> str:
        self.url = ""
        self.process = subprocess.Popen(
            self.command(), cwd=REPO, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        found = threading.Event()
        reader = threading.Thread(target=self._read, args=(found,), daemon=True)
        reader.start()
        # The reader sets `found` on the ready line or when the process exits.
        if not found.wait(timeout_s) or not self.url:
            self.stop()
            raise RuntimeError("server did not start:\n" + "".join(self.log[-40:]))
        return self.url

    def _read(self, found: threading.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            with self._logged:
                self.log.append(line)
                self._logged.notify_all()
            match = READY.search(line)
            if match and not self.url:
                self.url = match.group(1)
                found.set()
        found.set()

    def wait_for_log(self, text: str, timeout_s: float = 60.0) -> str:
        """Wait until the server logs a line containing `text`; returns that line."""
        with self._logged:
            found = self._logged.wait_for(lambda: any(text in line for line in self.log), timeout_s)
            if not found:
                raise TimeoutError(f"the server did not log {text!r}:\n" + "".join(self.log[-40:]))
            return next(line for line in self.log if text in line)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        code = self.process.wait(timeout=60)
        self.process = None
        return code


class ServerProcess(ChildServer):
    """A `threadloom serve` child on an ephemeral port.

    `module` is the entry point run with `python -m` (tests use one with a fake model).
    """

    def __init__(
        self,
        db: Path,
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        module: str = "threadloom.service.cli.commands",
    ):
        super().__init__(env)
        self.db = db
        self.extra_args = list(extra_args)
        self.module = module

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", self.module, "serve",
            "--host", "127.0.0.1", "--port", "0", "--db", str(self.db), *self.extra_args,
        ]
