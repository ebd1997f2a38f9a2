"""The one SSE parser of the tests: events, comments and `retry:` hints, from a live response or
from raw bytes read off a socket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Message:
    """One SSE block: an event (with data) or a comment/`retry:`-only block."""

    id: int | None = None
    event: str = "message"
    data: dict[str, Any] | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def is_event(self) -> bool:
        return self.data is not None


class Parser:
    """Fed one line at a time (without its line break); a blank line ends a block."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self.current = Message()
        self.data_lines: list[str] = []

    def feed(self, line: str) -> Message | None:
        if line == "":
            if self.data_lines:
                self.current.data = json.loads("\n".join(self.data_lines))
            block = self.current
            self._start()
            return block if block.is_event or block.comments or block.retry is not None else None
        if line.startswith(":"):
            self.current.comments.append(line[1:].strip())
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            self.current.id = int(value)
        elif name == "event":
            self.current.event = value
        elif name == "data":
            self.data_lines.append(value)
        elif name == "retry":
            self.current.retry = int(value)
        return None


async def messages(response: httpx.Response) -> AsyncIterator[Message]:
    parser = Parser()
    async for line in response.aiter_lines():
        if (message := parser.feed(line)) is not None:
            yield message


def parse(text: str) -> Iterator[Message]:
    """The blocks of a whole stream body already read."""
    parser = Parser()
    for line in text.replace("\r\n", "\n").split("\n"):
        if (message := parser.feed(line)) is not None:
            yield message


async def collect(response: httpx.Response) -> list[Message]:
    """Every event until the server closes the stream."""
    return [m async for m in messages(response) if m.is_event]


async def read_events(
    api: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    *,
    last_event_id: int | str | None = None,
    params: dict[str, str] | None = None,
    timeout: float = 120,
) -> list[Message]:
    """GET an SSE stream and read it until the server closes it (after a terminal event)."""
    if last_event_id is not None:
        headers = {**headers, "Last-Event-ID": str(last_event_id)}
    async with api.stream(
        "GET", path, headers=headers, params=params, timeout=httpx.Timeout(timeout)
    ) as response:
        assert response.status_code == 200, await response.aread()
        return await collect(response)


def event_ids(events: list[Message]) -> list[int]:
    return [e.id for e in events if e.id is not None]
