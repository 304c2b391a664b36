"""What every search provider returns: short facts, each a title and a text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Fact:
    """One search hit, shown to the model as `"{title}: {text}"`."""

    title: str
    text: str


class SearchError(RuntimeError):
    """A search could not be answered (a web provider failed); the message says what to check."""


class SearchProvider(Protocol):
    """Anything that answers a query with its best facts, best first."""

    description: str

    def search(self, query: str, k: int = 3) -> list[Fact]: ...
