"""A strict reader of the SSE framing the LangGraph Server API uses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Frame:
    event: str
    data: Any


def parse_frames(body: bytes) -> list[Frame]:
    """Split a complete SSE body into frames; comments (heartbeats) are skipped."""
    frames = []
    for block in body.decode().split("\r\n\r\n"):
        fields = dict(
            line.split(": ", 1) for line in block.split("\r\n") if line and not line.startswith(":")
        )
        if "event" in fields:
            frames.append(Frame(fields["event"], json.loads(fields["data"])))
    return frames


def stream_run(
    client: httpx.Client, path: str, body: dict[str, Any]
) -> tuple[httpx.Response, list[Frame]]:
    """POST a streaming run and read it to the end."""
    with client.stream("POST", path, json=body, timeout=300) as response:
        raw = response.read()
    return response, parse_frames(raw)
