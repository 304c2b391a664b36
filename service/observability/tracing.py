"""OpenTelemetry tracing: off unless an OTLP endpoint is configured by the standard variables.

With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, the server
exports spans over OTLP/HTTP (protobuf): one per HTTP request
(`service.observability.request_spans`), one per
run, and inside the run one per graph node, model call and tool call
(`service.observability.graph_spans`), so
that one run is one trace. The exporter, the batch processor and the sampler read their own
standard variables (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_SCHEDULE_DELAY`,
`OTEL_TRACES_SAMPLER`, ...); `OTEL_SERVICE_NAME` names the service (default "threadloom").

The tracer provider belongs to the app (it is not installed as OpenTelemetry's global one), so
nothing else in the process is traced by accident. Turned off, a run costs one attribute check:
no provider exists, no span is made and no callback is attached to the graph.

Example:
    >>> tracing = Tracing.from_environment()
    >>> with tracing.run_span(spec) as run_trace:
    ...     await graph.ainvoke(graph_input, run_trace.config(spec.config()))
    ...     run_trace.ended("success")
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager, nullcontext
from typing import TYPE_CHECKING

from langchain_core.runnables import RunnableConfig
from opentelemetry import context as otel_context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from threadloom.service.errors import ConfigurationError
from threadloom.service.observability.graph_spans import GraphSpans
from threadloom.service.observability.request_spans import RequestSpans

if TYPE_CHECKING:
    from fastapi import FastAPI

    from threadloom.service.runs.spec import RunSpec

logger = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
DEFAULT_SERVICE_NAME = "threadloom"
# Run statuses that are an outcome, not a failure of the server (the span's status stays unset).
FAILED_STATUSES = frozenset({"error", "timeout"})


def tracing_configured(environ: Mapping[str, str]) -> bool:
    """Whether the standard variables ask for traces: an OTLP endpoint, the SDK not disabled,
    and the traces exporter not set to "none"."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def _check_protocol(environ: Mapping[str, str]) -> None:
    for name in PROTOCOL_VARIABLES:
        protocol = environ.get(name, "").strip().lower()
        if protocol and protocol != "http/protobuf":
            raise ConfigurationError(
                f"{name}={protocol!r}: threadloom exports traces over OTLP/HTTP only; set it to "
                "'http/protobuf' (or unset it) and point the endpoint at the collector's HTTP "
                "port (usually 4318)."
            )
        if protocol:
            return


def _traces_endpoint(environ: Mapping[str, str]) -> str:
    """Where the exporter sends spans (it reads the same variables itself)."""
    if traces := environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip():
        return traces
    return environ["OTEL_EXPORTER_OTLP_ENDPOINT"].strip().rstrip("/") + "/v1/traces"


def _resource() -> Resource:
    """The process's resource from `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`, named
    "threadloom" when neither names the service."""
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return resource


class RunTrace:
    """The span of one run while it executes: it gives the graph's config the callback that
    adds node, model and tool spans under it, and records how the run ended."""

    def __init__(self, span: Span, graph_spans: GraphSpans) -> None:
        self.span = span
        self.graph_spans = graph_spans

    def config(self, config: RunnableConfig) -> RunnableConfig:
        """`config` with the span callback added beside any callbacks it has (LangSmith's
        tracer is added by LangChain itself from its variables, so it stays)."""
        callbacks = config.get("callbacks")
        if callbacks is None:
            handlers = [self.graph_spans]
        elif isinstance(callbacks, list):
            handlers = [*callbacks, self.graph_spans]
        else:  # a callback manager
            handlers = callbacks.copy()
            handlers.add_handler(self.graph_spans, inherit=True)
        return RunnableConfig(**{**config, "callbacks": handlers})

    def ended(self, status: str) -> None:
        self.span.set_attribute("threadloom.run.status", status)
        if status in FAILED_STATUSES:
            self.span.set_status(Status(StatusCode.ERROR, f"run ended with status {status}"))


class UntracedRun:
    """What `run_span` gives when tracing is off: the config unchanged, nothing recorded."""

    def config(self, config: RunnableConfig) -> RunnableConfig:
        return config

    def ended(self, status: str) -> None:
        pass


UNTRACED_RUN = UntracedRun()
# What `run_span` gives, on or off.
AnyRunTrace = RunTrace | UntracedRun


class Tracing:
    """The app's tracer, or None when tracing is off; `TRACING_OFF` is the off one."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self.provider = provider
        self.tracer: Tracer | None = provider.get_tracer("threadloom") if provider else None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Tracing:
        """On (exporting over OTLP/HTTP) when the standard variables configure an endpoint.

        Raises `ConfigurationError` for an OTLP protocol other than http/protobuf.
        """
        environ = os.environ if environ is None else environ
        if not tracing_configured(environ):
            return TRACING_OFF
        _check_protocol(environ)
        provider = TracerProvider(resource=_resource())
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        logger.info("tracing on: OTLP/HTTP export to %s", _traces_endpoint(environ))
        return cls(provider)

    @property
    def on(self) -> bool:
        return self.tracer is not None

    def instrument(self, app: FastAPI) -> None:
        """Give every HTTP request a span (added last, so it is the outermost middleware and
        times requests that auth or the body limit refuse as well)."""
        if self.tracer is not None:
            app.add_middleware(RequestSpans, tracer=self.tracer)

    def run_span(self, spec: RunSpec) -> AbstractContextManager[AnyRunTrace]:
        """A span over one run's execution, the child of the current span: the request that
        started the run, whose context the run's task copied when it was created (a run
        started later, from the queue, still joins that trace)."""
        if self.tracer is None:
            return nullcontext(UNTRACED_RUN)
        return self._run_span(self.tracer, spec)

    @contextmanager
    def _run_span(self, tracer: Tracer, spec: RunSpec) -> Iterator[RunTrace]:
        attributes = {
            "threadloom.run_id": spec.run_id,
            "threadloom.thread_id": spec.thread_id,
            "threadloom.graph_id": spec.assistant.graph_id,
            "threadloom.assistant_id": spec.assistant.assistant_id,
            "threadloom.run.attempt": spec.attempt,
        }
        with tracer.start_as_current_span(
            "run",
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            # Only cancellation leaves `execute`: an interrupted run, not a failure.
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            graph_spans = GraphSpans(tracer, otel_context.get_current())
            try:
                yield RunTrace(span, graph_spans)
            except asyncio.CancelledError:
                span.set_attribute("threadloom.run.status", "interrupted")
                raise
            finally:
                # Spans of calls that never reported an end (a tool cut by its timeout).
                graph_spans.end_open_spans()

    @asynccontextmanager
    async def exporting(self) -> AsyncIterator[None]:
        """While the app serves; on the way out, export the spans still buffered (the last
        runs' spans end during shutdown) and stop the exporter."""
        try:
            yield
        finally:
            if self.provider is not None:
                await asyncio.to_thread(self.provider.shutdown)


TRACING_OFF = Tracing()
