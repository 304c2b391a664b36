"""The decode engine: prefill the prompt, then one token per step from the KV cache, cancellable.

`Generator` is the seam: anything that turns prompt ids into a stream of `TokenEvent`s can stand
in for `TransformersGenerator` — a continuous-batching scheduler that shares forward passes
between requests, or a test double that replays fixed ids.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import torch
from transformers import (
    LogitsProcessorList,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)

from threadloom.models.errors import GenerationError
from threadloom.models.token_mask import Grammar

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class SamplingParams:
    """How to pick tokens and when to stop; temperature 0 means greedy.

    With a `grammar`, only the tokens it allows can be picked (tool_choice, structured output).
    """

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int | None = None
    stop_token_ids: frozenset[int] = field(default_factory=frozenset)
    grammar: Grammar | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be 0 (greedy) or more, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be above 0, got {self.repetition_penalty}")


@dataclass(frozen=True)
class TokenEvent:
    """One generated token; `finish_reason` is set on the last one ("stop": it is a stop token)."""

    token_id: int
    finish_reason: FinishReason | None = None


@runtime_checkable
class Generator(Protocol):
    """Streams the tokens that follow `input_ids`; stops within one step once `cancel` is set."""

    def stream(
        self, input_ids: list[int], params: SamplingParams, cancel: threading.Event
    ) -> Iterator[TokenEvent]: ...


class TransformersGenerator:
    """Step-by-step decoding of one sequence with a transformers causal LM and its KV cache."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.max_positions: int | None = getattr(model.config, "max_position_embeddings", None)
        self.eos_token_ids = _eos_token_ids(model)
        # Only the last position's logits are needed; computing all of a long prompt's costs
        # prompt_length x vocabulary floats. Models without the option compute them all.
        accepts = "logits_to_keep" in inspect.signature(model.forward).parameters
        self.forward_options: dict[str, Any] = {"logits_to_keep": 1} if accepts else {}

    def stream(
        self, input_ids: list[int], params: SamplingParams, cancel: threading.Event
    ) -> Iterator[TokenEvent]:
        budget = self.token_budget(len(input_ids), params.max_new_tokens)
        device = self.model.device
        # Prompt and generated ids in one buffer: repetition penalty reads them all.
        ids = torch.empty((1, len(input_ids) + budget), dtype=torch.long, device=device)
        ids[0, : len(input_ids)] = torch.tensor(input_ids, dtype=torch.long)
        length = len(input_ids)
        choose = TokenChooser(params, device)
        stop_ids = params.stop_token_ids | self.eos_token_ids
        step_input = ids[:, :length]
        past: Any = None
        for step in range(budget):
            if cancel.is_set():
                return
            with torch.inference_mode():
                output = self.model(
                    input_ids=step_input,
                    past_key_values=past,
                    use_cache=True,
                    **self.forward_options,
                )
                token = choose(ids[:, :length], output.logits[:, -1, :])
            past = output.past_key_values
            ids[0, length] = token
            length += 1
            if token in stop_ids:
                yield TokenEvent(token, "stop")
                return
            yield TokenEvent(token, "length" if step == budget - 1 else None)
            step_input = ids[:, length - 1 : length]

    def token_budget(self, prompt_length: int, max_new_tokens: int) -> int:
        if prompt_length == 0:
            raise GenerationError("The prompt is empty: there is nothing to continue from.")
        if self.max_positions is None:
            return max_new_tokens
        room = self.max_positions - prompt_length
        if room < 1:
            raise GenerationError(
                f"The prompt has {prompt_length} tokens but the model reads at most "
                f"{self.max_positions}. Shorten the conversation or start a new thread."
            )
        return min(max_new_tokens, room)


def _eos_token_ids(model: Any) -> frozenset[int]:
    """The end-of-sequence ids in the model's generation config (an int, a list or none)."""
    config = getattr(model, "generation_config", None)
    eos = getattr(config, "eos_token_id", None)
    if eos is None:
        return frozenset()
    return frozenset([eos] if isinstance(eos, int) else eos)


class TokenChooser:
    """Greedy or sampled choice of the next token, with a private RNG so seeds are per request."""

    def __init__(self, params: SamplingParams, device: torch.device) -> None:
        self.greedy = params.temperature <= 0
        self.processors = LogitsProcessorList()
        if params.repetition_penalty != 1.0:
            self.processors.append(RepetitionPenaltyLogitsProcessor(params.repetition_penalty))
        if not self.greedy:
            if params.temperature != 1.0:
                self.processors.append(TemperatureLogitsWarper(params.temperature))
            if params.top_p < 1.0:
                self.processors.append(TopPLogitsWarper(params.top_p))
        self.rng: torch.Generator | None = None
        if params.seed is not None and not self.greedy:
            self.rng = torch.Generator(device=device).manual_seed(params.seed)
        # The grammar's mask goes first, so top_p keeps its share of the allowed tokens only.
        self.mask = None if params.grammar is None else params.grammar.start(params.max_new_tokens)

    @property
    def plain_greedy(self) -> bool:
        """Whether the token is the raw argmax (a batch picks those rows all at once)."""
        return self.greedy and not self.processors and self.mask is None

    def __call__(self, ids: torch.Tensor, logits: torch.Tensor) -> int:
        scores = logits.float()
        if self.mask is not None:
            scores = self.mask.apply(scores)
        scores = self.processors(ids, scores)
        if self.greedy:
            token = int(scores.argmax(dim=-1).item())
        else:
            probs = torch.softmax(scores, dim=-1)
            token = int(torch.multinomial(probs, num_samples=1, generator=self.rng).item())
        if self.mask is not None:
            self.mask.advance(token)
        return token
