"""`ModelStatus`: whether the served model is loading, ready, or failed (and why), for `/info`.

The model loads in the app's lifespan, before the server listens: a port that accepts
connections is a ready server, which is what load balancers and `threadloom serve`'s exit
status 2 on a bad model rely on. So `/info` answers "ready" once it answers at all; "loading"
and "failed" are what the app object holds meanwhile (in-process embedders and tests see them),
and a failure's reason is also the one line `threadloom serve` prints before exiting.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from threadloom.service.settings import Settings

ModelState = Literal["loading", "ready", "failed"]


@dataclass
class ModelStatus:
    name: str
    remote: bool
    state: ModelState = "loading"
    error: str | None = None
    load_seconds: float | None = None

    @classmethod
    def of(cls, settings: Settings) -> ModelStatus:
        return cls(name=settings.model, remote=settings.endpoint_url is not None)

    @contextmanager
    def loading(self) -> Iterator[None]:
        """Around the start-up that loads the model: ready after it, failed if it raises."""
        started = time.monotonic()
        self.state, self.error = "loading", None
        try:
            yield
        except BaseException as exc:
            self.state, self.error = "failed", str(exc) or type(exc).__name__
            raise
        self.state, self.load_seconds = "ready", round(time.monotonic() - started, 3)

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "remote": self.remote,
            "state": self.state,
            "error": self.error,
            "load_seconds": self.load_seconds,
        }
