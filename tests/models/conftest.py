"""A tiny random Llama with a real byte-level BPE tokenizer and the Qwen2.5 chat template.

Built once per session into a temporary folder with `save_pretrained`, so tests load it through
the same `from_pretrained` path as a real checkpoint.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

from threadloom.models.generation import (
    Generator,
    SamplingParams,
    TokenEvent,
    TransformersGenerator,
)
from threadloom.models.loading import load_local_model
from threadloom.models.local import LocalChatModel

TEMPLATES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "chat_templates"
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Qwen's tool markup tags are single added (not special) tokens; ours are too.
MARKUP_TOKENS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]
CORPUS = [
    "You are a helpful assistant. Use the tools when they help.",
    "What is 25^0.43? The answer is about 3.99. Let me compute it with the calculator.",
    '{"name": "calculator", "arguments": {"expression": "25^0.43"}}',
    '{"type": "function", "function": {"name": "search", "description": "Search the corpus",'
    ' "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}',
    "# Tools\n\nYou may call one or more functions to assist with the user query.",
    "Grüße aus Köln — 東京 and 🙂 emoji, naïve café.",
    "system user assistant tool response tool_call tools function arguments name",
] * 4


def _train_tokenizer() -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    tokenizer.add_tokens(MARKUP_TOKENS)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    fast.chat_template = (TEMPLATES / "qwen2_5_instruct.jinja").read_text()
    return fast


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a tiny random Llama checkpoint and its tokenizer."""
    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = _train_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        # End-of-turn tokens get logit 0, below the best of ~500 random logits: the model never
        # ends a reply by itself, so lengths are exact (replies that end are tested by replay).
        for token in ("<|im_end|>", "<|endoftext|>"):
            model.lm_head.weight[tokenizer.convert_tokens_to_ids(token)] = 0.0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_engine(tiny_model_dir: Path) -> TransformersGenerator:
    """The one-sequence decode engine over the tiny checkpoint (whatever the loader would pick)."""
    return TransformersGenerator(AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval())


@pytest.fixture(scope="session")
def tiny_chat_model(tiny_model_dir: Path) -> LocalChatModel:
    """The tiny checkpoint loaded through the real loading path, greedy, short replies."""
    return load_local_model(str(tiny_model_dir), device="cpu", max_new_tokens=24)


class ReplayGenerator:
    """Test double behind the real `Generator` seam: emits fixed token ids, then end of turn."""

    def __init__(self, token_ids: list[int], eos_id: int) -> None:
        self.token_ids = token_ids
        self.eos_id = eos_id
        self.steps = 0

    def stream(
        self, input_ids: list[int], params: SamplingParams, cancel: threading.Event
    ) -> Iterator[TokenEvent]:
        script = [*self.token_ids, self.eos_id][: params.max_new_tokens]
        for step, token in enumerate(script):
            if cancel.is_set():
                return
            self.steps += 1
            if token == self.eos_id:
                yield TokenEvent(token, "stop")
            else:
                yield TokenEvent(token, "length" if step == params.max_new_tokens - 1 else None)


class CountingGenerator:
    """Wraps a real generator: counts the tokens it made and signals when its stream has ended."""

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.steps = 0
        self.ended = threading.Event()

    def stream(
        self, input_ids: list[int], params: SamplingParams, cancel: threading.Event
    ) -> Iterator[TokenEvent]:
        try:
            for event in self.inner.stream(input_ids, params, cancel):
                self.steps += 1
                yield event
        finally:
            self.ended.set()


@pytest.fixture
def replay_model(tiny_chat_model: LocalChatModel) -> Callable[..., LocalChatModel]:
    """Factory: a chat model whose 'generation' is the given text, tokenized by the tiny tokenizer.

    `template` swaps in another fixture chat template (e.g. "zephyr_7b_beta.jinja").
    """
    base_tokenizer = tiny_chat_model.tokenizer

    def make(text: str, *, template: str | None = None, **fields: Any) -> LocalChatModel:
        tokenizer = copy.deepcopy(base_tokenizer)
        if template is not None:
            tokenizer.chat_template = (TEMPLATES / template).read_text()
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        generator = ReplayGenerator(ids, tokenizer.eos_token_id)
        return LocalChatModel(
            model_name="replay", tokenizer=tokenizer, generator=generator, **fields
        )

    return make


@pytest.fixture
def counting_model(tiny_chat_model: LocalChatModel) -> tuple[LocalChatModel, CountingGenerator]:
    """The tiny model behind a counting wrapper, with room for long replies."""
    counter = CountingGenerator(tiny_chat_model.generator)
    model = LocalChatModel(
        model_name="counting",
        tokenizer=tiny_chat_model.tokenizer,
        generator=counter,
        max_new_tokens=200,
    )
    return model, counter
