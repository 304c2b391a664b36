"""`SearchIndex`: BM25 ranking over a small corpus of facts, held in memory."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from threadloom.tools.fact import Fact

# Words of a question ("who is ...'s ...?") that would rank facts by grammar, not by content.
_STOP_WORDS_TEXT = (
    "a an and are as at be by did do does for from he her his how in is it its of on or she "
    "that the their they this to was were what when where which who whom whose with"
)
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
TITLE_WEIGHT = 2  # a term in the title counts as this many occurrences in the text
_K1 = 1.2
_B = 0.75
_POSSESSIVE = re.compile(r"['’]s\b")
_WORD = re.compile(r"[^\W_]+")


class CorpusError(ValueError):
    """The corpus file is missing or has a malformed record; the message names the line."""


def tokenize(text: str) -> list[str]:
    """Lowercase words without accents, possessive 's or punctuation, minus stop words."""
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    words = _WORD.findall(_POSSESSIVE.sub("", folded))
    return [word for word in words if word not in STOP_WORDS]


class SearchIndex:
    """An inverted index ranking facts by Okapi BM25, title terms weighted `TITLE_WEIGHT`."""

    description = "Search an offline encyclopedia of short facts about people, places and events."

    def __init__(self, facts: Iterable[Fact]) -> None:
        self.facts = list(facts)
        self._postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._lengths: list[int] = []
        for position, fact in enumerate(self.facts):
            counts = Counter(tokenize(fact.text))
            for term in tokenize(fact.title):
                counts[term] += TITLE_WEIGHT
            for term, count in counts.items():
                self._postings[term].append((position, count))
            self._lengths.append(sum(counts.values()))
        self._average_length = sum(self._lengths) / len(self._lengths) if self._lengths else 0.0

    @classmethod
    def from_jsonl(cls, path: str | Path) -> SearchIndex:
        """Load one `{"title": ..., "text": ...}` object per line; blank lines are skipped."""
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CorpusError(f"Cannot read the search corpus {path}: {exc}.") from exc
        numbered = enumerate(lines, start=1)
        return cls(_parse(line, number, path) for number, line in numbered if line.strip())

    def search(self, query: str, k: int = 3) -> list[Fact]:
        """The `k` facts that best match `query`, best first; facts sharing no term are left out."""
        scores: dict[int, float] = defaultdict(float)
        total = len(self.facts)
        for term in set(tokenize(query)):
            postings = self._postings.get(term, [])
            idf = math.log(1 + (total - len(postings) + 0.5) / (len(postings) + 0.5))
            for position, count in postings:
                norm = 1 - _B + _B * self._lengths[position] / self._average_length
                scores[position] += idf * count * (_K1 + 1) / (count + _K1 * norm)
        best = sorted(scores, key=lambda position: (-scores[position], position))[:k]
        return [self.facts[position] for position in best]


def _parse(line: str, number: int, path: str | Path) -> Fact:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{path}:{number} is not valid JSON: {exc.msg}.") from exc
    if not isinstance(record, dict) or not all(
        isinstance(record.get(key), str) and record[key].strip() for key in ("title", "text")
    ):
        raise CorpusError(f'{path}:{number} needs non-empty string fields "title" and "text".')
    return Fact(title=record["title"], text=record["text"])
