"""`GET /metrics`: the app's metrics in Prometheus' text format (see `service.observability`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(request: Request) -> Response:
    """Counters, gauges and histograms of runs, the model, HTTP and the database; open to
    scrapers unless `metrics_public` is off (then it needs an API key like any route)."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
