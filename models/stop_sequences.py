"""Stop strings on streamed text: cut before the first match, and never show part of one."""

from __future__ import annotations

from collections.abc import Sequence


class StopSequenceFilter:
    """Passes text through until a stop string appears; holds back a tail that may start one.

    Example:
        >>> stops = StopSequenceFilter(["Observation:"])
        >>> stops.feed("Action: x\\nObserv"), stops.feed("ation: 3"), stops.stopped
        ('Action: x\\n', '', True)
    """

    def __init__(self, stop: Sequence[str] | None) -> None:
        self.stop = [s for s in stop or () if s]
        self.stopped = False
        self._held = ""

    def feed(self, text: str) -> str:
        """Return the text that is safe to show; after a match, `stopped` is set and text ends."""
        if self.stopped:
            return ""
        buffer = self._held + text
        matches = [found for s in self.stop if (found := buffer.find(s)) >= 0]
        if matches:
            self.stopped = True
            self._held = ""
            return buffer[: min(matches)]
        keep = self._partial_match_length(buffer)
        self._held = buffer[len(buffer) - keep :]
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        """The held-back tail, at the end of generation: it did not become a stop string."""
        held, self._held = self._held, ""
        return held

    def _partial_match_length(self, buffer: str) -> int:
        longest = 0
        for s in self.stop:
            for size in range(min(len(s) - 1, len(buffer)), longest, -1):
                if buffer.endswith(s[:size]):
                    longest = size
                    break
        return longest
