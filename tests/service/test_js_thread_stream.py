"""The thread-centric protocol driven by the LangGraph JavaScript SDK's `client.threads.stream()`
(`tests/js/thread_stream.mjs`, on Node.js) against our server serving the contract graph."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tests.service.contract_graph import make_contract_graph
from tests.service.live_server import StartServer

JS = Path(__file__).resolve().parents[1] / "js"
TIMEOUT_S = 120
CHECKS = 5


async def test_the_javascript_sdk_thread_stream(start: StartServer) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the JavaScript SDK cannot run")
    assert (JS / "node_modules" / "@langchain" / "langgraph-sdk").is_dir(), (
        "The JavaScript SDK is not installed: run `make js-deps` (or `make test`)."
    )
    server = await start(graph_factory=make_contract_graph)
    process = await asyncio.create_subprocess_exec(
        node,
        str(JS / "thread_stream.mjs"),
        server.url,
        cwd=JS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), TIMEOUT_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    report = output.decode()
    assert process.returncode == 0, report
    assert report.count("ok ") == CHECKS, report
