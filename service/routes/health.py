"""Liveness and server information."""

from __future__ import annotations

from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, Request
from langgraph.version import __version__ as langgraph_version

from threadloom.models.remote_servers import REMOTE_SERVERS
from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.schemas.responses import Info, Ok, answers

router = APIRouter(tags=["health"])

HOST = {
    "kind": "self-hosted",
    "project_id": None,
    "host_revision_id": None,
    "revision_id": None,
    "tenant_id": None,
}


def _threadloom_version() -> str:
    try:
        return version("threadloom")
    except PackageNotFoundError:  # running from a source tree that was not pip-installed
        return "0+source"


@router.get("/ok", responses=answers(Ok))
async def ok() -> JsonResponse:
    return JsonResponse({"ok": True})


@router.get("/info", responses=answers(Info))
async def info(request: Request) -> JsonResponse:
    return JsonResponse(
        {
            "version": _threadloom_version(),
            "langgraph_py_version": langgraph_version,
            "flags": {"assistants": True, "crons": True, "langsmith": False},
            # LangGraph Server's shape: a self-hosted server, with no LangSmith project.
            "host": HOST,
            # The remote model servers tried, how to point at each, and what was verified.
            "remote_servers": [asdict(server) for server in REMOTE_SERVERS],
            # loading / ready / failed (with the reason): see `service.deployment.model_status`.
            "model": request.app.state.model_status.to_api(),
        }
    )
