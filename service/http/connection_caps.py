"""`ClientConnections`: how many TCP connections one client address may hold open at once, so
that one address (idle connections that send nothing, a leaking client) cannot use up the
server's `max_connections` and starve every other client, `/ok` probes included.

The count lives at the connection level, not in a middleware: an idle connection never becomes
a request. `capped_protocol` wraps any asyncio protocol class of the server (uvicorn's h11 or
httptools protocols alike): a connection past its address's share is answered with a 429 and
closed before the server's protocol ever sees it, so it counts toward nothing else. Behind a
reverse proxy every connection comes from the proxy's address: raise the share to the global
cap there (`max_connections_per_client = max_connections`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

REFUSAL = (
    b"HTTP/1.1 429 Too Many Requests\r\n"
    b"content-type: application/json\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)
_DETAIL = (
    b'{"detail":"This address already holds %d open connections '
    b'(THREADLOOM_MAX_CONNECTIONS_PER_CLIENT): reuse or close one."}'
)


class ClientConnections:
    """Open connections per client address, each address at most `per_client`."""

    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self._open: Counter[str] = Counter()

    def admit(self, address: str) -> bool:
        """Count a new connection from `address`, unless its share is used up."""
        if self._open[address] >= self.per_client:
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if not self._open[address]:
            del self._open[address]

    def open_from(self, address: str) -> int:
        return self._open[address]

    def refusal(self) -> bytes:
        body = _DETAIL % self.per_client
        return REFUSAL % (len(body), body)


def capped_protocol(base: type[Any], connections: ClientConnections) -> type[Any]:
    """A subclass of the server's protocol class `base` that admits a connection only within
    its address's share of `connections` (a connection with no address, a Unix socket, is
    always admitted)."""

    class CappedProtocol(base):  # type: ignore[misc, valid-type]
        _client_address: str | None = None
        _refused = False

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            peer = transport.get_extra_info("peername")
            address = peer[0] if isinstance(peer, tuple) and peer else None
            if address is not None and not connections.admit(address):
                self._refused = True
                if isinstance(transport, asyncio.WriteTransport):
                    transport.write(connections.refusal())
                transport.close()
                return
            self._client_address = address
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            if not self._refused:
                super().data_received(data)

        def eof_received(self) -> bool | None:
            return None if self._refused else super().eof_received()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._refused:
                return
            if self._client_address is not None:
                connections.release(self._client_address)
            super().connection_lost(exc)

    CappedProtocol.__name__ = f"Capped{base.__name__}"
    return CappedProtocol
