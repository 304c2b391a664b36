"""The KV cache of a running batch: rows join (left-padded) and leave between decoding steps.

Each row is one sequence. Rows are aligned on the right: a shorter sequence has zero keys and
values on its left, hidden from attention by the mask, and its own position ids, so each row sees
exactly what it would see decoding alone. Keys are stored already rotated (RoPE), so moving a
row's keys to other columns does not change what they mean.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer


def batching_supported(model: Any) -> bool:
    """Whether the model caches keys and values as plain growing tensors that rows can be cut from.

    Sliding-window, static or quantized caches keep other shapes; those models decode one
    request at a time instead.
    """
    try:
        layers = DynamicCache(config=model.config).layers
    except Exception:  # a config the cache does not understand: do not risk batching it
        return False
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


class BatchCache:
    """A `DynamicCache` over several sequences, with their attention mask and next positions."""

    def __init__(self) -> None:
        self.cache: DynamicCache | None = None
        self.mask = torch.zeros((0, 0), dtype=torch.long)  # 1 = a real token, 0 = padding
        self.lengths = torch.zeros(0, dtype=torch.long)  # real tokens per row

    @property
    def size(self) -> int:
        """Rows in the batch."""
        return int(self.lengths.shape[0])

    def add(self, row_cache: DynamicCache) -> None:
        """Append one sequence's prefilled cache as a new last row."""
        length = row_cache.get_seq_length()
        row_mask = torch.ones((1, length), dtype=torch.long, device=self.mask.device)
        if self.cache is None or self.size == 0:
            self.cache = row_cache
            self.mask = row_mask
            self.lengths = torch.tensor([length], dtype=torch.long, device=row_mask.device)
            return
        width = max(self.mask.shape[1], length)
        for layer, row_layer in zip(self.cache.layers, row_cache.layers, strict=True):
            layer.keys = torch.cat([_pad_left(layer.keys, width), _pad_left(row_layer.keys, width)])
            layer.values = torch.cat(
                [_pad_left(layer.values, width), _pad_left(row_layer.values, width)]
            )
        self.mask = torch.cat([_pad_left(self.mask, width), _pad_left(row_mask, width)])
        self.lengths = torch.cat([self.lengths, self.lengths.new_tensor([length])])

    def keep(self, rows: list[int]) -> None:
        """Keep only `rows` (in this order); drop the padding columns no remaining row needs."""
        if not rows or self.cache is None:
            self.cache = None
            self.mask = self.mask[:0, :0]
            self.lengths = self.lengths[:0]
            return
        index = torch.tensor(rows, dtype=torch.long, device=self.mask.device)
        self.mask = self.mask.index_select(0, index)
        self.lengths = self.lengths.index_select(0, index)
        start = self.mask.shape[1] - int(self.lengths.max())
        self.mask = self.mask[:, start:]
        for layer in self.cache.layers:
            layer.keys = layer.keys.index_select(0, index)[..., start:, :]
            layer.values = layer.values.index_select(0, index)[..., start:, :]

    def row(self, row: int) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        """Copies of one row's keys and values per layer, without its padding."""
        if self.cache is None:
            return ()
        start = self.mask.shape[1] - int(self.lengths[row])
        return tuple(
            (
                layer.keys[row : row + 1, :, start:, :].clone(),
                layer.values[row : row + 1, :, start:, :].clone(),
            )
            for layer in self.cache.layers
        )

    def step_inputs(self) -> dict[str, Any]:
        """Forward arguments for one new token per row: the cache, mask and position ids."""
        self.mask = F.pad(self.mask, (0, 1), value=1)
        padded = bool((self.lengths != self.lengths[0]).any())
        inputs: dict[str, Any] = {
            "past_key_values": self.cache,
            "position_ids": self.lengths.unsqueeze(1),
            # Without padding the mask is all ones: leaving it out keeps the plain causal path.
            "attention_mask": self.mask if padded else None,
        }
        self.lengths = self.lengths + 1
        return inputs


def _pad_left(tensor: torch.Tensor, width: int) -> torch.Tensor:
    """Zeros on the left of the sequence axis (-2 for keys/values, -1 for a mask) to `width`."""
    if tensor.dim() == 2:
        return F.pad(tensor, (width - tensor.shape[1], 0))
    return F.pad(tensor, (0, 0, width - tensor.shape[-2], 0))
