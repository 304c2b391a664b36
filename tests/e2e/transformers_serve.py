"""`transformers serve` of the bundled model as a child process: a real OpenAI-compatible server.

Started offline (HF_HUB_OFFLINE=1) with the model folder as its pinned model (`force_model`), so
it loads the weights at start-up, lists that one model at `/v1/models` and refuses other names.
"""

from __future__ import annotations

import signal
import sys

from tests.e2e.server_process import ChildServer
from threadloom.models.bundled import BUNDLED_MODEL_DIR

# The `transformers` command, run with this interpreter (the console script may live elsewhere).
TRANSFORMERS_CLI = [sys.executable, "-m", "transformers.cli.transformers"]


class TransformersServe(ChildServer):
    """`transformers serve <bundled model folder>` on loopback; `port` 0 takes a free one."""

    def __init__(self, port: int = 0) -> None:
        # One torch thread: on a busy CI machine, torch's spinning worker threads make each
        # token of this tiny model ten times slower.
        super().__init__({"OMP_NUM_THREADS": "1"})
        self.port = port

    @property
    def model_id(self) -> str:
        """The name the server serves: the folder exactly as given on its command line."""
        return str(BUNDLED_MODEL_DIR)

    def command(self) -> list[str]:
        return [
            *TRANSFORMERS_CLI, "serve", self.model_id,
            "--host", "127.0.0.1", "--port", str(self.port), "--device", "cpu",
        ]

    def start(self, timeout_s: float = 120.0) -> str:
        url = super().start(timeout_s)
        self.port = int(url.rsplit(":", 1)[1])  # a restart comes back on the same port
        return url

    def kill(self) -> None:
        """Stop the server at once, as a crash would: no graceful end to open streams."""
        self.stop(signal.SIGKILL)
