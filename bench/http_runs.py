"""One run over the LangGraph Server API, as a client does it: a new thread, then a wait run."""

from __future__ import annotations

import asyncio

import httpx

from bench.fake_graph import GRAPH_NAME, expect_answer, run_input
from bench.load import RunOnce

TIMEOUT_S = 60.0
READY_ATTEMPTS = 100
READY_PAUSE_S = 0.1


def open_client(base_url: str, clients: int) -> httpx.AsyncClient:
    """A client with a kept-alive connection for each concurrent caller."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    return httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT_S, limits=limits)


def http_run(client: httpx.AsyncClient, thread_ids: list[str]) -> RunOnce:
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


async def wait_until_ok(client: httpx.AsyncClient) -> None:
    """Poll `GET /ok` a bounded number of times, for servers that log ready before they listen."""
    for _ in range(READY_ATTEMPTS):
        try:
            if (await client.get("/ok")).is_success:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(READY_PAUSE_S)
    raise TimeoutError(f"{client.base_url}/ok did not answer within {READY_ATTEMPTS} attempts")


async def delete_threads(client: httpx.AsyncClient, thread_ids: list[str]) -> None:
    """Remove what a run left in storage that outlives the benchmark (a shared database)."""
    for thread_id in thread_ids:
        await client.delete(f"/threads/{thread_id}")
