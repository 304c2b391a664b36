"""A lean HTTP/1.1 client for generating load: JSON requests on kept-alive connections.

The benchmark measures servers, and its load generator shares their two cores. httpx spends
15-25 ms of CPU per run (two requests) at 50 concurrent connections here, more than the server
under test, so it would measure itself. This client does only what the benchmark's requests
need: a JSON body out; a whole response back, sized by Content-Length or chunked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

_CLOSED_WHILE_IDLE = (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError)


class LeanHTTPError(Exception):
    """The server answered with an error status, or broke the HTTP framing."""


@dataclass(frozen=True, slots=True)
class LeanResponse:
    """What the benchmark reads of a response (the part of httpx's it uses)."""

    status_code: int
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if not self.is_success:
            raise LeanHTTPError(f"HTTP {self.status_code}: {self.content[:300]!r}")


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def request(self, head: bytes, body: bytes) -> LeanResponse:
        self.writer.write(head + body)
        status_line, _, header_block = (
            (await self.reader.readuntil(b"\r\n\r\n"))[:-4].decode("latin-1").partition("\r\n")
        )
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_block.split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status in (204, 304):  # never a body
            content = b""
        elif "content-length" in headers:
            content = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            content = await self._chunked()
        else:
            raise LeanHTTPError(f"a response with neither Content-Length nor chunks: {headers}")
        return LeanResponse(status, content)

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # no trailers are sent
                return b"".join(parts)
            parts.append((await self.reader.readexactly(size + 2))[:-2])


class LeanClient:
    """Up to `connections` kept-alive connections to `base_url`; each request takes a free one."""

    def __init__(self, base_url: str, connections: int) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"an http:// URL with a host is needed, got {base_url!r}")
        self.base_url = base_url
        self._host, self._port = parts.hostname, parts.port or 80
        self._host_header = parts.netloc
        self._free: asyncio.Queue[_Connection | None] = asyncio.Queue()
        for _ in range(connections):
            self._free.put_nowait(None)  # a slot: connected when first used
        self._open: list[_Connection] = []

    async def get(self, path: str) -> LeanResponse:
        return await self._send("GET", path, b"")

    async def post(self, path: str, json: Any) -> LeanResponse:
        return await self._send("POST", path, _dumps(json))

    async def delete(self, path: str) -> LeanResponse:
        return await self._send("DELETE", path, b"")

    async def aclose(self) -> None:
        for connection in self._open:
            connection.writer.close()

    async def _send(self, method: str, path: str, body: bytes) -> LeanResponse:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self._host_header}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        connection = await self._free.get()
        try:
            if connection is not None:
                try:
                    response = await connection.request(head, body)
                except _CLOSED_WHILE_IDLE as exc:
                    if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                        raise
                    # The server closed the kept-alive connection while it was idle (its
                    # keep-alive timeout) and read nothing: send again on a new one.
                    self._discard(connection)
                    connection = None
            if connection is None:
                connection = _Connection(*await asyncio.open_connection(self._host, self._port))
                self._open.append(connection)
                response = await connection.request(head, body)
        except BaseException:
            if connection is not None:  # its framing state is unknown: never reuse it
                self._discard(connection)
            self._free.put_nowait(None)
            raise
        self._free.put_nowait(connection)
        return response

    def _discard(self, connection: _Connection) -> None:
        connection.writer.close()
        self._open.remove(connection)


@asynccontextmanager
async def lean_client(base_url: str, connections: int) -> AsyncIterator[LeanClient]:
    client = LeanClient(base_url, connections)
    try:
        yield client
    finally:
        await client.aclose()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
