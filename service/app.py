"""`create_app`: the FastAPI application of the LangGraph Server API over the configured graphs.

Example:
    >>> app = create_app(Settings(db=Path("data/dev.sqlite"), config=Path("langgraph.json")))
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import Scope

from threadloom.service.assistants import Assistants
from threadloom.service.auth.api_keys import OPEN_PATHS, ApiKeyAuth, ApiKeys, is_loopback
from threadloom.service.auth.policy import AuthPolicy, PolicyAuth
from threadloom.service.crons.jobs import CronJobs
from threadloom.service.crons.scheduler import CronScheduler
from threadloom.service.deployment.config import find_config, read_config
from threadloom.service.deployment.custom_app import CustomApp
from threadloom.service.deployment.graph_registry import GraphRegistry, GraphValue, import_graphs
from threadloom.service.deployment.model_status import ModelStatus
from threadloom.service.deployment.store_index import check_store_index, load_store_index
from threadloom.service.errors import ConfigurationError, install_error_handlers
from threadloom.service.http.browser_access import BrowserOrigins, UntypedJsonBodies
from threadloom.service.http.configurable_headers import HeaderFilter
from threadloom.service.http.deps import Services
from threadloom.service.http.in_process import ServesInProcess, install_sdk_loopback
from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.http.limits import BodySizeLimit, OpenRequestsPerKey
from threadloom.service.http.openapi import install_openapi
from threadloom.service.observability.install import (
    count_requests,
    install_metrics,
    metrics_open_paths,
)
from threadloom.service.observability.metrics import Metrics
from threadloom.service.observability.run_observer import RunObserver
from threadloom.service.observability.tracing import TRACING_OFF, Tracing
from threadloom.service.protocols import a2a, mcp
from threadloom.service.protocols.assistant_tools import AssistantTools
from threadloom.service.protocols.mcp import McpEndpoint
from threadloom.service.protocols.openai import endpoints as openai_routes
from threadloom.service.routes import (
    assistants,
    crons,
    health,
    playground,
    runs,
    stateless_runs,
    store,
    thread_commands,
    thread_maintenance,
    thread_state,
    thread_stream,
    threads,
)
from threadloom.service.runs.events import EventLogs
from threadloom.service.runs.executor import RunExecutor
from threadloom.service.runs.manager import RunManager
from threadloom.service.runs.queue import RunQueue
from threadloom.service.runs.upkeep import Upkeep
from threadloom.service.runs.webhooks import WebhookPolicy, WebhookSender
from threadloom.service.settings import Settings
from threadloom.service.storage.assistants import AssistantStore
from threadloom.service.storage.backends import open_storage
from threadloom.service.storage.crons import Crons
from threadloom.service.storage.graph_store import GraphStore
from threadloom.service.storage.store_items import StoreItems
from threadloom.service.storage.thread_heads import ThreadHeads
from threadloom.service.storage.thread_ttls import CheckpointerTtl
from threadloom.service.threads.ttl_sweeper import ThreadSweeper
from threadloom.service.threads.watch import ThreadWatches

logger = logging.getLogger(__name__)

# How long shutdown waits for the last run events to reach the database.
EVENT_FLUSH_TIMEOUT_S = 10.0
# How long shutdown lets webhooks of runs that just ended be delivered.
WEBHOOK_FLUSH_TIMEOUT_S = 5.0
# Response headers a browser page may read, besides the CORS-safelisted ones.
EXPOSED_HEADERS = ["Content-Location", "X-Pagination-Total", "X-Pagination-Next"]


def create_app(settings: Settings, graphs: Mapping[str, GraphValue] | None = None) -> FastAPI:
    """The API app over the graphs of the deployment file (`settings.config`, else
    `./langgraph.json`, else the built-in agent), imported here; its lifespan opens the
    database and serves them.

    `graphs` (graph id -> compiled graph, StateGraph or factory) replaces the file's graphs,
    and no file is read then unless `settings.config` names one: tests inject graphs with a
    fake model this way (`{"agent": agent_graph(settings, model=fake)}`).
    Raises `ConfigurationError`, with a one-line message, for a deployment file, a graph, an
    `http.app`, API key, TTL, webhook or store index settings that cannot be used, an auth
    policy that cannot be loaded, or API keys and a policy at once.
    """
    install_sdk_loopback()  # before the graphs and the http.app are imported
    deployment = read_config(
        find_config(settings) if graphs is None or settings.config is not None else None
    )
    deployment.apply()
    settings = deployment.applied_to(settings)
    keys = ApiKeys.from_settings(settings)
    custom = CustomApp.load(settings)
    if graphs is None:
        graphs = import_graphs(deployment.graphs)
    logger.info("graphs: %s (from %s)", ", ".join(graphs), deployment.path or "the built-in agent")

    mcp_endpoint = McpEndpoint()

    tracing = Tracing.from_environment()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(tracing.exporting())
            with model_status.loading():
                opened = open_services(settings, graphs, tracing, metrics)
                services = await stack.enter_async_context(opened)
            app.state.services = services
            tools = AssistantTools(
                services.run_manager,
                lambda assistant: services.graphs.open(assistant.graph_id, assistant.config),
            )
            await stack.enter_async_context(mcp_endpoint.running(tools))
            if custom is not None:
                await stack.enter_async_context(custom.lifespan(app))
            yield

    app = FastAPI(
        title="threadloom",
        summary="A LangGraph agent for open Hugging Face models, over the LangGraph Server API.",
        lifespan=lifespan,
        default_response_class=JsonResponse,
    )
    install_error_handlers(app)
    metrics = install_metrics(app)
    model_status = app.state.model_status = ModelStatus.of(settings)
    # Unusable sections of langgraph.json refuse the start before anything is opened.
    CheckpointerTtl.from_setting(settings.checkpointer_ttl)
    WebhookPolicy.from_settings(settings)
    if settings.store_index:
        check_store_index(settings.store_index)
    install_openapi(
        app,
        auth_on=bool(keys) or settings.auth_path is not None,
        open_paths=OPEN_PATHS | metrics_open_paths(settings),
    )
    # Routes are matched in order: the ones every run uses come first.
    for module in (
        runs,
        threads,
        stateless_runs,
        thread_state,
        thread_stream,
        thread_commands,
        thread_maintenance,
        assistants,
        crons,
        store,
        health,
        openai_routes,
        a2a,
        playground,
    ):
        app.include_router(module.router)
    # A protocol of its own (JSON-RPC over Streamable HTTP), outside the OpenAPI document.
    app.add_route(mcp.PATH, mcp_endpoint, methods=mcp.METHODS, include_in_schema=False)
    app.mount("/playground", playground.playground_files(), name="playground")
    install_access_controls(app, settings, keys, custom)
    if custom is not None:
        # After the API's routes and access controls, which it must not shadow or replace.
        custom.mount(app, auth=ApiKeyAuth)
    # Graphs, crons and custom routes reach this app through get_client() with no url.
    app.add_middleware(ServesInProcess, target=app)
    # Outermost: requests the layers above refuse are counted, and a request's span covers all.
    count_requests(app, metrics)
    tracing.instrument(app)
    return app


def _opened_by_settings(
    app: FastAPI, settings: Settings, custom: CustomApp | None
) -> Callable[[Scope], bool]:
    """Which requests need no key besides `service.auth.api_keys.is_open`'s: `/metrics` when public,
    and a user app's routes unless its config asks for auth."""
    open_paths = metrics_open_paths(settings)
    api_routes = list(app.router.routes)

    def is_open(scope: Scope) -> bool:
        if scope["path"] in open_paths:
            return True
        return custom is not None and custom.is_open_route(api_routes, scope)

    return is_open


