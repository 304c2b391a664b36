"""The bundled model's tokenizer: a small byte-level BPE trained on the synthetic conversations.

Digits are always single tokens so that the model copies numbers digit by digit; the chat
markers are special tokens and the tool markup tags ordinary added tokens, as in Qwen2.5, so
that `<tool_call>` survives `skip_special_tokens`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast
from transformers.utils.chat_template_utils import render_jinja_template

VOCAB_SIZE = 512
PAD_TOKEN = "<|endoftext|>"
BEGIN_TURN = "<|im_start|>"
END_TURN = "<|im_end|>"
SPECIAL_TOKENS = [PAD_TOKEN, BEGIN_TURN, END_TURN]
MARKUP_TOKENS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]
TEMPLATE_PATH = Path(__file__).with_name("template.jinja")
CHAT_TEMPLATE = TEMPLATE_PATH.read_text(encoding="utf-8")


def render(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]]
) -> tuple[str, list[tuple[int, int]]]:
    """A conversation as chat-template text, and the character spans the assistant wrote."""
    rendered, spans = render_jinja_template(
        conversations=[messages],
        tools=tools,
        chat_template=CHAT_TEMPLATE,
        return_assistant_tokens_mask=True,
    )
    return rendered[0], spans[0]


def train_tokenizer(texts: Iterable[str], vocab_size: int = VOCAB_SIZE) -> PreTrainedTokenizerFast:
    """A BPE tokenizer fitted to `texts` (rendered conversations), with the chat template set."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_without_markers(texts), trainer=trainer)
    tokenizer.add_tokens(MARKUP_TOKENS)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token=END_TURN, pad_token=PAD_TOKEN
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _without_markers(texts: Iterable[str]) -> Iterable[str]:
    # The markers become whole tokens anyway; merges spent on their letters would be wasted.
    for text in texts:
        for marker in (*SPECIAL_TOKENS, *MARKUP_TOKENS):
            text = text.replace(marker, "\n")
        yield text
