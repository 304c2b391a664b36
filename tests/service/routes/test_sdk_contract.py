"""The SDK contract (`sdk_contract.py`) against our server, and against the real `langgraph dev`
serving the same graph: the second proves the contract is LangGraph Server's own.

`langgraph dev` takes about a minute for the contract (its queue polls for runs); deselect it
with `pytest -m "not langgraph_dev"` where that server cannot run.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.service.live_server import StartServer
from tests.service.sdk_contract import check_contract
from threadloom.service.http.in_process import DEFER_VARIABLE

REPO = Path(__file__).resolve().parents[3]
LANGGRAPH = REPO / ".venv" / "bin" / "langgraph"
READY_LINE = "Uvicorn running on"  # logged with --server-log-level info
START_TIMEOUT_S = 120


async def test_our_server_keeps_the_sdk_contract(
    storage_settings: dict[str, Any], start: StartServer, tmp_path: Path
) -> None:
    """Both graphs of one langgraph.json, on SQLite, then on PostgreSQL."""
    server = await start(config=contract_config(tmp_path), **storage_settings)
    await check_contract(server.url, agent="agent", counter="counter")


@pytest.mark.langgraph_dev
async def test_langgraph_dev_keeps_the_same_contract(tmp_path: Path) -> None:
    with langgraph_dev(contract_config(tmp_path)) as url:
        await check_contract(url, agent="agent", counter="counter")


def contract_config(folder: Path) -> Path:
    """A langgraph.json serving the contract's two graphs, read by both servers."""
    config = folder / "langgraph.json"
    graphs = {
        "agent": f"{REPO / 'tests' / 'service' / 'contract_graph.py'}:graph",
        "counter": f"{REPO / 'tests' / 'service' / 'counter_graph.py'}:graph",
    }
    config.write_text(json.dumps({"dependencies": [str(REPO)], "graphs": graphs}))
    return config


@contextmanager
def langgraph_dev(config: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `langgraph dev` on `config` (in its folder); yields its URL once it serves."""
    if not LANGGRAPH.exists():
        pytest.skip(f"no langgraph CLI at {LANGGRAPH}: pip install 'langgraph-cli[inmem]'")
    workdir = config.parent
    port = _free_port()
    process = subprocess.Popen(
        [
            str(LANGGRAPH),
            "dev",
            "--no-browser",
            "--no-reload",
            "--port",
            str(port),
            "--n-jobs-per-worker",
            "10",
            "--server-log-level",
            "info",
            "--config",
            str(config),
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            # Not the variable threadloom's in-process client sets in this process (an app
            # made by an earlier test): it would defer langgraph dev's own loopback client.
            **{k: v for k, v in os.environ.items() if k != DEFER_VARIABLE},
            "LANGSMITH_TRACING": "false",
            "NO_COLOR": "1",
            **(env or {}),
        },
    )
    lines: queue.Queue[str | None] = queue.Queue()
    tail: deque[str] = deque(maxlen=40)
    # Read its output all along: a full pipe would stall the server.
    threading.Thread(target=_pump, args=(process, lines, tail), daemon=True).start()
    try:
        if not _wait_ready(lines):
            pytest.skip("langgraph dev did not start:\n" + "".join(tail))
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str | None], tail: deque[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        tail.append(line)
        lines.put(line)
    lines.put(None)  # the process ended


def _wait_ready(lines: queue.Queue[str | None]) -> bool:
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            return False
        if line is None:
            return False
        if READY_LINE in line:
            return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
