"""OpenTelemetry traces of the real `threadloom serve` (bundled model), as a collector gets them:
exported over OTLP/HTTP to a receiver on loopback that decodes the protobuf."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.server_process import ServerProcess
from tests.e2e.sse import stream_run
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan, otlp_receiver

pytestmark = pytest.mark.slow

STREAM_ROUTE = "POST /threads/{thread_id}/runs/stream"
BACKGROUND_ROUTE = "POST /threads/{thread_id}/runs"
SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SPAN_KIND_SERVER
ERROR_STATUS = 2  # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR


@pytest.fixture(scope="module")
def traced(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, OtlpReceiver]]:
    """A server exporting traces to a receiver, which also stands in for LangSmith's API."""
    with otlp_receiver() as receiver:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "OTEL_SERVICE_NAME": "threadloom-under-test",
            "LANGSMITH_TRACING": "true",
            "LANGSMITH_API_KEY": "lsv2-test-key",
            "LANGSMITH_ENDPOINT": receiver.url,
        }
        server = ServerProcess(tmp_path_factory.mktemp("traced") / "threadloom.sqlite", env=env)
        server.start()
        try:
            yield server, receiver
        finally:
            server.stop()


def _ask(text: str) -> dict:
    return {"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": text}]}}


def _run_span(receiver: OtlpReceiver, run_id: str) -> ReceivedSpan:
    [span] = [s for s in receiver.named("run") if s.attributes["threadloom.run_id"] == run_id]
    return span


def _children(receiver: OtlpReceiver, parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [span for span in receiver.spans if span.parent_span_id == parent.span_id]


def test_a_streamed_run_with_a_tool_call_is_one_trace(
    traced: tuple[ServerProcess, OtlpReceiver],
) -> None:
    server, receiver = traced
    with httpx.Client(base_url=server.url, timeout=300) as client:
        thread_id = client.post("/threads", json={}).json()["thread_id"]
        body = {**_ask("compute 17*23"), "stream_mode": ["messages-tuple", "values"]}
        response, frames = stream_run(client, f"/threads/{thread_id}/runs/stream", body)
    assert response.status_code == 200
    assert "391" in frames[-1].data["messages"][-1]["content"]
    run_id = frames[0].data["run_id"]
    # The request's span ends last (after the stream's last byte); the exporter sends spans in
    # the order they ended, so once it is in, the run's are too.
    receiver.wait_for(
        lambda r: any(s.attributes.get("url.path", "").endswith("/runs/stream") for s in r.spans)
    )

    run = _run_span(receiver, run_id)
    assert run.attributes["threadloom.thread_id"] == thread_id
    assert run.attributes["threadloom.graph_id"] == "agent"
    assert run.attributes["threadloom.assistant_id"]
    assert run.attributes["threadloom.run.status"] == "success"
    assert run.resource["service.name"] == "threadloom-under-test"

    [request] = [s for s in receiver.spans if s.span_id == run.parent_span_id]
    assert request.name == STREAM_ROUTE
    assert request.kind == SERVER_KIND
    assert request.parent_span_id == ""
    assert request.attributes["http.route"] == "/threads/{thread_id}/runs/stream"
    assert request.attributes["http.response.status_code"] == 200

    trace = [s for s in receiver.spans if s.trace_id == run.trace_id]
    ids = {s.span_id for s in trace}
    assert all(s.parent_span_id in ids for s in trace if s is not request)

    nodes = _children(receiver, run)
    assert [n.name for n in nodes].count("node agent") == 2
    assert [n.name for n in nodes].count("node tools") == 1
    assert len(nodes) == 3

    models = [m for n in nodes if n.name == "node agent" for m in _children(receiver, n)]
    assert len(models) == 2
    for model in models:
        assert model.name.startswith("chat ")
        assert model.attributes["gen_ai.usage.input_tokens"] > 0
        assert model.attributes["gen_ai.usage.output_tokens"] > 0
        assert model.attributes["threadloom.time_to_first_token_s"] > 0
        assert "first_token" in model.events

    [tools_node] = [n for n in nodes if n.name == "node tools"]
    [tool] = _children(receiver, tools_node)
    assert tool.name == "execute_tool calculator"
    assert tool.attributes["gen_ai.tool.name"] == "calculator"
    assert tool.attributes["threadloom.tool.outcome"] == "ok"
    assert tool.status_code != ERROR_STATUS

    # Creating the thread was a request of its own: another trace.
    created = [s for s in receiver.named("POST /threads") if s.trace_id == run.trace_id]
    assert created == []

    # LangSmith's variables are set too: LangChain's own tracer still posts the run to
    # LANGSMITH_ENDPOINT (the receiver stands in for LangSmith's API).
    receiver.wait_for(lambda r: any(run_id.encode() in body for _, _, body in r.other_requests))
    posts = [(path, h) for path, h, body in receiver.other_requests if run_id.encode() in body]
    assert all(path.startswith("/runs") for path, _ in posts)
    assert posts[0][1]["x-api-key"] == "lsv2-test-key"


def test_a_background_run_joins_the_trace_of_the_request_that_created_it(
    traced: tuple[ServerProcess, OtlpReceiver],
) -> None:
    server, receiver = traced
    with httpx.Client(base_url=server.url, timeout=300) as client:
        thread_id = client.post("/threads", json={}).json()["thread_id"]
        created = client.post(f"/threads/{thread_id}/runs", json=_ask("hello"))
        assert created.status_code == 200
        run_id = created.json()["run_id"]
        joined = client.get(f"/threads/{thread_id}/runs/{run_id}/join")
        assert joined.json()["messages"][-1]["type"] == "ai"
    receiver.wait_for(
        lambda r: any(s.attributes.get("threadloom.run_id") == run_id for s in r.named("run"))
    )

    run = _run_span(receiver, run_id)
    [request] = [s for s in receiver.spans if s.span_id == run.parent_span_id]
    assert request.name == BACKGROUND_ROUTE
    assert request.trace_id == run.trace_id
    [node] = _children(receiver, run)
    assert node.name == "node agent"
    # Not streamed (no `messages` mode): the time to the first token is there all the same.
    [model] = _children(receiver, node)
    assert model.attributes["threadloom.time_to_first_token_s"] > 0
