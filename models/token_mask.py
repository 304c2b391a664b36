"""Grammar-constrained decoding: a logits mask from llguidance, one matcher per request.

Why llguidance (measured against xgrammar 0.2.9, see docs/structured-output.md): one
dependency-free abi3 wheel (xgrammar pulls triton and apache-tvm-ffi), Lark grammars with JSON
schemas embedded (`%json`) and negated lexemes (free text up to a tool-call opener), special
tokens addressed by id, and no per-grammar compile step: masks are computed lazily token by
token, about 4 µs each on the bundled model's vocabulary.

A `Grammar` is compiled once per request from Lark text and travels in `SamplingParams`; the
token chooser starts a `GrammarMask` from it, masks each step's scores and follows the token
chosen, so constrained and free rows share one batch in the scheduler.

A grammar cannot make a small model stop: inside a JSON string or number it may go on until its
token budget runs out, leaving a structure cut off. So in a reply's last tokens (`WRAP_UP`) the
mask also lifts, among the allowed tokens, those that close a structure (quotes, brackets,
then commas), and the reply ends valid instead of cut off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import llguidance
import llguidance.hf
import llguidance.torch
import torch

from threadloom.models.errors import GenerationError

logger = logging.getLogger(__name__)

#: Tokens before the budget's end at which closing tokens are preferred: at most this many,
#: at most a quarter of the budget.
WRAP_UP = 24
_CLOSERS = frozenset('"}]')
_LIFT = 1e4  # above any logit, so a lifted token beats every token lifted less


class GrammarError(GenerationError):
    """A grammar llguidance rejects (a bad schema or tool definition); says what was wrong."""


class GrammarCompiler:
    """Compiles Lark grammars against one tokenizer (its token table is built once, here)."""

    def __init__(self, tokenizer: Any, stop_token_ids: Iterable[int]) -> None:
        self.stop_token_ids = sorted(set(stop_token_ids))
        self._tokenizer = llguidance.hf.from_tokenizer(tokenizer, eos_token=self.stop_token_ids)
        self._lift = _closing_lift(tokenizer, self._tokenizer.vocab_size, self.stop_token_ids)

    def compile(self, lark: str, *, wrap_up: bool = True) -> Grammar:
        """A checked grammar; raises GrammarError naming llguidance's complaint.

        `wrap_up=False` for grammars whose reply may be free text, which should end where the
        model ends it, not early for want of a structure to close.
        """
        grammar = llguidance.LLMatcher.grammar_from_lark(lark)
        is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(
            grammar, self._tokenizer
        )
        if is_error:
            raise GrammarError(f"The output constraint could not be compiled: {messages}")
        lift = self._lift if wrap_up else None
        return Grammar(self._tokenizer, grammar, self.stop_token_ids, lift)


def _closing_lift(tokenizer: Any, vocab_size: int, stop_ids: list[int]) -> torch.Tensor:
    """Per token, how strongly it is preferred in a reply's last tokens: a quote first (it
    ends a string, where a bracket would only be text), then brackets, then commas and
    parentheses; stop tokens as much as a quote. 0 for every other token."""
    texts = tokenizer.batch_decode([[i] for i in range(min(vocab_size, len(tokenizer)))])
    lift = torch.zeros(vocab_size)
    for token_id, text in enumerate(texts):
        chars = set(text)
        if not text or not chars <= _CLOSERS | {",", ")"}:
            continue
        if chars <= _CLOSERS:
            lift[token_id] = 3 * _LIFT if text[0] == '"' else 2 * _LIFT
        else:
            lift[token_id] = _LIFT
    lift[stop_ids] = 3 * _LIFT
    return lift


class Grammar:
    """A compiled grammar; `start(budget)` gives a fresh mask for one request."""

    def __init__(
        self,
        tokenizer: llguidance.LLTokenizer,
        grammar: str,
        stop_ids: list[int],
        lift: torch.Tensor | None,
    ) -> None:
        self._tokenizer = tokenizer
        self._grammar = grammar
        self._stop_ids = stop_ids
        self._lift = lift

    def start(self, budget: int) -> GrammarMask:
        """A mask for one reply of at most `budget` tokens."""
        matcher = llguidance.LLMatcher(self._tokenizer, self._grammar, log_level=0)
        return GrammarMask(matcher, self._tokenizer.vocab_size, self._stop_ids, self._lift, budget)


class GrammarMask:
    """One request's place in its grammar: which tokens may come next."""

    def __init__(
        self,
        matcher: llguidance.LLMatcher,
        vocab_size: int,
        stop_ids: list[int],
        lift: torch.Tensor | None,
        budget: int,
    ) -> None:
        self._matcher = matcher
        self._vocab_size = vocab_size
        self._stop_ids = torch.tensor(stop_ids, dtype=torch.long)
        self._lift = lift
        self._left = budget
        self._wrap_up = min(WRAP_UP, budget // 4) if lift is not None else -1
        self._bitmask = llguidance.torch.allocate_token_bitmask(1, self._vocab_size)
        self._bits = torch.arange(32, dtype=torch.int32)

    def apply(self, scores: torch.Tensor) -> torch.Tensor:
        """`scores` (1 x vocabulary) with every token the grammar forbids at -inf."""
        allowed = torch.zeros(scores.shape[-1], dtype=torch.bool)
        if not self._matcher.is_error():
            llguidance.torch.fill_next_token_bitmask(self._matcher, self._bitmask, 0)
            bits = (self._bitmask[0].unsqueeze(-1) >> self._bits) & 1
            width = min(self._vocab_size, scores.shape[-1])
            allowed[:width] = bits.flatten()[:width].bool()
        if not allowed.any():  # the grammar failed: end the reply rather than emit junk
            logger.warning("grammar mask empty error=%s", self._matcher.get_error())
            allowed[self._stop_ids] = True
        if self._lift is not None and self._left <= self._wrap_up:
            width = min(self._vocab_size, scores.shape[-1])
            scores = scores.clone()
            scores[..., :width] += self._lift[:width].to(scores.device)
        return scores.masked_fill(~allowed.to(scores.device), float("-inf"))

    def advance(self, token: int) -> None:
        """Follow the token that was chosen."""
        self._left -= 1
        if not self._matcher.is_error() and not self._matcher.is_stopped():
            self._matcher.consume_token(token)
