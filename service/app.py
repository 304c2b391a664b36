"""`create_app`: the FastAPI application of the LangGraph Server API over the agent graph.

Example:
    >>> app = create_app(Settings(db=Path("data/dev.sqlite")))
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import StateGraph

from service.agent import compile_agent, make_agent_graph
from service.assistants import GRAPH_ID, Assistants
from service.deps import Services
from service.errors import ConfigurationError, install_error_handlers
from service.json_codec import JsonResponse
from service.routes import health, runs, thread_state, threads
from service.runs.executor import RunExecutor
from service.runs.manager import RunManager
from service.settings import Settings
from service.storage.runs import SqliteRuns
from service.storage.sqlite import open_database
from service.storage.threads import SqliteThreads

logger = logging.getLogger(__name__)

GraphFactory = Callable[[Settings], StateGraph]


def create_app(settings: Settings, graph_factory: GraphFactory = make_agent_graph) -> FastAPI:
    """The API app; its lifespan opens the database and builds the graph with `graph_factory`.

    Tests inject a fake model with `graph_factory=partial(make_agent_graph, model=fake)`.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings, graph_factory) as services:
            app.state.services = services
            yield

    app = FastAPI(
        title="threadloom",
        summary="A LangGraph agent for open Hugging Face models, over the LangGraph Server API.",
        lifespan=lifespan,
        default_response_class=JsonResponse,
    )
    install_error_handlers(app)
    for module in (health, threads, thread_state, runs):
        app.include_router(module.router)
    return app


@asynccontextmanager
async def open_services(settings: Settings, graph_factory: GraphFactory) -> AsyncIterator[Services]:
    """Open the SQLite file (checkpoints + threads + runs), build the graph, run until closed."""
    if settings.database_url:
        raise ConfigurationError(
            "PostgreSQL storage (THREADLOOM_DATABASE_URL) is not supported yet; unset it to use "
            f"the SQLite file at {settings.db}."
        )
    # Building the graph may load a model from disk: keep it off the event loop.
    graph = await asyncio.to_thread(graph_factory, settings)
    async with (
        open_database(settings.db) as db,
        AsyncSqliteSaver.from_conn_string(str(settings.db)) as checkpointer,
    ):
        await checkpointer.setup()
        compiled = compile_agent(graph, settings, checkpointer)
        thread_table, run_table = SqliteThreads(db), SqliteRuns(db)
        run_manager = RunManager(
            RunExecutor(compiled), thread_table, run_table, Assistants([GRAPH_ID])
        )
        await run_manager.recover()
        logger.info("service ready db=%s model=%s", settings.db, settings.model)
        try:
            yield Services(
                settings=settings,
                graph=compiled,
                checkpointer=checkpointer,
                threads=thread_table,
                runs=run_table,
                run_manager=run_manager,
            )
        finally:
            await run_manager.shutdown()
