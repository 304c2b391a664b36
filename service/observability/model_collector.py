"""`ModelCollector`: the local model's token counts and batching state, read at scrape time.

The batching scheduler (`models.batching`) keeps plain numbers; this reads them when Prometheus
scrapes, so generation pays nothing for metrics. Models the scheduler cannot batch and remote
endpoints have no scheduler, and no series here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# The scheduler's module imports torch: read it only once a local model has loaded it, so a
# server on a remote endpoint never imports torch for its metrics.
BATCHING_MODULE = "threadloom.models.batching"


class ModelCollector(Collector):
    """Series per loaded local model (label `model`: "bundled", a hub id or a folder)."""

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        tokens = CounterMetricFamily(
            "threadloom_model_generated_tokens", "Tokens the local model generated.",
            labels=["model"],
        )
        busy = CounterMetricFamily(
            "threadloom_model_busy_seconds", "Time the local model spent generating.",
            labels=["model"],
        )
        speed = GaugeMetricFamily(
            "threadloom_model_tokens_per_second",
            "Tokens per second over the latest second of generation (or the latest burst).",
            labels=["model"],
        )
        batch = GaugeMetricFamily(
            "threadloom_model_batch_size", "Requests decoding together now.", labels=["model"]
        )
        queue = GaugeMetricFamily(
            "threadloom_model_queue_depth", "Requests waiting for a batch slot now.",
            labels=["model"],
        )
        # Schedulers of one model name (a model loaded twice in a process) add up.
        sums: dict[str, list[float]] = {}
        for scheduler in _live_schedulers():
            stats = scheduler.stats
            values = (
                stats.tokens, stats.busy_seconds, stats.tokens_per_second,
                scheduler.batch_size, scheduler.queue_depth,
            )
            total = sums.setdefault(scheduler.name, [0.0] * len(values))
            for index, value in enumerate(values):
                total[index] += value
        families = (tokens, busy, speed, batch, queue)
        for name, values in sums.items():
            for family, value in zip(families, values, strict=True):
                family.add_metric([name], value)
        yield from families

    def describe(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        return iter(())


def _live_schedulers() -> list[Any]:
    batching = sys.modules.get(BATCHING_MODULE)
    return batching.live_schedulers() if batching is not None else []
