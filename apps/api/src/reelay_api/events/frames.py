"""Events as SSE bytes. A live event is encoded once, for every stream that sends it.

sse-starlette only formats here; the response that carries the bytes is `response.EventStream`.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any, Final

from reelay_core.events import MediaEventRecord
from sse_starlette import ServerSentEvent

RETRY_MS = 3000
# Sent at once: tells the client how soon to reconnect and that the stream is up.
HELLO: Final = ServerSentEvent(comment="connected", retry=RETRY_MS).encode()
PING: Final = ServerSentEvent(comment="ping").encode()
RESYNC_EVENT: Final = ServerSentEvent(
    data=json.dumps({"reason": "missed events"}), event="resync"
).encode()


def encode(record: MediaEventRecord, *, with_media_id: bool = False) -> bytes:
    data: dict[str, Any] = dict(record.data)
    if with_media_id:
        data["media_id"] = record.media_id
    return ServerSentEvent(data=json.dumps(data), event=record.event, id=str(record.seq)).encode()


class LiveEvent(MediaEventRecord):
    """An event as the hub received it; each of its encodings is made by the first stream that
    sends it and reused by the others (the record is frozen, so they cannot differ)."""

    @cached_property
    def frame(self) -> bytes:
        return encode(self)

    @cached_property
    def frame_with_media_id(self) -> bytes:
        return encode(self, with_media_id=True)


def frame_of(record: MediaEventRecord, *, with_media_id: bool = False) -> bytes:
    if isinstance(record, LiveEvent):
        return record.frame_with_media_id if with_media_id else record.frame
    return encode(record, with_media_id=with_media_id)
