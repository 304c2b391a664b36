"""Training the bundled model: a small Llama, loss on the assistant's tokens only.

Deterministic on one machine: every random draw is seeded, torch runs deterministic algorithms on
a fixed number of threads, and batches are formed in a seeded order.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

logger = logging.getLogger(__name__)

IGNORED = -100  # label of tokens the loss skips: prompts, tool results, padding


@dataclass(frozen=True)
class TrainingConfig:
    """Model size and optimisation settings; the defaults build the committed model.

    Training runs `copy_steps` on repeat-after-me drills, then `steps` on the main mixture,
    under one warm-up and cosine schedule. The drills come in larger batches: copying emerges
    abruptly after a few hundred steps, sooner the less noisy each step is. A last, gentler
    schedule of `refine_steps` on a mixture rich in two-tool chains follows: the long chains
    are what the main mixture leaves least settled.
    """

    hidden_size: int = 192
    layers: int = 4
    heads: int = 6
    mlp_size: int = 768
    max_positions: int = 4096
    copy_steps: int = 600
    copy_batch_size: int = 32
    steps: int = 1500
    batch_size: int = 16
    learning_rate: float = 2e-3
    warmup_steps: int = 150
    min_learning_rate_ratio: float = 0.05
    weight_decay: float = 0.01
    refine_steps: int = 400
    refine_learning_rate: float = 5e-4
    refine_warmup_steps: int = 20
    seed: int = 0
    threads: int = 2


@dataclass(frozen=True)
class Example:
    """One tokenized conversation; `labels` are the ids where the assistant speaks."""

    input_ids: list[int]
    labels: list[int]


def make_deterministic(config: TrainingConfig) -> None:
    """Seeds torch and pins its threads so that a rebuild gives identical weights."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)


def new_model(tokenizer: PreTrainedTokenizerFast, config: TrainingConfig) -> LlamaForCausalLM:
    """A freshly initialised Llama sized by `config`, with tied input and output embeddings.

    A Llama config (not Qwen2) makes `AutoTokenizer` load our tokenizer.json as it is.
    """
    model_config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        num_key_value_heads=config.heads,
        intermediate_size=config.mlp_size,
        max_position_embeddings=config.max_positions,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(config.seed)
    return LlamaForCausalLM(model_config)


def encode(
    tokenizer: PreTrainedTokenizerFast, rendered: Sequence[tuple[str, list[tuple[int, int]]]]
) -> list[Example]:
    """Tokenizes rendered conversations; labels keep the tokens inside the assistant's spans.

    Gives the ids and mask of `apply_chat_template(..., return_assistant_tokens_mask=True)`,
    ten times faster: the whole batch goes through the Rust tokenizer at once.
    """
    examples = []
    # In slices: offsets for a whole corpus at once would hold gigabytes.
    for first in range(0, len(rendered), 1000):
        part = rendered[first : first + 1000]
        encoded = tokenizer(
            [text for text, _ in part], add_special_tokens=False, return_offsets_mapping=True
        )
        for ids, offsets, (_, spans) in zip(
            encoded["input_ids"], encoded["offset_mapping"], part, strict=True
        ):
            labels = [
                token if any(start <= begin < end for start, end in spans) else IGNORED
                for token, (begin, _) in zip(ids, offsets, strict=True)
            ]
            examples.append(Example(ids, labels))
    return examples


def train(
    model: LlamaForCausalLM,
    drills: Sequence[Example],
    examples: Sequence[Example],
    config: TrainingConfig,
) -> float:
    """Trains `model` in place on `drills`, then `examples`; returns the mean of the last 50."""
    rng = random.Random(config.seed)
    batches = [
        [drills[i] for i in batch]
        for batch in _length_grouped_batches(drills, config.copy_steps, config.copy_batch_size, rng)
    ] + [
        [examples[i] for i in batch]
        for batch in _length_grouped_batches(examples, config.steps, config.batch_size, rng)
    ]
    return _optimise(model, batches, config.learning_rate, config.warmup_steps, config)


def refine(model: LlamaForCausalLM, examples: Sequence[Example], config: TrainingConfig) -> float:
    """The last phase: `refine_steps` on `examples` under a fresh optimiser and schedule."""
    # Its own seed: the batches of the earlier phases stay what they were without this one.
    rng = random.Random(config.seed + 1)
    batches = [
        [examples[i] for i in batch]
        for batch in _length_grouped_batches(examples, config.refine_steps, config.batch_size, rng)
    ]
    return _optimise(
        model, batches, config.refine_learning_rate, config.refine_warmup_steps, config
    )


def _optimise(
    model: LlamaForCausalLM,
    batches: Sequence[Sequence[Example]],
    learning_rate: float,
    warmup_steps: int,
    config: TrainingConfig,
) -> float:
    """One AdamW run over `batches` under warm-up and cosine decay; the mean of the last 50."""
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=learning_rate,
        betas=(0.9, 0.95),
        weight_decay=config.weight_decay,
    )
    total = len(batches)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, total, warmup_steps, config)
    )
    pad_id = model.config.pad_token_id
    model.train()
    recent: list[float] = []
    started = time.monotonic()
    for step, batch in enumerate(batches):
        input_ids, labels, attention = _collate(batch, pad_id)
        # bfloat16 matmuls roughly double CPU throughput; the weights stay float32.
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        recent = [*recent[-49:], loss.item()]
        if step % 50 == 0 or step == total - 1:
            logger.info(
                "step=%d loss=%.4f lr=%.2e elapsed_s=%.0f",
                step,
                loss.item(),
                schedule.get_last_lr()[0],
                time.monotonic() - started,
            )
    model.eval()
    return sum(recent) / len(recent)


def _lr_factor(step: int, total: int, warmup_steps: int, config: TrainingConfig) -> float:
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total - warmup_steps)
    floor = config.min_learning_rate_ratio
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _length_grouped_batches(
    examples: Sequence[Example], steps: int, size: int, rng: random.Random
) -> list[list[int]]:
    """`steps` batches of similar lengths (little padding), in a seeded random order."""
    batches: list[list[int]] = []
    while len(batches) < steps:
        indices = list(range(len(examples)))
        rng.shuffle(indices)
        # Sorting within windows of 50 batches keeps some randomness in what is batched together.
        window = size * 50
        epoch = []
        for start in range(0, len(indices), window):
            chunk = sorted(indices[start : start + window], key=lambda i: len(examples[i].labels))
            epoch += [chunk[i : i + size] for i in range(0, len(chunk), size)]
        rng.shuffle(epoch)
        batches += epoch
    return batches[:steps]


def _collate(
    batch: Sequence[Example], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    width = max(len(example.input_ids) for example in batch)
    ids = torch.full((len(batch), width), pad_id)
    labels = torch.full((len(batch), width), IGNORED)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    for row, example in enumerate(batch):
        length = len(example.input_ids)
        ids[row, :length] = torch.tensor(example.input_ids)
        labels[row, :length] = torch.tensor(example.labels)
        attention[row, :length] = 1
    return ids, labels, attention
