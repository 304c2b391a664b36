"""Fixtures of the run tests that start fake-model servers as processes."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.e2e.server_process import ServerProcess
from tests.service.fake_server import Gate


@pytest.fixture
def gate() -> Iterator[Gate]:
    """A gate the fake model waits at; closed after the test so no server stays blocked."""
    gate = Gate()
    yield gate
    gate.close()


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    """Server processes the test starts; whatever is still running is stopped after it."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop(signal.SIGKILL)
