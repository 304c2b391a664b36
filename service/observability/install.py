"""The app's metrics at the HTTP edge: the request-counting middleware, and whether
`GET /metrics` (`service.routes.metrics`) is open to scrapers."""

from __future__ import annotations

from fastapi import FastAPI

from threadloom.service.observability.http_metrics import HttpMetrics
from threadloom.service.observability.metrics import Metrics
from threadloom.service.settings import Settings

METRICS_PATH = "/metrics"


def count_requests(app: FastAPI, metrics: Metrics) -> None:
    """Count every HTTP request in `metrics`; add it after the other middleware, so that the
    requests they refuse are counted too."""
    app.add_middleware(HttpMetrics, metrics=metrics)


def metrics_open_paths(settings: Settings) -> frozenset[str]:
    """`/metrics` if scrapers may read it without an API key (`metrics_public`)."""
    return frozenset({METRICS_PATH}) if settings.metrics_public else frozenset()
