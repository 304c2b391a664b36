"""The playground: a page served at `/` that talks to this server's public API like any client.

Its files are plain ES modules under `service/playground/`, committed as they run: no build
step and nothing fetched from a CDN, so the page works offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

PLAYGROUND_DIR = Path(__file__).resolve().parent.parent / "playground"

router = APIRouter(tags=["playground"])


@router.get("/", include_in_schema=False)
async def playground_page() -> FileResponse:
    return FileResponse(PLAYGROUND_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> FileResponse:
    """The page links its icon, but browsers and tools ask `/favicon.ico` on their own: answer
    it with the same icon rather than a 404 in every log."""
    return FileResponse(
        PLAYGROUND_DIR / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "max-age=86400"},
    )


def playground_files() -> StaticFiles:
    """The page's scripts and styles, mounted at `/playground`."""
    return StaticFiles(directory=PLAYGROUND_DIR)
