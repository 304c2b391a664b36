"""What the app opens while it serves: storage, the graphs, the runs core, upkeep and the cron
scheduler (`open_services`); the app's lifespan around them (`app_lifespan`); and `drain`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from threadloom.service.assistants import Assistants
from threadloom.service.crons.jobs import CronJobs
from threadloom.service.crons.scheduler import CronScheduler
from threadloom.service.deployment.custom_app import CustomApp
from threadloom.service.deployment.graph_registry import GraphRegistry, GraphValue
from threadloom.service.deployment.store_index import load_store_index
from threadloom.service.http.configurable_headers import HeaderFilter
from threadloom.service.http.deps import Services
from threadloom.service.observability.metrics import Metrics
from threadloom.service.observability.run_observer import RunObserver
from threadloom.service.observability.tracing import TRACING_OFF, Tracing
from threadloom.service.protocols.assistant_tools import AssistantTools
from threadloom.service.protocols.mcp import McpEndpoint
from threadloom.service.runs.active import RunStores
from threadloom.service.runs.events import EventLogs
from threadloom.service.runs.executor import RunExecutor
from threadloom.service.runs.manager import RunManager
from threadloom.service.runs.queue import RunQueue
from threadloom.service.runs.upkeep import Upkeep
from threadloom.service.runs.webhooks import WebhookPolicy, WebhookSender
from threadloom.service.settings import Settings
from threadloom.service.storage.assistants import AssistantStore
from threadloom.service.storage.backends import Storage, open_storage
from threadloom.service.storage.crons import Crons
from threadloom.service.storage.graph_store import GraphStore
from threadloom.service.storage.store_items import StoreItems
from threadloom.service.storage.thread_heads import ThreadHeads
from threadloom.service.storage.thread_ttls import CheckpointerTtl
from threadloom.service.threads.record import ThreadRecorder
from threadloom.service.threads.ttl_sweeper import ThreadSweeper
from threadloom.service.threads.watch import ThreadWatches

logger = logging.getLogger(__name__)

# How long shutdown waits for the last run events to reach the database.
EVENT_FLUSH_TIMEOUT_S = 10.0
# How long shutdown lets webhooks of runs that just ended be delivered.
WEBHOOK_FLUSH_TIMEOUT_S = 5.0


def app_lifespan(
    settings: Settings,
    graphs: Mapping[str, GraphValue],
    tracing: Tracing,
    mcp_endpoint: McpEndpoint,
    custom: CustomApp | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: exports traces, opens the services (`app.state.services`) while
    the model status says loading, serves MCP over them, then the user app's own lifespan.
    The app's metrics and model status are read from `app.state` when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(tracing.exporting())
            with app.state.model_status.loading():
                opened = open_services(settings, graphs, tracing, app.state.metrics)
                services = await stack.enter_async_context(opened)
            app.state.services = services
            tools = AssistantTools(
                services.run_manager,
                services.assistants,
                lambda assistant: services.graphs.open(assistant.graph_id, assistant.config),
            )
            await stack.enter_async_context(mcp_endpoint.running(tools))
            if custom is not None:
                await stack.enter_async_context(custom.lifespan(app))
            yield

    return lifespan


@asynccontextmanager
async def open_services(
    settings: Settings,
    graphs: Mapping[str, GraphValue],
    tracing: Tracing = TRACING_OFF,
    metrics: Metrics | None = None,
) -> AsyncIterator[Services]:
    """Open the storage (SQLite file or PostgreSQL), serve `graphs` with its checkpointer and
    store, settle the runs a stopped server left, and serve until closed, with the cron
    scheduler running; closing interrupts the runs still going. Runs and statements are
    counted in `metrics` if given."""
    observe_statement = metrics.observe_statement if metrics else None
    async with open_storage(settings, observe_statement) as storage:
        store_items = StoreItems(storage.database, await load_store_index(settings.store_index))
        registry = GraphRegistry(graphs, storage.checkpointer, GraphStore(store_items))
        assistants = Assistants(AssistantStore(storage.database), registry.graph_ids)
        await assistants.install()
        stores = RunStores(
            storage.database,
            storage.threads,
            storage.runs,
            RunQueue(storage.runs, storage.wakeups),
            EventLogs(storage.events, storage.wakeups),
        )
        webhooks = WebhookSender(WebhookPolicy.from_settings(settings))
        executor = RunExecutor(registry, storage.checkpointer, tracing)
        thread_record = ThreadRecorder(executor, storage.threads)
        run_manager = RunManager(
            executor,
            stores,
            assistants,
            webhooks,
            thread_record,
            retry_recovered=settings.recovery == "retry",
            observer=RunObserver(metrics),
        )
        await run_manager.recover(at_start_up=True)
        services = Services(
            settings=settings,
            graphs=registry,
            checkpointer=storage.checkpointer,
            threads=storage.threads,
            runs=storage.runs,
            run_queue=stores.queue,
            run_manager=run_manager,
            assistants=assistants,
            thread_record=thread_record,
            store_items=store_items,
            cron_jobs=_cron_jobs(
                settings, storage, stores.queue, run_manager, assistants, webhooks.policy
            ),
            thread_watches=ThreadWatches(
                ThreadHeads(storage.database),
                stores.queue.admissions,
                poll_interval_s=settings.poll_interval_s,
            ),
            run_headers=HeaderFilter.from_settings(settings),
        )
        async with _serving(services, storage, stores, webhooks):
            yield services


def _cron_jobs(
    settings: Settings,
    storage: Storage,
    queue: RunQueue,
    run_manager: RunManager,
    assistants: Assistants,
    webhook_policy: WebhookPolicy,
) -> CronJobs:
    """The crons' routes' service, with the scheduler that fires them."""
    crons = Crons(storage.database)
    scheduler = CronScheduler(
        crons, run_manager, queue, poll_interval_s=settings.poll_interval_s
    )
    return CronJobs(
        crons,
        storage.threads,
        assistants,
        scheduler,
        webhook_policy,
        min_interval_s=settings.cron_min_interval_s,
    )


@asynccontextmanager
async def _serving(
    services: Services,
    storage: Storage,
    stores: RunStores,
    webhooks: WebhookSender,
) -> AsyncIterator[None]:
    """Upkeep and the cron scheduler while the block runs; then the runs still going are
    interrupted, and the last webhooks and events flushed."""
    settings = services.settings
    logger.info(
        "service ready storage=%s replica=%s model=%s",
        storage.location,
        storage.replica_id,
        settings.model,
    )
    thread_ttl = CheckpointerTtl.from_setting(settings.checkpointer_ttl)
    upkeep = Upkeep(
        stores.queue,
        services.run_manager.recover,
        storage.events,
        storage.wakeups,
        services.store_items,
        ThreadSweeper(storage.threads.ttls, storage.checkpointer, limit=thread_ttl.sweep_limit),
        lease_ttl_s=settings.lease_ttl_s,
        retention_s=settings.event_log_retention_s,
        sweep_interval_s=thread_ttl.sweep_interval_minutes * 60,
    )
    try:
        # The scheduler stops first, so it starts no run while the others are shut down.
        async with upkeep.running(), services.cron_jobs.scheduler.running():
            try:
                yield
            finally:
                # Runs end (interrupted) while their leases are still renewed.
                await services.run_manager.shutdown()
    finally:
        await webhooks.aclose(WEBHOOK_FLUSH_TIMEOUT_S)
        await stores.logs.aclose(EVENT_FLUSH_TIMEOUT_S)
        await stores.queue.aclose()


async def drain(services: Services) -> None:
    """Stop taking runs (503), give the running ones `drain_grace_s` to finish, then interrupt
    the rest; the threads keep their last checkpoints, so new runs can resume them."""
    queue, grace_s = services.run_queue, services.settings.drain_grace_s
    queue.stop_admitting()
    logger.info("draining: no new runs; waiting up to %g s for running ones", grace_s)
    if not await queue.wait_idle(grace_s):
        logger.warning("drain grace period over: interrupting the runs still going")
    await services.run_manager.shutdown()
