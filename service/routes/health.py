"""Liveness and server information."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, Request
from langgraph.version import __version__ as langgraph_version

from threadloom.service.json_codec import JsonResponse

router = APIRouter(tags=["health"])


def _threadloom_version() -> str:
    try:
        return version("threadloom")
    except PackageNotFoundError:  # running from a source tree that was not pip-installed
        return "0+source"


@router.get("/ok")
async def ok() -> JsonResponse:
    return JsonResponse({"ok": True})


@router.get("/info")
async def info(request: Request) -> JsonResponse:
    return JsonResponse(
        {
            "version": _threadloom_version(),
            "langgraph_py_version": langgraph_version,
            "flags": {"assistants": True, "crons": False, "langsmith": False},
            # loading / ready / failed (with the reason): see `service.model_status`.
            "model": request.app.state.model_status.to_api(),
        }
    )
