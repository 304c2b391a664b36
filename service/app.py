"""`create_app`: the FastAPI application of the LangGraph Server API over the configured graphs.

Example:
    >>> app = create_app(Settings(db=Path("data/dev.sqlite"), config=Path("langgraph.json")))
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import Scope

from threadloom.service.auth.api_keys import OPEN_PATHS, ApiKeyAuth, ApiKeys, is_loopback
from threadloom.service.auth.policy import AuthPolicy, PolicyAuth
from threadloom.service.deployment.config import find_config, read_config
from threadloom.service.deployment.custom_app import CustomApp
from threadloom.service.deployment.graph_registry import GraphValue, import_graphs
from threadloom.service.deployment.model_status import ModelStatus
from threadloom.service.deployment.store_index import check_store_index
from threadloom.service.errors import ConfigurationError, install_error_handlers
from threadloom.service.http.browser_access import BrowserOrigins, PlainJsonBodies
from threadloom.service.http.in_process import ServesInProcess, install_sdk_loopback
from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.http.limits import BodySizeLimit, OpenRequestsPerKey
from threadloom.service.http.openapi import install_openapi
from threadloom.service.lifespan import app_lifespan
from threadloom.service.observability.install import count_requests, metrics_open_paths
from threadloom.service.observability.metrics import Metrics
from threadloom.service.observability.tracing import Tracing
from threadloom.service.protocols import a2a, mcp
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
from threadloom.service.routes import metrics as metrics_route
from threadloom.service.runs.webhooks import WebhookPolicy
from threadloom.service.settings import Settings
from threadloom.service.storage.thread_ttls import CheckpointerTtl

logger = logging.getLogger(__name__)

# Response headers a browser page may read, besides the CORS-safelisted ones.
EXPOSED_HEADERS = ["Content-Location", "X-Pagination-Total", "X-Pagination-Next"]
# Routes are matched in order: the ones every run uses come first.
ROUTERS = (
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
    metrics_route,
    openai_routes,
    a2a,
    playground,
)


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
    _check_sections(settings)
    tracing, mcp_endpoint = Tracing.from_environment(), McpEndpoint()
    app = FastAPI(
        title="threadloom",
        summary="A LangGraph agent for open Hugging Face models, over the LangGraph Server API.",
        lifespan=app_lifespan(settings, graphs, tracing, mcp_endpoint, custom),
        default_response_class=JsonResponse,
    )
    install_error_handlers(app)
    app.state.metrics = Metrics()
    app.state.model_status = ModelStatus.of(settings)
    install_openapi(
        app,
        auth_on=bool(keys) or settings.auth_path is not None,
        open_paths=OPEN_PATHS | metrics_open_paths(settings),
    )
    for module in ROUTERS:
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
    count_requests(app, app.state.metrics)
    tracing.instrument(app)
    return app


def _check_sections(settings: Settings) -> None:
    """Unusable sections of langgraph.json refuse the start before anything is opened."""
    CheckpointerTtl.from_setting(settings.checkpointer_ttl)
    WebhookPolicy.from_settings(settings)
    if settings.store_index:
        check_store_index(settings.store_index)


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
    (so no body is read for a request without one), the open requests per key, then JSON bodies
    sent as `text/plain` or untyped declared JSON, then the body limits (which check such a body
    as JSON too). (The last one added runs first.) A user app's routes need
    no key unless its config says so; nor does `/metrics` unless `metrics_public` is off."""
    origins = BrowserOrigins(
        settings.cors_origins, settings.cors, studio=settings.cors_allow_studio
    )
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        read_timeout_s=settings.body_read_timeout_s,
        max_json_depth=settings.max_json_depth,
    )
    app.add_middleware(PlainJsonBodies, origins=origins)
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
