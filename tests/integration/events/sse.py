"""A small SSE reader for tests that need more than events: comments, `retry:`, raw timing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Message:
    """One SSE block: an event (with data) or a comment/`retry:`-only block."""

    id: int | None = None
    event: str | None = None
    data: dict[str, Any] | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def is_event(self) -> bool:
        return self.data is not None


async def messages(response: httpx.Response) -> AsyncIterator[Message]:
    current = Message()
    data_lines: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data_lines:
                current.data = json.loads("\n".join(data_lines))
            if current.data is not None or current.comments or current.retry is not None:
                yield current
            current, data_lines = Message(), []
            continue
        if line.startswith(":"):
            current.comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            current.id = int(value)
        elif name == "event":
            current.event = value
        elif name == "data":
            data_lines.append(value)
        elif name == "retry":
            current.retry = int(value)


async def collect(response: httpx.Response) -> list[Message]:
    """Every event until the server closes the stream."""
    return [m async for m in messages(response) if m.is_event]


def event_ids(events: list[Message]) -> list[int]:
    return [e.id for e in events if e.id is not None]


async def metric(api: httpx.AsyncClient, name: str) -> float:
    text = (await api.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} is not in /metrics")
