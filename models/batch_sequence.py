"""One request inside the batching scheduler (`models.batching`): its ids so far, its sampler,
and the hand-over that takes its tokens to the caller."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import torch

from threadloom.models.generation import FinishReason, SamplingParams, TokenChooser, TokenEvent

logger = logging.getLogger(__name__)

# Where a request's tokens go: each event, then an error if it failed, then None at its end.
HandOver = Callable[[TokenEvent | BaseException | None], None]


class ScheduledRequest:
    """A submitted request; `cancel()` makes it leave the batch before the next step."""

    def __init__(self, request_id: int, cancel: threading.Event) -> None:
        self.id = request_id
        self._caller_cancel = cancel  # the submitter's event, which it may set at any time
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set() or self._caller_cancel.is_set()



class BatchSequence:
    """One request inside the scheduler: its ids so far, its sampler and where tokens go."""

    def __init__(
        self,
        request: ScheduledRequest,
        input_ids: list[int],
        params: SamplingParams,
        budget: int,
        eos_token_ids: frozenset[int],
        hand_over: HandOver,
    ) -> None:
        self.request = request
        self.hand_over = hand_over
        self.budget = budget
        self.generated = 0
        self.prefilled = self.reused = 0  # prompt tokens run, and taken from the prefix cache
        self.stop_ids = params.stop_token_ids | eos_token_ids
        # Prompt and generated ids in one buffer: repetition penalty reads them all.
        self.ids = torch.empty((1, len(input_ids) + budget), dtype=torch.long)
        self.ids[0, : len(input_ids)] = torch.tensor(input_ids, dtype=torch.long)
        self.length = len(input_ids)
        self.choose_token = TokenChooser(params, self.ids.device)
        self.plain_greedy = self.choose_token.plain_greedy
        self._closed = False

    @property
    def last_token(self) -> int:
        return int(self.ids[0, self.length - 1])

    def choose(self, logits: torch.Tensor) -> int:
        return self.choose_token(self.ids[:, : self.length].to(logits.device), logits)

    def add(self, token: int) -> FinishReason | None:
        """Record `token`; the finish reason if it is the last one."""
        self.ids[0, self.length] = token
        self.length += 1
        self.generated += 1
        if token in self.stop_ids:
            return "stop"
        return "length" if self.generated == self.budget else None

    def close(self, error: BaseException | None) -> bool:
        """Tell the consumer the request has ended; False if it had been told already."""
        if self._closed:
            return False
        self._closed = True
        try:
            if error is not None:
                self.hand_over(error)
            self.hand_over(None)
        except Exception:
            logger.warning("token consumer failed request=%d", self.request.id, exc_info=True)
        return True
