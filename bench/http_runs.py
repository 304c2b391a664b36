"""One run over the LangGraph Server API, as a client does it: a new thread, then a wait run."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from bench.fake_graph import GRAPH_NAME, expect_answer, run_input
from bench.lean_http import LeanClient, lean_client
from bench.load import RunOnce

READY_ATTEMPTS = 100
READY_PAUSE_S = 0.1


class Response(Protocol):
    @property
    def is_success(self) -> bool: ...

    def json(self) -> Any: ...

    def raise_for_status(self) -> Any: ...


class JsonClient(Protocol):
    """What a run needs of a client: `httpx.AsyncClient` (in process, over ASGI) or, over
    sockets, the leaner `LeanClient`."""

    async def post(self, path: str, json: Any) -> Response: ...


def open_client(base_url: str, clients: int) -> AbstractAsyncContextManager[LeanClient]:
    """A load-generating client with a kept-alive connection for each concurrent caller (see
    `bench.lean_http` for why not httpx)."""
    return lean_client(base_url, clients)


def http_run(client: JsonClient, thread_ids: list[str]) -> RunOnce:
    """`POST /threads` then `POST /threads/{id}/runs/wait`; the thread's id goes to `thread_ids`."""

    async def run_once() -> None:
        created = await client.post("/threads", json={})
        created.raise_for_status()
        thread_id = created.json()["thread_id"]
        thread_ids.append(thread_id)
        body = {"assistant_id": GRAPH_NAME, "input": run_input()}
        response = await client.post(f"/threads/{thread_id}/runs/wait", json=body)
        response.raise_for_status()
        expect_answer(response.json())

    return run_once


async def wait_until_ok(client: LeanClient, path: str = "/ok") -> None:
    """Poll `GET path` (a health route) a bounded number of times, for servers that log ready
    before they listen."""
    for _ in range(READY_ATTEMPTS):
        try:
            if (await client.get(path)).is_success:
                return
        except OSError:  # not listening yet
            pass
        await asyncio.sleep(READY_PAUSE_S)
    raise TimeoutError(f"{client.base_url}{path} did not answer within {READY_ATTEMPTS} attempts")


async def delete_threads(client: LeanClient, thread_ids: list[str]) -> None:
    """Remove what a run left in storage that outlives the benchmark (a shared database)."""
    for thread_id in thread_ids:
        await client.delete(f"/threads/{thread_id}")
