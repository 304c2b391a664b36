"""`create_app`: the FastAPI application of the LangGraph Server API over the agent graph.

Example:
    >>> app = create_app(Settings(db=Path("data/dev.sqlite")))
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from langgraph.graph import StateGraph

from threadloom.service.agent import compile_agent, make_agent_graph
from threadloom.service.assistant_store import AssistantStore
from threadloom.service.assistants import GRAPH_ID, Assistants
from threadloom.service.auth import OPEN_PATHS, ApiKeyAuth, ApiKeys, is_loopback
from threadloom.service.auth_policy import AuthPolicy, PolicyAuth
from threadloom.service.crons.jobs import CronJobs
from threadloom.service.crons.scheduler import CronScheduler
from threadloom.service.deps import Services
from threadloom.service.errors import ConfigurationError, install_error_handlers
from threadloom.service.json_codec import JsonResponse
from threadloom.service.limits import BodySizeLimit
from threadloom.service.model_status import ModelStatus
from threadloom.service.observability.install import install_metrics, metrics_open_paths
from threadloom.service.observability.metrics import Metrics
from threadloom.service.observability.run_observer import RunObserver
from threadloom.service.routes import (
    assistants,
    crons,
    health,
    runs,
    stateless_runs,
    store,
    thread_maintenance,
    thread_state,
    thread_stream,
    threads,
)
from threadloom.service.runs.events import EventLogs
from threadloom.service.runs.executor import RunExecutor
from threadloom.service.runs.manager import RunManager
from threadloom.service.runs.queue import RunQueue
from threadloom.service.runs.thread_sweeper import ThreadSweeper
from threadloom.service.runs.upkeep import Upkeep
from threadloom.service.runs.webhooks import WebhookPolicy, WebhookSender
from threadloom.service.settings import Settings
from threadloom.service.storage.backends import open_storage
from threadloom.service.storage.crons import Crons
from threadloom.service.storage.graph_store import GraphStore
from threadloom.service.storage.store_items import StoreItems
from threadloom.service.storage.thread_ttls import CheckpointerTtl
from threadloom.service.store_index import check_store_index, load_store_index

logger = logging.getLogger(__name__)

GraphFactory = Callable[[Settings], StateGraph]
# How long shutdown waits for the last run events to reach the database.
EVENT_FLUSH_TIMEOUT_S = 10.0
# How long shutdown lets webhooks of runs that just ended be delivered.
WEBHOOK_FLUSH_TIMEOUT_S = 5.0
# Response headers a browser page may read, besides the CORS-safelisted ones.
EXPOSED_HEADERS = ["Content-Location", "X-Pagination-Total", "X-Pagination-Next"]


def create_app(settings: Settings, graph_factory: GraphFactory = make_agent_graph) -> FastAPI:
    """The API app; its lifespan opens the database and builds the graph with `graph_factory`.

    Tests inject a fake model with `graph_factory=partial(make_agent_graph, model=fake)`.
    Raises `ConfigurationError` for unusable API key, TTL, webhook or store index settings, an
    auth policy that cannot be loaded, or API keys and a policy at once.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            with model_status.loading():
                opened = open_services(settings, graph_factory, metrics)
                app.state.services = await stack.enter_async_context(opened)
            yield

    app = FastAPI(
        title="threadloom",
        summary="A LangGraph agent for open Hugging Face models, over the LangGraph Server API.",
        lifespan=lifespan,
        default_response_class=JsonResponse,
    )
    install_error_handlers(app)
    install_access_controls(app, settings)
    metrics = install_metrics(app)
    model_status = app.state.model_status = ModelStatus.of(settings)
    # Unusable sections of langgraph.json refuse the start before anything is opened.
    CheckpointerTtl.from_setting(settings.checkpointer_ttl)
    WebhookPolicy.from_settings(settings)
    if settings.store_index:
        check_store_index(settings.store_index)
    # Routes are matched in order: the ones every run uses come first.
    for module in (
        runs,
        threads,
        stateless_runs,
        thread_state,
        thread_stream,
        thread_maintenance,
        assistants,
        crons,
        store,
        health,
    ):
        app.include_router(module.router)
    return app


