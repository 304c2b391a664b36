"""threadloom's remote path against a real OpenAI-compatible server: `transformers serve`.

One `transformers serve` of the bundled model and one `threadloom serve` pointed at it with
THREADLOOM_ENDPOINT_URL alone (the model name comes from the server's /v1/models, the tool-call
markup it leaves in the text is parsed by threadloom) serve the whole module.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.server_process import ServerProcess
from tests.e2e.sse import Frame, parse_frames, stream_run
from tests.e2e.test_agent_over_http import (
    SEED_ANSWER_NUMBER,
    SEED_QUESTION,
    _final_text,
    _tool_calls,
    _tool_results,
)
from tests.e2e.transformers_serve import TransformersServe

pytestmark = pytest.mark.slow

STREAM_MODES = ["messages-tuple", "updates", "values"]


@pytest.fixture(scope="module")
def model_server() -> Iterator[TransformersServe]:
    server = TransformersServe()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def threadlooms(
    model_server: TransformersServe, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two `threadloom serve`s, started side by side: one with THREADLOOM_ENDPOINT_URL alone,
    one also naming a model the server does not serve."""
    folder = tmp_path_factory.mktemp("remote")
    pointed = {"THREADLOOM_ENDPOINT_URL": model_server.url}
    plain = ServerProcess(folder / "plain.sqlite", env=pointed)
    misnamed = ServerProcess(
        folder / "misnamed.sqlite", env={**pointed, "THREADLOOM_ENDPOINT_MODEL": "org/nope"}
    )
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(ServerProcess.start, (plain, misnamed)))
        yield plain, misnamed
    finally:
        plain.stop()
        misnamed.stop()


@pytest.fixture(scope="module")
def threadloom(threadlooms: tuple[ServerProcess, ServerProcess]) -> ServerProcess:
    return threadlooms[0]


def _ask(text: str) -> dict:
    return {
        "assistant_id": "agent",
        "input": {"messages": [{"role": "user", "content": text}]},
        "stream_mode": STREAM_MODES,
    }


def _new_thread(client: httpx.Client) -> str:
    return client.post("/threads", json={}).json()["thread_id"]


def _errors(frames: list[Frame]) -> list[dict]:
    return [frame.data for frame in frames if frame.event == "error"]


def test_seed_question_streams_search_calculator_and_answer(
    threadloom: ServerProcess, model_server: TransformersServe
) -> None:
    with httpx.Client(base_url=threadloom.url) as client:
        path = f"/threads/{_new_thread(client)}/runs/stream"
        response, frames = stream_run(client, path, _ask(SEED_QUESTION))

    assert response.status_code == 200
    assert _errors(frames) == []
    calls = _tool_calls(frames)
    assert [call["name"] for call in calls] == ["search", "calculator"]
    assert "28" in calls[1]["args"]["expression"]
    results = _tool_results(frames)
    assert "Vittoria Ceretti" in results[0]
    assert results[1] == SEED_ANSWER_NUMBER
    answer = _final_text(frames)
    assert "Vittoria Ceretti" in answer and SEED_ANSWER_NUMBER in answer
    # Tokens stream as `messages` events; the server's raw <tool_call> text never shows.
    chunks = [frame.data[0] for frame in frames if frame.event == "messages"]
    tokens = [chunk["content"] for chunk in chunks if chunk["content"]]
    assert len(tokens) > 5
    assert not any("tool_call" in token for token in tokens)
    assert sum(1 for chunk in chunks if chunk.get("tool_call_chunks")) == 2
    assert "".join(tokens).endswith(answer)
    # The model name threadloom found at start-up is the one the server serves.
    assert threadloom.wait_for_log("serves model=").rstrip().endswith(model_server.model_id)


def test_info_names_the_remote_servers_tried(threadloom: ServerProcess) -> None:
    servers = httpx.get(f"{threadloom.url}/info").json()["remote_servers"]

    by_name = {server["name"]: server for server in servers}
    assert set(by_name) == {
        "transformers serve",
        "vLLM",
        "SGLang",
        "llama.cpp server",
        "Hugging Face Inference Endpoints (TGI)",
    }
    assert by_name["transformers serve"]["verified"].startswith("run in CI")
    assert all(server["settings"].startswith("THREADLOOM_ENDPOINT_URL=") for server in servers)


def test_a_model_name_the_server_does_not_serve_is_a_clear_error(
    threadlooms: tuple[ServerProcess, ServerProcess], model_server: TransformersServe
) -> None:
    misnamed = threadlooms[1]
    with httpx.Client(base_url=misnamed.url) as client:
        path = f"/threads/{_new_thread(client)}/runs/stream"
        _, frames = stream_run(client, path, _ask("compute 17*23"))

    # Only warned about at start-up: llama.cpp's server and TGI answer any name.
    assert "org/nope is not among the models" in "".join(misnamed.log)
    [error] = _errors(frames)
    assert error["error"] == "EndpointError"
    message = error["message"]
    assert "answered 400" in message and "pinned to" in message and "org/nope" in message
    assert f"offers the models {model_server.model_id}" in message
    assert "THREADLOOM_ENDPOINT_MODEL" in message


def test_the_server_stopped_mid_run_fails_the_run_and_keeps_the_thread(
    threadloom: ServerProcess, model_server: TransformersServe
) -> None:
    with httpx.Client(base_url=threadloom.url, timeout=300) as client:
        thread_id = _new_thread(client)
        path = f"/threads/{thread_id}/runs/stream"
        with client.stream("POST", path, json=_ask(SEED_QUESTION)) as response:
            raw = b""
            for data in response.iter_bytes():
                raw += data
                if b"event: messages" in raw and model_server.process is not None:
                    # Frozen first, so no more tokens go out before it dies.
                    model_server.process.send_signal(signal.SIGSTOP)
                    model_server.kill()
        frames = parse_frames(raw)

        errors = _errors(frames)
        assert len(errors) == 1
        assert errors[0]["error"] == "EndpointError"
        assert model_server.url in errors[0]["message"]
        assert "THREADLOOM_ENDPOINT_URL" in errors[0]["message"]
        thread = client.get(f"/threads/{thread_id}").json()
        assert thread["status"] == "error"
        state = client.get(f"/threads/{thread_id}/state").json()
        assert state["values"]["messages"][0]["content"] == SEED_QUESTION
        assert state["next"], "the failed step is still to be run"

        # While the server is down, a run fails at once with the same clear error.
        _, frames = stream_run(client, path, {**_ask(SEED_QUESTION), "input": None})
        assert "Cannot reach the model endpoint" in _errors(frames)[0]["message"]

        # Back on the same port: the thread resumes from its last checkpoint and finishes.
        model_server.start()
        _, frames = stream_run(client, path, {**_ask(SEED_QUESTION), "input": None})
        assert _errors(frames) == []
        answer = _final_text(frames)
        assert "Vittoria Ceretti" in answer and SEED_ANSWER_NUMBER in answer
        messages = client.get(f"/threads/{thread_id}/state").json()["values"]["messages"]
        assert [m["content"] for m in messages].count(SEED_QUESTION) == 1
        assert client.get(f"/threads/{thread_id}").json()["status"] == "idle"
