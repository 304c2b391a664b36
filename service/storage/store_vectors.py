"""The store's embeddings as bytes, and the exact top-k of items by cosine similarity.

Vectors are stored at unit length as float32 bytes (a BLOB in SQLite, BYTEA in PostgreSQL), so
a dot product is the cosine. Search reads the candidates' vectors in batches and keeps only the
best `offset + limit` items, so its memory stays bounded however many items there are; its time
grows with the number of vectors under the searched namespace prefix (an exact scan, no
approximate index). An item with several embedded fields scores its best field, as LangGraph's
stores do.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence

import numpy as np

from threadloom.service.storage.database import Row

DTYPE = np.float32
# Vectors read per statement while ranking.
BATCH_ROWS = 512

ItemKey = tuple[str, str]  # (namespace as stored, key)


def unit(vector: Sequence[float]) -> np.ndarray:
    """`vector` at length one (a zero vector stays zero), as float32."""
    array = np.asarray(vector, dtype=DTYPE)
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


def encode(vector: Sequence[float]) -> bytes:
    return unit(vector).tobytes()


class TopItems:
    """The `keep` items whose best vector is most similar to the query.

    Feed it rows (`namespace`, `key`, `embedding`) ordered by item, in any number of batches;
    vectors of another length than the query's (left by an earlier index) are skipped.
    """

    def __init__(self, query: Sequence[float], keep: int) -> None:
        self._query = unit(query)
        self._width = self._query.nbytes
        self._keep = keep
        self._heap: list[tuple[float, int, ItemKey]] = []
        self._seen = 0
        self._open: tuple[ItemKey, float] | None = None

    def add(self, rows: Iterable[Row]) -> None:
        usable = [row for row in rows if len(row["embedding"]) == self._width]
        if not usable:
            return
        matrix = np.frombuffer(b"".join(bytes(row["embedding"]) for row in usable), dtype=DTYPE)
        scores = matrix.reshape(len(usable), -1) @ self._query
        for row, score in zip(usable, scores.tolist(), strict=True):
            item = (row["namespace"], row["key"])
            if self._open is not None and self._open[0] == item:
                self._open = (item, max(self._open[1], score))
            else:
                self._close()
                self._open = (item, score)

    def best(self) -> list[tuple[ItemKey, float]]:
        """The kept items, most similar first (ties: in the order they came)."""
        self._close()
        ranked = sorted(self._heap, key=lambda entry: (-entry[0], -entry[1]))
        return [(item, score) for score, _, item in ranked]

    def _close(self) -> None:
        if self._open is None or self._keep <= 0:
            return
        item, score = self._open
        self._open = None
        self._seen += 1
        # Among equal scores the earlier item ranks higher: it carries the larger tie value.
        entry = (score, -self._seen, item)
        if len(self._heap) < self._keep:
            heapq.heappush(self._heap, entry)
        else:
            heapq.heappushpop(self._heap, entry)