def install_access_controls(app: FastAPI, settings: Settings) -> None:
    """Who may call the API, and how much they may send. Outermost first: CORS (so browsers'
    preflights need no key, and refusals carry CORS headers), then API keys or the auth policy
    (so no body is read for a request without one), then the body size limit. (The last one
    added runs first.)"""
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    open_paths = OPEN_PATHS | metrics_open_paths(settings)
    keys = ApiKeys.from_settings(settings)
    policy = AuthPolicy.load(settings.auth_path) if settings.auth_path else None
    if keys and policy:
        raise ConfigurationError(
            f"Both API keys (THREADLOOM_API_KEYS / THREADLOOM_API_KEYS_FILE) and an auth policy "
            f"(auth path {settings.auth_path}) are configured; use one: the policy's "
            "@auth.authenticate can check API keys itself."
        )
    if policy:
        app.add_middleware(PolicyAuth, policy=policy, open_paths=open_paths)
        logger.info("auth on: custom auth policy %s", policy.path)
    elif keys:
        app.add_middleware(ApiKeyAuth, keys=keys, open_paths=open_paths)
        logger.info("auth on: API keys required, owners=%d", keys.owner_count)
    elif not is_loopback(settings.host):
        logger.warning(
            "auth is off and the server binds %s: anyone who reaches it can read and change "
            "every thread. Set THREADLOOM_API_KEYS or THREADLOOM_API_KEYS_FILE to require keys.",
            settings.host,
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        )


@asynccontextmanager
async def open_services(
    settings: Settings, graph_factory: GraphFactory, metrics: Metrics | None = None
) -> AsyncIterator[Services]:
    """Open the storage (SQLite file or PostgreSQL), build the graph, settle the runs a stopped
    server left, and serve until closed, with the cron scheduler running; closing interrupts
    the runs still going. Runs and statements are counted in `metrics` if given."""
    # Building the graph may load a model from disk: keep it off the event loop.
    graph = await asyncio.to_thread(graph_factory, settings)
    observe_statement = metrics.observe_statement if metrics else None
    async with open_storage(settings, observe_statement) as storage:
        store_items = StoreItems(storage.database, await load_store_index(settings.store_index))
        compiled = compile_agent(graph, settings, storage.checkpointer, GraphStore(store_items))
        assistant_registry = Assistants(AssistantStore(storage.database), [GRAPH_ID])
        await assistant_registry.install()
        queue = RunQueue(storage.runs, storage.wakeups)
        logs = EventLogs(storage.events, storage.wakeups)
        webhooks = WebhookSender(WebhookPolicy.from_settings(settings))
        run_manager = RunManager(
            RunExecutor(compiled),
            storage.threads,
            storage.runs,
            assistant_registry,
            queue,
            logs,
            webhooks,
            database=storage.database,
            retry_recovered=settings.recovery == "retry",
            observer=RunObserver(metrics),
        )
        await run_manager.recover(at_start_up=True)
        thread_ttl = CheckpointerTtl.from_setting(settings.checkpointer_ttl)
        upkeep = Upkeep(
            queue,
            run_manager.recover,
            storage.events,
            storage.wakeups,
            store_items,
            ThreadSweeper(
                storage.threads.ttls, storage.checkpointer, limit=thread_ttl.sweep_limit
            ),
            lease_ttl_s=settings.lease_ttl_s,
            retention_s=settings.event_log_retention_s,
            sweep_interval_s=thread_ttl.sweep_interval_minutes * 60,
        )
        cron_table = Crons(storage.database)
        scheduler = CronScheduler(
            cron_table, run_manager, queue, poll_interval_s=settings.poll_interval_s
        )
        cron_jobs = CronJobs(
            cron_table, storage.threads, assistant_registry, scheduler, webhooks.policy
        )
        logger.info(
            "service ready storage=%s replica=%s model=%s",
            storage.location,
            storage.replica_id,
            settings.model,
        )
        try:
            # The scheduler stops first, so it starts no run while the others are shut down.
            async with upkeep.running(), scheduler.running():
                try:
                    yield Services(
                        settings=settings,
                        graph=compiled,
                        checkpointer=storage.checkpointer,
                        threads=storage.threads,
                        runs=storage.runs,
                        run_queue=queue,
                        run_manager=run_manager,
                        store_items=store_items,
                        cron_jobs=cron_jobs,
                    )
                finally:
                    # Runs end (interrupted) while their leases are still renewed.
                    await run_manager.shutdown()
        finally:
            await webhooks.aclose(WEBHOOK_FLUSH_TIMEOUT_S)
            await logs.aclose(EVENT_FLUSH_TIMEOUT_S)
            await queue.aclose()


async def drain(services: Services) -> None:
    """Stop taking runs (503), give the running ones `drain_grace_s` to finish, then interrupt
    the rest; the threads keep their last checkpoints, so new runs can resume them."""
    queue, grace_s = services.run_queue, services.settings.drain_grace_s
    queue.stop_admitting()
    logger.info("draining: no new runs; waiting up to %g s for running ones", grace_s)
    if not await queue.wait_idle(grace_s):
        logger.warning("drain grace period over: interrupting the runs still going")
    await services.run_manager.shutdown()
