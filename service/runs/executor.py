"""Executes one run: streams the run's graph and writes the API's events to the run's log."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.pregel import Pregel
from langgraph.types import StateSnapshot

from threadloom.service.deployment.graph_registry import GraphRegistry
from threadloom.service.errors import error_event
from threadloom.service.http.json_codec import dumps
from threadloom.service.observability.tracing import TRACING_OFF, AnyRunTrace, Tracing
from threadloom.service.runs.events import EventLog, RunEvent
from threadloom.service.runs.spec import RunSpec
from threadloom.service.runs.stream_modes import ChunkTranslator, graph_stream_modes
from threadloom.service.storage.records import RunStatus

logger = logging.getLogger(__name__)

Chunk = tuple[tuple[str, ...], str, Any]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a run ended, and what a `wait` request answers with."""

    status: RunStatus
    result: Any
    error: BaseException | None = None


def encode(name: str, data: Any) -> RunEvent:
    return RunEvent(name, dumps(data))


def metadata_event(spec: RunSpec) -> RunEvent:
    """A run's first event: which run, and which attempt at it."""
    return encode("metadata", {"run_id": spec.run_id, "attempt": spec.attempt})


def failed(log: EventLog, exc: BaseException, status: RunStatus = "error") -> RunOutcome:
    """Report `exc` as the run's `error` event and make it the run's outcome."""
    payload = error_event(exc)
    log.append(encode("error", payload))
    return RunOutcome(status, {"__error__": payload}, exc)


class RunExecutor:
    """Streams, for each run, the graph of its assistant; all of them checkpoint to
    `checkpointer`."""

    def __init__(
        self,
        graphs: GraphRegistry,
        checkpointer: BaseCheckpointSaver,
        tracing: Tracing = TRACING_OFF,
    ) -> None:
        self.graphs = graphs
        self.checkpointer = checkpointer
        self.tracing = tracing

    async def execute(self, spec: RunSpec, log: EventLog) -> RunOutcome:
        """Run the graph to its end, an interrupt or a failure; only cancellation propagates."""
        with self.tracing.run_span(spec) as run_trace:
            outcome = await self._execute(spec, log, run_trace)
            run_trace.ended(outcome.status)
            return outcome

    async def _execute(self, spec: RunSpec, log: EventLog, run_trace: AnyRunTrace) -> RunOutcome:
        started = time.perf_counter()
        translator = ChunkTranslator(spec.request.stream_mode)
        logger.info("run started run_id=%s thread_id=%s", spec.run_id, spec.thread_id)
        try:
            config = run_trace.config(spec.config())
            async with (
                self.graphs.open(spec.assistant.graph_id, config) as graph,
                aclosing(self._chunks(graph, spec, config)) as chunks,
            ):
                async for namespace, mode, chunk in chunks:
                    for name, data in translator.translate(namespace, mode, chunk):
                        log.append(encode(name, data))
                values = translator.latest_values
                if values is None:  # nothing streamed (e.g. resuming a finished thread)
                    values = (await graph.aget_state(_thread_config(spec.thread_id))).values
            outcome = RunOutcome("success", values)
        except Exception as exc:  # a failing graph is reported to the client, not raised
            # The message and traceback: the graph's own bug is found from this line.
            logger.warning(
                "run failed run_id=%s thread_id=%s error=%s message=%r",
                spec.run_id,
                spec.thread_id,
                type(exc).__name__,
                str(exc),
                exc_info=exc,
            )
            outcome = failed(log, exc)
        logger.info(
            "run finished run_id=%s thread_id=%s status=%s duration_ms=%d",
            spec.run_id,
            spec.thread_id,
            outcome.status,
            (time.perf_counter() - started) * 1000,
        )
        return outcome

    async def has_checkpoints_of(self, thread_id: str, run_id: str) -> bool:
        """Whether the run already wrote a checkpoint on the thread (an earlier attempt did)."""
        config = {"configurable": {"thread_id": thread_id}}
        async for _ in self.checkpointer.alist(config, filter={"run_id": run_id}, limit=1):
            return True
        return False

    async def snapshot(self, thread_id: str, graph_id: str | None) -> StateSnapshot:
        """The thread's latest checkpointed state, read through its graph (None: the default
        graph, for a thread that was never run)."""
        config = _thread_config(thread_id)
        async with self.graphs.open(graph_id, config) as graph:
            return await graph.aget_state(config)

    async def last_values(self, spec: RunSpec) -> Any:
        """The values of the run's thread as last checkpointed; {} (logged) if they cannot be
        read, so a run still settles then. Reading them runs the user's graph code (its
        channels' reducers, message coercion), which may raise anything: hence `Exception`."""
        try:
            return (await self.snapshot(spec.thread_id, spec.assistant.graph_id)).values
        except Exception as exc:
            logger.warning(
                "run values not read run_id=%s thread_id=%s error=%s",
                spec.run_id,
                spec.thread_id,
                type(exc).__name__,
                exc_info=logger.isEnabledFor(logging.DEBUG),
            )
            return {}

    async def _chunks(
        self, graph: Pregel, spec: RunSpec, config: RunnableConfig
    ) -> AsyncIterator[Chunk]:
        modes = graph_stream_modes(spec.request.stream_mode)
        options = spec.stream_options()
        subgraphs = options["subgraphs"]
        graph_input = spec.graph_input()
        if "events" not in spec.request.stream_mode:
            async for item in graph.astream(graph_input, config, stream_mode=modes, **options):
                yield _as_chunk(item, subgraphs)
            return
        # `events` needs astream_events; the graph's own stream chunks ride inside it as the
        # root run's on_chain_stream events.
        async for event in graph.astream_events(
            graph_input, config, version="v2", stream_mode=modes, **options
        ):
            if event["event"] == "on_chain_stream" and event["run_id"] == spec.run_id:
                yield _as_chunk(event["data"]["chunk"], subgraphs)
            elif "langsmith:hidden" not in event.get("tags", ()):
                yield (), "events", event


def _thread_config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def _as_chunk(item: Any, subgraphs: bool) -> Chunk:
    if subgraphs:
        namespace, mode, chunk = item
        return tuple(namespace), mode, chunk
    mode, chunk = item
    return (), mode, chunk