def install_access_controls(
    app: FastAPI, settings: Settings, keys: ApiKeys, custom: CustomApp | None
) -> None:
    """Who may call the API, and how much they may send. Outermost first: CORS (so browsers'
    preflights need no key, and refusals carry CORS headers), then API keys or the auth policy
    (so no body is read for a request without one), the open requests per key, then the body
    limits, then untyped JSON bodies. (The last one added runs first.) A user app's routes need
    no key unless its config says so; nor does `/metrics` unless `metrics_public` is off."""
    origins = BrowserOrigins(settings.cors_origins, settings.cors)
    app.add_middleware(UntypedJsonBodies, origins=origins)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        read_timeout_s=settings.body_read_timeout_s,
        max_json_depth=settings.max_json_depth,
    )
    is_open = _opened_by_settings(app, settings, custom)
    policy = AuthPolicy.load(settings.auth_path) if settings.auth_path else None
    if keys and policy:
        raise ConfigurationError(
            f"Both API keys (THREADLOOM_API_KEYS / THREADLOOM_API_KEYS_FILE) and an auth policy "
            f"(auth path {settings.auth_path}) are configured; use one: the policy's "
            "@auth.authenticate can check API keys itself."
        )
    if policy:
        app.add_middleware(PolicyAuth, policy=policy, is_open=is_open)
        logger.info("auth on: custom auth policy %s", policy.path)
    elif keys:
        app.add_middleware(OpenRequestsPerKey, max_open=settings.max_open_requests_per_key)
        app.add_middleware(ApiKeyAuth, keys=keys, is_open=is_open)
        logger.info("auth on: API keys required, owners=%d", keys.owner_count)
    elif not is_loopback(settings.host):
        logger.warning(
            "auth is off and the server binds %s: anyone who reaches it can read and change "
            "every thread. Set THREADLOOM_API_KEYS or THREADLOOM_API_KEYS_FILE to require keys.",
            settings.host,
        )
    app.add_middleware(CORSMiddleware, **origins.cors_options(EXPOSED_HEADERS))


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
        assistant_registry = Assistants(AssistantStore(storage.database), registry.graph_ids)
        await assistant_registry.install()
        queue = RunQueue(storage.runs, storage.wakeups)
        logs = EventLogs(storage.events, storage.wakeups)
        webhooks = WebhookSender(WebhookPolicy.from_settings(settings))
        run_manager = RunManager(
            RunExecutor(registry, storage.checkpointer, tracing),
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
                        graphs=registry,
                        checkpointer=storage.checkpointer,
                        threads=storage.threads,
                        runs=storage.runs,
                        run_queue=queue,
                        run_manager=run_manager,
                        store_items=store_items,
                        cron_jobs=cron_jobs,
                        thread_watches=ThreadWatches(
                            ThreadHeads(storage.database),
                            queue.admissions,
                            poll_interval_s=settings.poll_interval_s,
                        ),
                        run_headers=HeaderFilter.from_settings(settings),
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
