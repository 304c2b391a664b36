"""Bad requests get a clear 4xx and change nothing: no thread, no run, no checkpoint."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

QUESTION = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}


def stored_rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("threads", "runs", "checkpoints", "writes")
        }


@pytest.fixture
async def thread_id(client: httpx.AsyncClient) -> str:
    return (await client.post("/threads", json={})).json()["thread_id"]


@pytest.mark.parametrize("route", ["stream", "wait"])
@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        pytest.param(
            {"assistant_id": "nope", "input": QUESTION},
            422,
            "Invalid assistant: 'nope'. Must be either:\n- A valid assistant UUID, or\n"
            "- One of the registered graphs: agent",
            id="unknown-assistant-name",
        ),
        pytest.param(
            {"assistant_id": "00000000-0000-0000-0000-000000000001", "input": QUESTION},
            404,
            "Thread or assistant not found.",
            id="unknown-assistant-uuid",
        ),
        pytest.param(
            {"assistant_id": "agent", "input": QUESTION, "stream_mode": "bogus"},
            422,
            "stream_mode: Unknown stream mode 'bogus'. Use one or a list of: values, updates, "
            "messages, messages-tuple, custom, debug, events, tasks, checkpoints.",
            id="unknown-stream-mode",
        ),
        pytest.param(
            {"assistant_id": "agent", "input": QUESTION, "stream_mode": ["values", "tools"]},
            422,
            None,
            id="v2-only-stream-mode",
        ),
        pytest.param({"input": QUESTION}, 422, "assistant_id: Field required", id="no-assistant"),
        pytest.param(
            {"assistant_id": "agent", "input": QUESTION, "command": {"resume": "x"}},
            422,
            "Send either input or command, not both.",
            id="input-and-command",
        ),
        pytest.param(
            {"assistant_id": "agent", "input": QUESTION, "multitask_strategy": "later"},
            422,
            None,
            id="unknown-multitask-strategy",
        ),
    ],
)
async def test_invalid_run_request_is_refused_before_anything_is_written(
    client: httpx.AsyncClient,
    db: Path,
    thread_id: str,
    route: str,
    body: dict,
    status: int,
    detail: str | None,
) -> None:
    before = stored_rows(db)

    response = await client.post(f"/threads/{thread_id}/runs/{route}", json=body)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    if detail is not None:
        assert response.json() == {"detail": detail}
    assert stored_rows(db) == before


async def test_malformed_json_is_a_readable_422(
    client: httpx.AsyncClient, db: Path, thread_id: str
) -> None:
    before = stored_rows(db)

    response = await client.post(
        f"/threads/{thread_id}/runs/stream",
        content=b'{"assistant_id": "agent", "input": ',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["detail"].startswith("The request body is not valid JSON")
    assert stored_rows(db) == before


async def test_run_on_an_unknown_thread_is_404_and_creates_nothing(
    client: httpx.AsyncClient, db: Path
) -> None:
    before = stored_rows(db)
    missing = "00000000-0000-0000-0000-000000000000"

    response = await client.post(
        f"/threads/{missing}/runs/stream", json={"assistant_id": "agent", "input": QUESTION}
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "Thread or assistant not found."}
    assert stored_rows(db) == before


async def test_a_webhook_over_http_is_422(client: httpx.AsyncClient, thread_id: str) -> None:
    response = await client.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "agent", "input": QUESTION, "webhook": "http://127.0.0.1:9/done"},
    )

    assert response.status_code == 422
    assert "https" in response.json()["detail"]
