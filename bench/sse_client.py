"""A minimal SSE reader for the benchmarks: event ids and data from raw response bytes.

Pure (bytes in, events out) so the fan-out clients can run thousands of streams per process
with little CPU, and so it is unit-tested.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Event:
    id: int | None
    event: str
    data: dict[str, Any] | None


@dataclass
class SSEReader:
    """Fed chunks of a (de-chunked or chunked) HTTP body; returns the complete events in them.

    HTTP chunk-size lines are skipped: they never look like `field: value` SSE lines.
    """

    pending: bytes = b""
    headers_done: bool = False
    status: int | None = None
    _block: list[bytes] = field(default_factory=list)

    def feed(self, chunk: bytes) -> list[Event]:
        data = self.pending + chunk
        if not self.headers_done:
            head, sep, rest = data.partition(b"\r\n\r\n")
            if not sep:
                self.pending = data
                return []
            self.status = int(head.split(b" ", 2)[1])
            self.headers_done, data = True, rest
        *lines, self.pending = data.split(b"\n")
        events = []
        for raw in lines:
            line = raw.rstrip(b"\r")
            if line:
                self._block.append(line)
                continue
            if event := _parse(self._block):
                events.append(event)
            self._block = []
        return events


def _parse(block: list[bytes]) -> Event | None:
    event_id: int | None = None
    name = "message"
    data: list[str] = []
    for line in block:
        key, _, value = line.decode(errors="replace").partition(":")
        value = value.removeprefix(" ")
        if key == "id":
            event_id = int(value)
        elif key == "event":
            name = value
        elif key == "data":
            data.append(value)
    if not data:
        return None  # a comment (hello, heartbeat) or a chunk-size line
    return Event(event_id, name, json.loads("\n".join(data)))


def ids_in(buffer: bytes) -> tuple[list[int], bytes]:
    """The event ids in the complete lines of `buffer`, and the incomplete rest (carry it over
    to the next read). Cheaper than `SSEReader` for clients that only time events."""
    *lines, rest = buffer.split(b"\n")
    return [int(line[4:]) for line in lines if line.startswith(b"id: ")], rest
