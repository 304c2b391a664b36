"""Which threads start the worker pool's processes: a test records them instead of timing the
event loop (a bound on time flakes on a busy machine; a process started on the loop does not)."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from typing import Any

import pytest

from threadloom.tools import workers


def record_process_starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that start worker processes from now on; one running an event
    loop is named "event loop"."""
    starters: list[str] = []
    popen = subprocess.Popen

    def recording(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        try:
            asyncio.get_running_loop()
            starters.append("event loop")
        except RuntimeError:
            starters.append(threading.current_thread().name)
        return popen(*args, **kwargs)

    monkeypatch.setattr(workers.subprocess, "Popen", recording)
    return starters
