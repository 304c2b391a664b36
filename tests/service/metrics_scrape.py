"""Reading `GET /metrics` in tests: the text parsed with prometheus_client's own parser."""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


class Scrape:
    """One scrape's samples, by sample name (`..._total`, `..._bucket`, ...)."""

    def __init__(self, text: str) -> None:
        self.families = list(text_string_to_metric_families(text))
        self.samples: list[Sample] = [s for family in self.families for s in family.samples]

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 if no sample has these labels (a series never touched)."""
        found = [s.value for s in self.samples if s.name == name and _has(s.labels, labels)]
        assert len(found) <= 1, (name, labels, found)
        return found[0] if found else 0.0

    def buckets(self, name: str, **labels: str) -> list[tuple[float, float]]:
        """A histogram's cumulative buckets, (upper bound, count), in order."""
        return [
            (float(s.labels["le"]), s.value)
            for s in self.samples
            if s.name == f"{name}_bucket" and _has(s.labels, labels)
        ]

    def label_values(self) -> set[str]:
        return {value for s in self.samples for key, value in s.labels.items() if key != "le"}


def _has(actual: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(actual.get(key) == value for key, value in wanted.items())


def scrape_sync(url: str) -> Scrape:
    response = httpx.get(f"{url}/metrics", timeout=20)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


async def scrape(client: httpx.AsyncClient) -> Scrape:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)
