"""The whole product over real HTTP: `threadloom serve` with the bundled model and a SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server_process import ServerProcess
from tests.e2e.sse import Frame, stream_run

SEED_QUESTION = (
    "Who is Leo DiCaprio's girlfriend? What is her current age raised to the 0.43 power?"
)
SEED_ANSWER_NUMBER = "4.190616836"  # calculator("28^0.43")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "threadloom.sqlite"


@pytest.fixture
def server(db: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(db)
    process.start()
    yield process
    process.stop()


def _updates(frames: list[Frame]) -> list[dict]:
    return [frame.data for frame in frames if frame.event == "updates"]


def _tool_calls(frames: list[Frame]) -> list[dict]:
    calls = []
    for update in _updates(frames):
        for message in update.get("agent", {}).get("messages", []):
            calls.extend(message.get("tool_calls") or [])
    return calls


def _ask(text: str) -> dict:
    return {"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": text}]}}


def _final_text(frames: list[Frame]) -> str:
    values = [frame.data for frame in frames if frame.event == "values"]
    return values[-1]["messages"][-1]["content"]


def _seed_run(server: ServerProcess) -> tuple[httpx.Response, str, list[Frame]]:
    with httpx.Client(base_url=server.url) as client:
        thread_id = client.post("/threads", json={}).json()["thread_id"]
        body = {**_ask(SEED_QUESTION), "stream_mode": ["messages-tuple", "updates", "values"]}
        response, frames = stream_run(client, f"/threads/{thread_id}/runs/stream", body)
    return response, thread_id, frames


def _tool_results(frames: list[Frame]) -> list[str]:
    return [
        message["content"]
        for update in _updates(frames)
        for message in update.get("tools", {}).get("messages", [])
    ]


def test_seed_question_streams_tokens_a_search_and_an_answer(server: ServerProcess) -> None:
    response, thread_id, frames = _seed_run(server)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert frames[0].event == "metadata" and "run_id" in frames[0].data
    run_id = frames[0].data["run_id"]
    assert response.headers["content-location"] == f"/threads/{thread_id}/runs/{run_id}"
    assert [frame.event for frame in frames].count("error") == 0

    chunks = [frame.data[0] for frame in frames if frame.event == "messages"]
    tokens = [chunk["content"] for chunk in chunks if chunk["content"]]
    assert len(tokens) > 5, "the answer should arrive as many token chunks"
    assert not any("<tool_call>" in token or "</tool_call>" in token for token in tokens)
    assert any(chunk.get("tool_call_chunks") for chunk in chunks)

    calls = _tool_calls(frames)
    assert calls[0]["name"] == "search"
    assert "Vittoria Ceretti" in _tool_results(frames)[0]
    assert "Vittoria Ceretti" in _final_text(frames)


def test_seed_question_goes_on_to_the_calculator(server: ServerProcess) -> None:
    _, _, frames = _seed_run(server)
    calls = _tool_calls(frames)
    assert [call["name"] for call in calls] == ["search", "calculator"]
    assert "28" in calls[1]["args"]["expression"]
    assert _tool_results(frames)[1] == SEED_ANSWER_NUMBER
    answer = _final_text(frames)
    assert "Vittoria Ceretti" in answer and SEED_ANSWER_NUMBER in answer


def test_thread_survives_a_restart(db: Path) -> None:
    first = ServerProcess(db)
    url = first.start()
    with httpx.Client(base_url=url) as client:
        thread_id = client.post("/threads", json={}).json()["thread_id"]
        wait = client.post(
            f"/threads/{thread_id}/runs/wait",
            json=_ask("compute 17*23"),
            timeout=300,
        )
        assert wait.status_code == 200
        assert "391" in wait.json()["messages"][-1]["content"]
        state_before = client.get(f"/threads/{thread_id}/state").json()
        history_before = client.post(f"/threads/{thread_id}/history", json={"limit": 50}).json()
    first.stop()

    second = ServerProcess(db)
    url = second.start()
    try:
        with httpx.Client(base_url=url) as client:
            state_after = client.get(f"/threads/{thread_id}/state").json()
            history_after = client.post(f"/threads/{thread_id}/history", json={"limit": 50}).json()
            assert state_after["values"] == state_before["values"]
            assert state_after["checkpoint"] == state_before["checkpoint"]
            assert [h["checkpoint"] for h in history_after] == [
                h["checkpoint"] for h in history_before
            ]

            again = client.post(
                f"/threads/{thread_id}/runs/wait",
                json=_ask("compute 12*7"),
                timeout=300,
            ).json()
            messages, earlier = again["messages"], state_before["values"]["messages"]
            assert messages[: len(earlier)] == earlier
            assert "84" in messages[-1]["content"]
            status = client.get(f"/threads/{thread_id}").json()["status"]
            assert status == "idle"
    finally:
        second.stop()
