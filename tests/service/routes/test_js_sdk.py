"""The LangGraph JavaScript SDK (on Node.js) against our server serving the contract graph:
what browser chat UIs call, checked with the client library they use. `contract.mjs` runs the
SDK contract; `thread_stream.mjs` the thread-centric protocol of `client.threads.stream()`.
`make test` installs the SDK into tests/js/node_modules."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tests.service.contract_graph import make_contract_graph
from tests.service.live_server import StartServer

JS = Path(__file__).resolve().parents[3] / "tests" / "js"
TIMEOUT_S = 240


@pytest.mark.parametrize(("script", "checks"), [("contract.mjs", 23), ("thread_stream.mjs", 5)])
async def test_the_javascript_sdk(start: StartServer, script: str, checks: int) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the JavaScript SDK cannot run")
    assert (JS / "node_modules" / "@langchain" / "langgraph-sdk").is_dir(), (
        "The JavaScript SDK is not installed: run `make js-deps` (or `make test`)."
    )
    server = await start(graph_factory=make_contract_graph)
    process = await asyncio.create_subprocess_exec(
        node,
        str(JS / script),
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
    assert report.count("ok ") == checks, report
