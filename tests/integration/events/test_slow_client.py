"""A client that stops reading can neither stall others nor make the server buffer without bound.

It may miss intermediate progress events, never a status or terminal one.
"""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

import httpx

from tests.integration.events.conftest import Recorder
from tests.support.client import Account, metric
from tests.support.factories import create_media
from tests.support.sse import Message, event_ids, messages, parse
from tests.support.waits import until

PROGRESS_EVENTS = 500
# Every event carries the media row's error, if any: a long one makes each event ~16 KB, so the
# stream outgrows the socket buffers (the kernel's grow up to 4 MB) and then its queue within
# a few hundred events.
PADDING = {"error_code": "padding", "error_message": "x" * 16 * 1024}


class StalledClient:
    """A raw socket with a tiny receive window that reads nothing until told to."""

    def __init__(self, base_url: str, path: str, token: str) -> None:
        url = urlsplit(base_url)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.sock.connect((url.hostname, url.port))
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: text/event-stream\r\nConnection: close\r\n\r\n".encode()
        )
        self.sock.setblocking(False)

    def said_hello(self) -> bool:
        """Whether the stream's hello has arrived: the server subscribes before it sends one."""
        try:
            return b"retry:" in self.sock.recv(65536, socket.MSG_PEEK)
        except BlockingIOError:
            return False

    async def read_all(self) -> bytes:
        loop = asyncio.get_running_loop()
        chunks = []
        while chunk := await loop.sock_recv(self.sock, 65536):
            chunks.append(chunk)
        self.sock.close()
        return b"".join(chunks)


def dechunk(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return b"".join(out)


def events_in(raw: bytes) -> list[Message]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n", 1)[0], head
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    return [m for m in parse(body.decode()) if m.is_event]


async def test_a_stalled_client_still_gets_every_status_and_the_terminal_event(
    api: httpx.AsyncClient, account: Account, recorder: Recorder
) -> None:
    media_id = (await create_media(api, account))["id"]
    path = f"/videos/{media_id}/events"
    dropped_before = await metric(api, "reelay_sse_progress_dropped_total")
    stalled = StalledClient(str(api.base_url), path, account.token)

    fast_connected = asyncio.Event()

    async def fast_reader() -> list[Message]:
        async with api.stream(
            "GET", path, headers={**account.headers, "Last-Event-ID": "1"}
        ) as resp:
            events = []
            async for message in messages(resp):
                fast_connected.set()  # the hello: subscribed, so every event will reach it
                if message.is_event:
                    events.append(message)
            return events

    fast = asyncio.create_task(fast_reader())
    await asyncio.wait_for(fast_connected.wait(), 30)
    await until(stalled.said_hello, what="the stalled client's stream subscribed")
    statuses = [
        ("status", {"status": "queued"}),
        ("status", {"status": "processing", "stage": "probe", **PADDING}),
    ]
    for event, changes in statuses:
        await recorder.emit(media_id, event, **changes)
    for i in range(PROGRESS_EVENTS):
        await recorder.progress(media_id, 50.0 * i / PROGRESS_EVENTS)
        if i == 400:  # a retry once the queue overflows: status events the stall must not lose
            await recorder.emit(
                media_id, "status", status="queued", progress=0.0, stage=None, attempt=2
            )
            await recorder.emit(media_id, "status", status="processing", stage="probe")
    last = await recorder.emit(
        media_id,
        "completed",
        status="completed",
        progress=100.0,
        stage=None,
        error_code=None,
        error_message=None,
    )

    # The reader next to it was not held up by the stalled one.
    fast_events = await asyncio.wait_for(fast, timeout=10)
    assert event_ids(fast_events) == list(range(2, last.seq + 1))
    # The stalled stream fell behind and skipped progress instead of queueing it.
    assert await metric(api, "reelay_sse_progress_dropped_total") > dropped_before

    async with asyncio.timeout(20):
        got = events_in(await stalled.read_all())
    ids = event_ids(got)
    assert ids == sorted(set(ids)), "in order, no duplicates"
    assert ids[0] == 1 and ids[-1] == last.seq
    assert got[-1].event == "completed"
    status_events = [(m.id, m.data["status"]) for m in got if m.event != "progress"]
    assert [s for _, s in status_events] == [
        "awaiting_upload",
        "queued",
        "processing",
        "queued",
        "processing",
        "completed",
    ]
    assert len(got) < last.seq, "intermediate progress was skipped"
