"""What a generator has done, as plain numbers a metrics collector reads when it is scraped.

The generating thread writes them once per scheduler step (never per token, never through a
callback); readers on other threads read whole ints and floats, which the GIL keeps consistent
enough for monitoring.
"""

from __future__ import annotations

# The throughput figure covers at least this much generating time (or one whole burst).
THROUGHPUT_WINDOW_S = 1.0


class GenerationStats:
    """Tokens generated and time spent generating, and the latest throughput."""

    def __init__(self) -> None:
        self.tokens = 0
        self.busy_seconds = 0.0
        # Tokens per second over the latest window of generating time; 0 before any.
        self.tokens_per_second = 0.0
        self._window_tokens = 0
        self._window_seconds = 0.0

    def record_step(self, tokens: int, seconds: float, *, idle_after: bool) -> None:
        """One step made `tokens` in `seconds`; `idle_after`: nothing is left to generate."""
        self.tokens += tokens
        self.busy_seconds += seconds
        self._window_tokens += tokens
        self._window_seconds += seconds
        if self._window_seconds >= THROUGHPUT_WINDOW_S or (idle_after and self._window_seconds):
            self.tokens_per_second = self._window_tokens / self._window_seconds
            self._window_tokens, self._window_seconds = 0, 0.0
