"""Who hears of a generation's first token: a context variable the caller sets around its work.

A server sets a listener per run (to time the run's first token); the chat model calls it once
per generation, when the first token arrives, so nothing is added per token. The variable is
read where the generation starts: asyncio tasks and `asyncio.to_thread` carry it there.

Example:
    >>> token = first_token_listener.set(lambda: print("first token"))
    >>> await model.ainvoke("Hello")  # prints "first token" once
    >>> first_token_listener.reset(token)
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

first_token_listener: ContextVar[Callable[[], None] | None] = ContextVar(
    "threadloom_first_token_listener", default=None
)
