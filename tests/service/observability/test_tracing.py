"""Tracing switched by the standard OTEL_* variables, on the in-process server with the fake
model, exporting to a real OTLP/HTTP receiver on loopback; and the span callback's edge cases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackManager
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tracers import LangChainTracer
from langchain_core.tracers.langchain import wait_for_all_tracers
from langgraph.errors import GraphInterrupt
from langsmith.utils import get_env_var
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.fakes import FakeToolCallingModel
from tests.otlp_receiver import OtlpReceiver, otlp_receiver
from tests.service.live_server import StartServer
from threadloom.service.errors import ConfigurationError
from threadloom.service.observability import tracing as tracing_module
from threadloom.service.observability.graph_spans import GraphSpans
from threadloom.service.observability.tracing import TRACING_OFF, RunTrace, Tracing

ERROR_STATUS = 2  # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR
OTEL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_EXPORTER",
    "OTEL_TRACES_SAMPLER",
)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    """A receiver, with no OTEL_* variable of the test's environment left over."""
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with otlp_receiver() as found:
        yield found


def ask(text: str) -> dict[str, Any]:
    return {"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": text}]}}


async def run_once(start: StartServer, headers: dict[str, str] | None = None) -> str:
    """Start a server, run the calculator question to its end, stop the server (which exports
    the spans still buffered); the run's id."""
    server = await start()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.post("/runs/wait", json=ask("what is 6 * 7?"), headers=headers)
    assert response.json()["messages"][-1]["content"] == "The answer is 42."
    await server.stop()
    return response.headers["content-location"].rsplit("/", 1)[-1]


