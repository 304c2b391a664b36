"""`uvicorn_config`: how uvicorn serves the app (httptools' compiled parser on uvloop's loop),
with the limits that keep slow or broken clients from holding connections: the request line and
headers must arrive within `header_read_timeout_s` (else the connection closes), an idle
kept-alive connection closes after `keep_alive_timeout_s`, at most `max_connections` are served
at once (more get 503), of which one client address may hold `max_connections_per_client` (more
get 429 and are closed: `service.http.connection_caps`), and headers may total
`MAX_HEADER_BYTES` (more: 431). (The body's own timeout and size limit: `service.http.limits`.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from threadloom.service.http.connection_caps import ClientConnections, capped_protocol
from threadloom.service.settings import Settings

MAX_HEADER_BYTES = 64 * 1024


def uvicorn_config(app: FastAPI, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration of `app` under `settings`; `overrides` win (tests: port 0)."""

    class Protocol(_GuardedProtocol):
        header_timeout_s = settings.header_read_timeout_s

    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "http": capped_protocol(Protocol, ClientConnections(settings.max_connections_per_client)),
        "loop": "uvloop",
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "limit_concurrency": settings.max_connections,
        **overrides,
    }
    return uvicorn.Config(app, **options)


class _GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (a compiled parser), closing a connection whose request
    headers take too long (from the connection's start, and again from the end of each
    response: keep-alive) or run over `MAX_HEADER_BYTES` (answered 431).

    The per-client-address connection cap wraps it (`connection_caps.capped_protocol`)."""

    header_timeout_s = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0  # received since the request began, while its headers are due
        self._awaiting_headers = True
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            # Counted before parsing: the headers may end (and the request run) in this data.
            end = data.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else end + 4
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refuse_headers()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._disarm_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._awaiting_headers, self._header_bytes = True, 0
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
        if self._awaiting_headers and not self.transport.is_closing():
            self.transport.close()

    def _refuse_headers(self) -> None:
        self._awaiting_headers = False
        self._disarm_header_timer()
        if not self.transport.is_closing():
            self.transport.write(_HEADERS_TOO_LARGE)
            self.transport.close()


_HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
    b"content-length: 32\r\nconnection: close\r\n\r\nRequest headers over 64 KiB.\r\n\r\n"
)
