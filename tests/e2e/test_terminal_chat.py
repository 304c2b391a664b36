"""`threadloom chat` against `threadloom serve` with the bundled model: at a real pseudo-terminal
(tokens, tool lines, commands, an interrupt answered at the prompt) and through a pipe."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.server_process import REPO, ServerProcess

pytestmark = pytest.mark.slow
CHAT = [sys.executable, "-m", "threadloom.service.cli.commands", "chat"]
READ_TIMEOUT_S = 180.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("chat") / "threadloom.sqlite")
    process.start()
    yield process
    process.stop()


class Terminal:
    """`threadloom chat` on the slave side of a pseudo-terminal, as a person's shell runs it."""

    def __init__(self, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [*CHAT, *args], cwd=REPO, stdin=slave, stdout=slave, stderr=slave, close_fds=True
        )
        os.close(slave)
        self.screen = ""

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def wait_for(self, text: str) -> str:
        """Read the terminal until `text` has appeared after what was read before."""
        start = len(self.screen)
        deadline = time.monotonic() + READ_TIMEOUT_S
        while text not in self.screen[start:]:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.master], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"no {text!r} on the terminal; it shows:\n{self.screen}")
            try:
                self.screen += os.read(self.master, 4096).decode(errors="replace")
            except OSError:  # the program exited and closed the terminal
                raise TimeoutError(f"the chat exited; it showed:\n{self.screen}") from None
        return self.screen[start:]

    def close(self) -> int:
        code = self.process.wait(timeout=30)
        os.close(self.master)
        return code


def test_a_conversation_at_the_terminal(server: ServerProcess) -> None:
    terminal = Terminal("--url", server.url)
    terminal.wait_for("you> ")
    terminal.type("compute 17*23")
    shown = terminal.wait_for("you> ")
    assert "[tool] calculator(expression='17*23')" in shown
    assert "[result] 391" in shown
    assert "The answer is 391." in shown
    # The answer ends its line: the next prompt starts a line of its own.
    assert shown.splitlines()[-1] == "you> "
    assert "391.you>" not in shown

    terminal.type("/threads")
    listed = terminal.wait_for("you> ")
    thread_id = listed.split()[1]
    assert "compute 17*23" in listed
    terminal.type("/history")
    assert "4 messages" in terminal.wait_for("you> ")
    terminal.type("/new")
    assert "new thread" in terminal.wait_for("you> ")
    terminal.type("/quit")
    assert terminal.close() == 0
    assert httpx.get(f"{server.url}/threads/{thread_id}").json()["status"] == "idle"


def test_an_interrupt_is_answered_at_the_prompt(server: ServerProcess) -> None:
    careful = httpx.post(
        f"{server.url}/assistants",
        json={"graph_id": "agent", "config": {"configurable": {"approve_tools": ["calculator"]}}},
    ).json()
    terminal = Terminal("--url", server.url, "--assistant", careful["assistant_id"])
    terminal.wait_for("you> ")
    terminal.type("compute 17*23")
    assert '"name": "calculator"' in terminal.wait_for("approve? ")
    terminal.type("maybe")
    terminal.wait_for("answer y, n [reason] or e <json")
    terminal.type("y")
    assert "[result] 391" in terminal.wait_for("you> ")
    os.write(terminal.master, b"\x04")  # Ctrl+D ends the chat like /quit
    assert terminal.close() == 0


def test_scripted_through_a_pipe(server: ServerProcess) -> None:
    done = subprocess.run(
        [*CHAT, "--url", server.url], input="compute 17*23\n\n", capture_output=True, text=True,
        cwd=REPO, timeout=READ_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "The answer is 391.\n"


def test_an_unreachable_server_is_a_clear_error() -> None:
    done = subprocess.run(
        [*CHAT, "--url", "http://127.0.0.1:9"], input="hello\n", capture_output=True, text=True,
        cwd=REPO, timeout=60,
    )
    assert done.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_thread_is_a_clear_error(server: ServerProcess) -> None:
    done = subprocess.run(
        [*CHAT, "--url", server.url, "--thread", "00000000-0000-4000-8000-000000000000"],
        input="hello\n", capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert done.returncode == 1
    assert "404" in done.stderr
    assert "Traceback" not in done.stderr
