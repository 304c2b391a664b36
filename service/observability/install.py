"""`install_metrics`: give an app its `Metrics`, the HTTP middleware and `GET /metrics`."""

from __future__ import annotations

from fastapi import FastAPI

from threadloom.service.observability.http_metrics import HttpMetrics
from threadloom.service.observability.metrics import Metrics
from threadloom.service.routes import metrics as metrics_route
from threadloom.service.settings import Settings

METRICS_PATH = "/metrics"


def install_metrics(app: FastAPI) -> Metrics:
    """Make the app's metrics (kept as `app.state.metrics`) and serve them at `/metrics`."""
    metrics = Metrics()
    app.state.metrics = metrics
    app.include_router(metrics_route.router)
    return metrics


def count_requests(app: FastAPI, metrics: Metrics) -> None:
    """Count every HTTP request in `metrics`; add it after the other middleware, so that the
    requests they refuse are counted too."""
    app.add_middleware(HttpMetrics, metrics=metrics)


def metrics_open_paths(settings: Settings) -> frozenset[str]:
    """`/metrics` if scrapers may read it without an API key (`metrics_public`)."""
    return frozenset({METRICS_PATH}) if settings.metrics_public else frozenset()
