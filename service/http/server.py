"""`uvicorn_config`: how uvicorn serves the app, with the limits that keep slow or broken
clients from holding connections: the request line and headers must arrive within
`header_read_timeout_s` (else the connection closes), an idle kept-alive connection closes after
`keep_alive_timeout_s`, at most `max_connections` are served at once (more get 503), of which
one client address may hold `max_connections_per_client` (more get 429 and are closed:
`service.http.connection_caps`), and headers may total `MAX_HEADER_BYTES`. (The body's own
timeout and size limit: `service.http.limits`.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from threadloom.service.http.connection_caps import ClientConnections, capped_protocol
from threadloom.service.settings import Settings

MAX_HEADER_BYTES = 64 * 1024


def uvicorn_config(app: FastAPI, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration of `app` under `settings`; `overrides` win (tests: port 0)."""

    class Protocol(_HeaderTimeoutProtocol):
        header_timeout_s = settings.header_read_timeout_s

    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "http": capped_protocol(Protocol, ClientConnections(settings.max_connections_per_client)),
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "limit_concurrency": settings.max_connections,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        **overrides,
    }
    return uvicorn.Config(app, **options)


class _HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers take too long: from
    the connection's start, and again from the end of each response (keep-alive)."""

    header_timeout_s = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the headers are in
            self._disarm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()
