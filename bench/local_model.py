"""The model the generation benchmarks run: the bundled one, or an untrained one of its shape.

The bundled model answers in a few dozen tokens and then ends its turn, too short to measure a
token rate, or calls a tool, which makes a run two model calls. So every benchmark decodes a
fixed number of tokens: end-of-turn and tool-call tokens are masked out of the logits by a hook
on the output layer, which every path (plain `generate`, the scheduler, the service) runs
through alike, and `max_new_tokens` is the only stop.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import GenerationConfig

from threadloom.models.bundled import BUNDLED_MODEL_DIR
from threadloom.models.loading import load_local_model
from threadloom.models.local import LocalChatModel
from threadloom.models.prompt import PromptBuilder
from threadloom.models.tiny_model_kit.dataset import build_conversations
from threadloom.models.tiny_model_kit.tokenizer import render, train_tokenizer
from threadloom.models.tiny_model_kit.train import TrainingConfig, new_model

# Tokens that would end a reply early or turn it into a tool call.
MASKED_TOKENS = ("<tool_call>",)
# Sample conversations to fit the stand-in model's tokenizer: enough for the bundled vocabulary.
TOKENIZER_CONVERSATIONS = 300


@dataclass
class BenchModel:
    """A loaded chat model that never ends a turn by itself, and where it came from."""

    chat: LocalChatModel
    description: str

    @property
    def weights(self) -> Any:
        """The transformers model inside the chat model (shared by every path)."""
        return self.chat.generator.model  # type: ignore[attr-defined]

    def prompt_ids(self, messages: list[Any]) -> list[int]:
        """The token ids the chat model decodes from for `messages` with no tools."""
        builder = PromptBuilder(self.chat.tokenizer, self.chat.tool_call_format)
        return builder.build(messages, []).input_ids


def load_bench_model(max_new_tokens: int, **fields: Any) -> BenchModel:
    """The bundled model if it is built, else a random model of the same shape, built here."""
    if (BUNDLED_MODEL_DIR / "config.json").is_file():
        chat = load_local_model("bundled", device="cpu", max_new_tokens=max_new_tokens, **fields)
        description = f"bundled model ({BUNDLED_MODEL_DIR})"
    else:
        folder = Path(tempfile.mkdtemp(prefix="threadloom-bench-model-"))
        _build_untrained(folder)
        chat = load_local_model(str(folder), device="cpu", max_new_tokens=max_new_tokens, **fields)
        description = "untrained Llama of the bundled shape (the bundled model is not built)"
    model = chat.generator.model  # type: ignore[attr-defined]
    end_ids = PromptBuilder(chat.tokenizer).stop_token_ids | _eos_ids(model)
    _mask_logits(model, sorted(end_ids | _token_ids(chat.tokenizer, MASKED_TOKENS)))
    parameters = model.num_parameters()
    return BenchModel(chat, f"{description}, {parameters / 1e6:.1f} M parameters")


def _build_untrained(folder: Path) -> None:
    dialogues = build_conversations(TOKENIZER_CONVERSATIONS, seed=0)
    tokenizer = train_tokenizer(render(d.messages, d.tools)[0] for d in dialogues)
    model = new_model(tokenizer, TrainingConfig())
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _eos_ids(model: Any) -> set[int]:
    eos = model.generation_config.eos_token_id
    return set() if eos is None else {eos} if isinstance(eos, int) else set(eos)


def _token_ids(tokenizer: Any, tokens: tuple[str, ...]) -> set[int]:
    vocabulary = tokenizer.get_vocab()
    return {vocabulary[token] for token in tokens if token in vocabulary}


def _mask_logits(model: Any, token_ids: list[int]) -> None:
    index = torch.tensor(token_ids, dtype=torch.long)

    def never_end(module: Any, inputs: Any, logits: torch.Tensor) -> torch.Tensor:
        return logits.index_fill(-1, index.to(logits.device), float("-inf"))

    model.get_output_embeddings().register_forward_hook(never_end)


def machine_load() -> str:
    """The load the numbers were measured under: other work shares these CPUs."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"machine: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min), "
        f"torch threads {torch.get_num_threads()}"
    )
