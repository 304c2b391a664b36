"""Prefix reuse: the key/value cache of finished sequences, found again by exact token prefix.

A ReAct step's prompt is the previous step's prompt and reply plus a few new turns, and a thread's
next run starts from its last one: most of each prompt was already run through the model. When a
sequence finishes, its keys and values (prompt and reply) are kept here under its token ids; a new
request takes the longest common token prefix of any kept entry and prefills only the rest.

Matching is by exact token ids, never by text: a chat template that renders an earlier turn
differently (a reply re-rendered with its tool-call markup) matches only up to the first
differing token. Entries live on the model's device; their total size stays within a byte budget
by evicting the least recently used. Only the scheduler thread touches an instance.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from itertools import count

import torch

LayerKV = tuple[torch.Tensor, torch.Tensor]  # keys, values: [1, heads, tokens, head_dim]


@dataclass(frozen=True)
class PrefixHit:
    """The first `length` tokens of a prompt, already computed: their per-layer keys and values."""

    length: int
    layers: tuple[LayerKV, ...]


@dataclass
class _Entry:
    tokens: torch.Tensor  # 1-D token ids the keys and values were computed for
    layers: tuple[LayerKV, ...]
    nbytes: int


class PrefixCache:
    """Per-layer keys and values of token sequences, within `budget_bytes`, LRU-evicted.

    Example:
        >>> cache = PrefixCache(budget_bytes=256 * 2**20)
        >>> cache.store(token_ids, layers)  # when a sequence finishes
        >>> hit = cache.lookup(prompt_ids, limit=len(prompt_ids) - 1)  # when one is admitted
    """

    def __init__(self, budget_bytes: int) -> None:
        if budget_bytes < 0:
            raise ValueError(f"budget_bytes must be 0 or more, got {budget_bytes}")
        self.budget_bytes = budget_bytes
        self.nbytes = 0
        self.evictions = 0
        self._entries: OrderedDict[int, _Entry] = OrderedDict()  # least recently used first
        self._keys = count()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, tokens: torch.Tensor, limit: int) -> PrefixHit | None:
        """The longest kept prefix of `tokens` (1-D ids), at most `limit` tokens long.

        The caller keeps at least one prompt token out (`limit`) so that its forward pass yields
        the logits of the next token.
        """
        best: tuple[int, int] | None = None  # (length, key)
        for key, entry in self._entries.items():
            length = min(common_prefix_length(entry.tokens, tokens), limit)
            if length > 0 and (best is None or length > best[0]):
                best = (length, key)
        if best is None:
            return None
        length, key = best
        self._entries.move_to_end(key)
        layers = self._entries[key].layers
        return PrefixHit(length, tuple((k[..., :length, :], v[..., :length, :]) for k, v in layers))

    def store(self, tokens: torch.Tensor, layers: tuple[LayerKV, ...]) -> bool:
        """Keep `layers` (computed for `tokens`, 1-D); whether they were kept.

        An entry that is a prefix of the new one is dropped (the new one answers for it); a new
        one that is a prefix of a kept entry, or larger than the whole budget, is not kept.
        """
        nbytes = sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in layers)
        if nbytes > self.budget_bytes or tokens.numel() == 0:
            return False
        for key, entry in list(self._entries.items()):
            shared = common_prefix_length(entry.tokens, tokens)
            if shared == tokens.numel():
                self._entries.move_to_end(key)
                return False
            if shared == entry.tokens.numel():
                self._drop(key)
        self._entries[next(self._keys)] = _Entry(tokens, layers, nbytes)
        self.nbytes += nbytes
        while self.nbytes > self.budget_bytes:
            self._drop(next(iter(self._entries)))
            self.evictions += 1
        return True

    def _drop(self, key: int) -> None:
        self.nbytes -= self._entries.pop(key).nbytes


def common_prefix_length(a: torch.Tensor, b: torch.Tensor) -> int:
    """How many leading ids two 1-D id tensors share."""
    n = min(a.numel(), b.numel())
    differ = (a[:n] != b[:n]).nonzero()
    return int(differ[0, 0]) if differ.numel() else n