async def test_traces_endpoint_headers_and_default_service_name(
    receiver: OtlpReceiver, start: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{receiver.url}/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer collector-key")
    client_trace, client_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    run_id = await run_once(start, {"traceparent": f"00-{client_trace}-{client_span}-01"})

    # No waiting: shutting the server down exported what was buffered.
    [run] = receiver.named("run")
    assert run.attributes["threadloom.run_id"] == run_id
    assert run.resource["service.name"] == "threadloom"
    assert {h["authorization"] for h in receiver.trace_headers} == {"Bearer collector-key"}
    # The client's `traceparent` makes the request, and so the run, part of the client's trace.
    [request] = receiver.named("POST /runs/wait")
    assert (request.trace_id, request.parent_span_id) == (client_trace, client_span)
    assert run.parent_span_id == request.span_id
    names = [span.name for span in receiver.spans if span.trace_id == run.trace_id]
    assert sorted(names) == sorted(
        [
            "POST /runs/wait",
            "run",
            "node agent",
            "node agent",
            "node tools",
            "chat fake-tool-calling",
            "chat fake-tool-calling",
            "execute_tool calculator",
        ]
    )


async def test_a_cancelled_run_is_interrupted_not_failed(
    receiver: OtlpReceiver, start: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    model = FakeToolCallingModel(gate=asyncio.Event(), started=asyncio.Event())
    server = await start(model=model)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        run_id = (await client.post(f"/threads/{thread_id}/runs", json=ask("hi"))).json()["run_id"]
        await model.started.wait()
        cancel = f"/threads/{thread_id}/runs/{run_id}/cancel"
        assert (await client.post(cancel, params={"wait": 1})).status_code == 200
    await server.stop()

    [run] = receiver.named("run")
    assert run.attributes["threadloom.run.status"] == "interrupted"
    [node] = receiver.named("node agent")
    assert node.parent_span_id == run.span_id
    [chat] = [s for s in receiver.spans if s.name.startswith("chat ")]
    assert node.attributes["threadloom.cancelled"] is True
    # LangChain reports no end for a cancelled model call: the run's end closes its span.
    assert chat.attributes["threadloom.unfinished"] is True
    assert chat.parent_span_id == node.span_id
    for span in (run, node, chat):
        assert span.status_code != ERROR_STATUS


async def test_the_sampler_variable_is_honoured(
    receiver: OtlpReceiver, start: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    await run_once(start)
    assert receiver.spans == []


@pytest.mark.parametrize(
    "switch_off", [{}, {"OTEL_SDK_DISABLED": "true"}, {"OTEL_TRACES_EXPORTER": "none"}]
)
async def test_off_makes_no_provider_and_sends_nothing(
    switch_off: dict[str, str],
    receiver: OtlpReceiver,
    start: StartServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if switch_off:  # an endpoint, but the switch says no
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    for name, value in switch_off.items():
        monkeypatch.setenv(name, value)
    providers: list[object] = []
    monkeypatch.setattr(tracing_module, "TracerProvider", lambda **kw: providers.append(kw))

    await run_once(start)

    assert providers == []
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    assert receiver.spans == [] and receiver.other_requests == []
    assert Tracing.from_environment() is TRACING_OFF


def test_off_leaves_the_run_config_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    config = RunnableConfig(tags=["x"])
    with Tracing.from_environment().run_span(None) as run_trace:  # type: ignore[arg-type]
        assert run_trace.config(config) is config


def test_an_otlp_protocol_other_than_http_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    with pytest.raises(ConfigurationError, match="http/protobuf"):
        Tracing.from_environment()


@pytest.fixture
def langsmith_on(monkeypatch: pytest.MonkeyPatch, receiver: OtlpReceiver) -> Iterator[None]:
    """LangSmith's variables, its API being the receiver (langsmith caches what it read)."""
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2-test-key")
    monkeypatch.setenv("LANGSMITH_ENDPOINT", receiver.url)
    get_env_var.cache_clear()
    yield
    wait_for_all_tracers()
    monkeypatch.undo()
    get_env_var.cache_clear()


@pytest.mark.usefixtures("langsmith_on")
def test_langsmith_tracer_stays_beside_the_span_callback(receiver: OtlpReceiver) -> None:
    provider = TracerProvider()
    graph_spans = GraphSpans(provider.get_tracer("test"), otel_context.get_current())
    run_trace = RunTrace(trace.INVALID_SPAN, graph_spans)

    def handlers(_: Any, config: RunnableConfig) -> list[type]:
        manager = config["callbacks"]
        assert isinstance(manager, BaseCallbackManager)
        return [type(handler) for handler in manager.handlers]

    seen = RunnableLambda(handlers).invoke(None, run_trace.config(RunnableConfig()))
    assert GraphSpans in seen and LangChainTracer in seen
    receiver.wait_for(lambda r: any(path.startswith("/runs") for path, _, _ in r.other_requests))


class _Spans:
    """A GraphSpans over an in-memory exporter, for the callback's edge cases."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.handler = GraphSpans(provider.get_tracer("test"), otel_context.get_current())

    def finished(self) -> dict[str, Any]:
        return {span.name: span for span in self.exporter.get_finished_spans()}


def _start_node(spans: _Spans, name: str) -> Any:
    node_id = uuid4()
    spans.handler.on_chain_start(
        {}, {}, run_id=node_id, name=name, metadata={"langgraph_node": name}
    )
    return node_id


def test_an_interrupt_is_not_an_error_and_a_failing_tool_is() -> None:
    spans = _Spans()
    node_id, tool_id = _start_node(spans, "tools"), uuid4()
    spans.handler.on_tool_start({"name": "search"}, "{}", run_id=tool_id, parent_run_id=node_id)
    spans.handler.on_tool_error(RuntimeError("no network"), run_id=tool_id)
    spans.handler.on_chain_error(GraphInterrupt(()), run_id=node_id)

    finished = spans.finished()
    tool, node = finished["execute_tool search"], finished["node tools"]
    assert tool.attributes["threadloom.tool.outcome"] == "error"
    assert tool.status.status_code == trace.StatusCode.ERROR
    assert tool.parent.span_id == node.context.span_id
    assert node.attributes["langgraph.interrupted"] is True
    assert node.status.status_code == trace.StatusCode.UNSET


def test_a_cancelled_tool_call_is_no_error() -> None:
    spans = _Spans()
    node_id, tool_id = _start_node(spans, "tools"), uuid4()
    spans.handler.on_tool_start({"name": "calculator"}, "{}", run_id=tool_id, parent_run_id=node_id)
    spans.handler.on_tool_error(asyncio.CancelledError(), run_id=tool_id)

    tool = spans.finished()["execute_tool calculator"]
    assert tool.attributes["threadloom.tool.outcome"] == "cancelled"
    assert tool.status.status_code == trace.StatusCode.UNSET


def test_calls_that_never_end_are_ended_with_the_run() -> None:
    spans = _Spans()
    node_id, tool_id = _start_node(spans, "tools"), uuid4()
    spans.handler.on_tool_start({"name": "calculator"}, "{}", run_id=tool_id, parent_run_id=node_id)
    assert spans.finished() == {}

    spans.handler.end_open_spans()

    finished = spans.finished()
    assert finished["execute_tool calculator"].attributes["threadloom.tool.outcome"] == "cancelled"
    assert finished["node tools"].attributes["threadloom.unfinished"] is True
