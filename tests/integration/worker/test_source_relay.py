"""The source relay: FFmpeg reads the upload from real storage through it; nobody else can."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from reelay_core.media.command import input_args
from reelay_core.media.errors import MediaRejected
from reelay_core.media.probe import RELAYED_SOURCE, parse_probe
from reelay_core.media.progress import ProgressSample
from reelay_core.settings import Settings
from reelay_core.storage import Storage, StorageError
from reelay_worker.pipeline.ffmpeg_runner import run_ffmpeg, run_ffprobe
from reelay_worker.pipeline.source_relay import SourceRelay

from tests.integration.worker.conftest import ffmpeg_children, transcoding
from tests.support.client import register
from tests.support.factories import upload_and_complete
from tests.support.media import FFMPEG, FFPROBE, MediaFactory
from tests.support.waits import until, wait_for_media, wait_terminal


@pytest.fixture
async def stored(storage: Storage, media_factory: MediaFactory) -> AsyncIterator[tuple[str, str]]:
    """(key, etag) of a stored 6 s 720p upload, about 4 MB."""
    source = media_factory.video(width=1280, height=720, seconds=6, fps=30)
    key = f"test-relay/{secrets.token_hex(6)}/source.mp4"
    await storage.upload_file(source, key, content_type="video/mp4")
    head = await storage.head(key)
    assert head is not None
    yield key, head.etag
    await storage.delete_prefix(key)


async def decode_all(relay: SourceRelay) -> int:
    """Decode the whole relayed source, as the transcode does, into nothing; how many frames."""
    args = [*input_args(str(FFMPEG), relay.url, None), "-f", "null", "-"]
    frames = 0

    async def count(sample: ProgressSample) -> None:
        nonlocal frames
        frames = max(frames, sample.frame or 0)

    await run_ffmpeg(args, on_progress=count, stall_timeout=30, env=relay.env())
    return frames


async def test_ffprobe_and_ffmpeg_read_the_upload_through_the_relay(
    storage: Storage, stored: tuple[str, str]
) -> None:
    async with SourceRelay(storage, *stored) as relay:
        with relay.reading():
            info = parse_probe(
                await run_ffprobe(str(FFPROBE), relay.url, env=relay.env(), head=lambda: relay.head)
            )
            await decode_all(relay)
    assert (info.width, info.height, info.has_audio) == (1280, 720, True)
    assert abs(info.duration - 6) < 0.2
    assert relay.head[4:8] == b"ftyp"  # kept to explain a refusal


async def test_the_relay_answers_only_requests_with_its_secret(
    storage: Storage, stored: tuple[str, str]
) -> None:
    async with SourceRelay(storage, *stored) as relay:
        proxy = relay.env()["http_proxy"]
        address = urlsplit(proxy)
        bare = f"http://{address.hostname}:{address.port}"
        forged = f"http://reelay:{secrets.token_urlsafe(24)}@{address.hostname}:{address.port}"

        async with httpx.AsyncClient(proxy=proxy) as ffmpeg_like:
            ok = await ffmpeg_like.get(RELAYED_SOURCE, headers={"Range": "bytes=0-99"})
            other_path = await ffmpeg_like.get("http://source.reelay.invalid/etc/passwd")
            other_host = await ffmpeg_like.get("http://169.254.169.254/source")
            post = await ffmpeg_like.post(RELAYED_SOURCE, content=b"x")
        assert ok.status_code == 206 and len(ok.content) == 100
        assert ok.headers["content-range"].startswith("bytes 0-99/")
        # FFmpeg's proxy: it serves the one object and fetches nothing from anywhere.
        assert (other_path.status_code, other_host.status_code, post.status_code) == (404,) * 3

        for neighbour in (
            httpx.AsyncClient(proxy=bare),
            httpx.AsyncClient(proxy=forged),
            httpx.AsyncClient(base_url=bare),
            # Bytes that are no text: refused like any other wrong secret, not a 500.
            httpx.AsyncClient(base_url=bare, headers={"Proxy-Authorization": b"Basic \xff\xfe"}),
        ):
            async with neighbour:
                refused = await neighbour.get(
                    RELAYED_SOURCE if neighbour.base_url == "" else "/source"
                )
            assert refused.status_code == 407, refused
            assert refused.content == b""


async def test_ranges_are_answered_as_storage_holds_them(
    storage: Storage, stored: tuple[str, str]
) -> None:
    whole = await storage.get_bytes(stored[0])
    async with (
        SourceRelay(storage, *stored) as relay,
        httpx.AsyncClient(proxy=relay.env()["http_proxy"]) as client,
    ):
        middle = await client.get(RELAYED_SOURCE, headers={"Range": "bytes=1000-1999"})
        tail = await client.get(RELAYED_SOURCE, headers={"Range": f"bytes={len(whole) - 10}-"})
        past = await client.get(RELAYED_SOURCE, headers={"Range": f"bytes={len(whole)}-"})
        suffix = await client.get(RELAYED_SOURCE, headers={"Range": "bytes=-10"})
        several = await client.get(RELAYED_SOURCE, headers={"Range": "bytes=0-1,5-6"})
    assert middle.status_code == 206 and middle.content == whole[1000:2000]
    assert tail.status_code == 206 and tail.content == whole[-10:]
    assert (past.status_code, suffix.status_code, several.status_code) == (416, 416, 416)
    relay.raise_failure()  # none of that was a failure of storage


async def test_a_source_replaced_while_being_read_is_source_changed(
    storage: Storage, stored: tuple[str, str], media_factory: MediaFactory
) -> None:
    key, etag = stored
    async with (
        SourceRelay(storage, key, etag) as relay,
        httpx.AsyncClient(proxy=relay.env()["http_proxy"]) as client,
    ):
        first = await client.get(RELAYED_SOURCE, headers={"Range": "bytes=0-99"})
        assert first.status_code == 206
        other = media_factory.video(width=160, height=120, seconds=1)
        await storage.upload_file(other, key, content_type="video/mp4")
        after = await client.get(RELAYED_SOURCE, headers={"Range": "bytes=100-"})
    assert after.status_code == 412
    with pytest.raises(MediaRejected) as rejected, relay.reading():
        raise MediaRejected("invalid_media", "what ffprobe made of the short read")
    assert rejected.value.code == "source_changed"


class Severable:
    """A TCP forwarder in front of storage that cuts every connection once `cut_after` bytes
    went toward the client: storage failing halfway through a read, as a network or a crash
    does it. `stays_down`: new connections are refused from then on, else served again."""

    def __init__(self, target: tuple[str, int], cut_after: int | None, *, stays_down: bool) -> None:
        self.target = target
        self.cut_after = cut_after
        self.stays_down = stays_down
        self.forwarded = 0
        self.dead = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> Severable:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self._kill()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.dead.is_set() and self.stays_down:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer, count=False),
            self._pipe(up_reader, writer, count=True),
            return_exceptions=True,
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, count: bool
    ) -> None:
        while data := await reader.read(65536):
            if count and self.cut_after is not None and not self.dead.is_set():
                data = data[: max(0, self.cut_after - self.forwarded)]
                self.forwarded += len(data)
                if self.forwarded >= self.cut_after:
                    writer.write(data)
                    self.dead.set()
                    self._kill()
                    return
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.close()

    def _kill(self) -> None:
        for writer in self._writers:
            writer.transport.abort()


@pytest.fixture
def severed_storage(
    stack_settings: Settings,
) -> Callable[..., contextlib.AbstractAsyncContextManager[tuple[Storage, Severable]]]:
    """`severed_storage(cut_after, stays_down=...)`: a Storage that reaches the stack's S3
    through a Severable."""
    endpoint = urlsplit(str(stack_settings.s3_endpoint_url))
    assert endpoint.hostname and endpoint.port

    @contextlib.asynccontextmanager
    async def open_(
        cut_after: int | None, *, stays_down: bool
    ) -> AsyncIterator[tuple[Storage, Severable]]:
        target = (endpoint.hostname, endpoint.port)
        async with Severable(target, cut_after, stays_down=stays_down) as severable:
            settings = stack_settings.model_copy(update={"s3_endpoint_url": severable.url})
            async with Storage(settings) as storage:
                yield storage, severable

    return open_


async def test_a_read_broken_off_is_picked_up_where_it_stopped(
    severed_storage, stored: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:  # fmt: skip
    async with severed_storage(None, stays_down=False) as (storage, severable):
        async with SourceRelay(storage, *stored) as relay:
            with relay.reading():
                whole = await decode_all(relay)
        assert not severable.dead.is_set()
    assert whole == 180  # 6 s at 30 fps

    async with severed_storage(1_000_000, stays_down=False) as (storage, severable):
        async with SourceRelay(storage, *stored) as relay:
            with relay.reading():
                resumed = await decode_all(relay)
        assert severable.dead.is_set()  # storage did break off at 1 MB
    assert resumed == whole
    assert [r for r in caplog.records if "resuming" in r.getMessage()], "no read was resumed"


async def test_storage_failing_halfway_is_a_storage_error_not_a_shorter_video(
    severed_storage, stored: tuple[str, str]
) -> None:  # fmt: skip
    async with severed_storage(1_000_000, stays_down=True) as (storage, severable):
        async with SourceRelay(storage, *stored) as relay:
            # FFmpeg may stop with an error or take the cut for the end of the file; either
            # way the attempt must see storage's failure (a retry), never a shorter video.
            with pytest.raises(StorageError), relay.reading():
                with contextlib.suppress(Exception):
                    await decode_all(relay)
        assert severable.dead.is_set()


async def test_ffmpeg_gets_the_relay_in_its_environment_not_on_its_command_line(
    api: httpx.AsyncClient, dedicated_worker, clip_1080_long: Path
) -> None:  # fmt: skip
    """/proc/<pid>/cmdline is readable by every local user; /proc/<pid>/environ is not."""
    worker = dedicated_worker()
    account = await register(api)
    media_id = (await upload_and_complete(api, account, clip_1080_long))["id"]
    await wait_for_media(api, account, media_id, transcoding, what="mid-transcode")
    [ffmpeg] = await until(lambda: ffmpeg_children(worker), what="FFmpeg running")
    command = ffmpeg.cmdline()
    proxy = ffmpeg.environ()["http_proxy"]
    secret = urlsplit(proxy).password
    assert secret and len(secret) >= 32
    assert command[command.index("-i") + 1] == RELAYED_SOURCE
    assert command[command.index("-protocol_whitelist") + 1] == "http,tcp"
    assert not [arg for arg in command if secret in arg or "127.0.0.1" in arg or "Amz" in arg]

    address = urlsplit(proxy)
    async with httpx.AsyncClient(proxy=f"http://{address.hostname}:{address.port}") as neighbour:
        assert (await neighbour.get(RELAYED_SOURCE)).status_code == 407
    assert (await wait_terminal(api, account, media_id))["status"] == "completed"
