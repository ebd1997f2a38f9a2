"""FFmpeg and ffprobe read a video upload from storage as they need it, through a relay.

Downloading the source first held every video's first segment back until its last byte had
arrived (1.8 s for a 5-minute 1080p upload, growing with the length). Instead FFmpeg opens an
HTTP URL and reads it in ranges, seeking like in a file; this relay, on loopback, answers each
range from storage with the worker's own credentials, and only while the object is the one
`complete` checked (If-Match on every read).

The port is open to every local user, so the relay answers only requests that carry a fresh
secret, and the secret reaches FFmpeg in its environment as the credentials of an `http_proxy`
URL, never on its command line, which anyone can read in /proc. FFmpeg sends them after the
relay's 407 challenge. Being its proxy, the relay sees every HTTP request FFmpeg makes, and it
serves one object and fetches nothing else; that no demuxer opens another URL at all (a
`tcp://` one would not pass through a proxy) is the format allow-list's work.

What storage answered is kept: FFmpeg may take a failed read for the end of the file, so the
pipeline asks `raise_failure` after FFmpeg, whatever FFmpeg made of it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import logging
import re
import secrets
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from aiohttp import ClientConnectionError, ClientPayloadError, web
from botocore.exceptions import BotoCoreError, ClientError
from reelay_core.media.errors import MediaRejected
from reelay_core.media.probe import RELAYED_SOURCE
from reelay_core.storage import (
    ObjectChanged,
    ObjectRead,
    RangeNotSatisfiable,
    Storage,
    StorageError,
)

from reelay_worker.pipeline.errors import FFmpegError
from reelay_worker.pipeline.source import source_changed

_SOURCE = urlsplit(RELAYED_SOURCE)
_REALM = 'Basic realm="reelay source"'
# The two forms FFmpeg sends: from an offset to the end, or a closed span.
_RANGE = re.compile(r"bytes=\d+-\d*")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(?:\d+|\*)")
HEAD_BYTES = 4096
# How often one request's read is picked up again after storage broke it off, and the pause
# before the first time (doubled, tripled ... after).
RESUMES = 3
RESUME_DELAY = 0.5

# What a failing storage, or the network to it, raises while a read is opened or streamed.
_STORAGE_FAILURES = (BotoCoreError, ClientError, ClientConnectionError, ClientPayloadError,
                     OSError, TimeoutError, StorageError)  # fmt: skip

log = logging.getLogger(__name__)


class SourceRelay:
    def __init__(self, storage: Storage, key: str, etag: str | None) -> None:
        self._storage = storage
        self._key = key
        self._etag = etag
        self._secret = secrets.token_urlsafe(24)
        self._expected = "Basic " + base64.b64encode(f"reelay:{self._secret}".encode()).decode()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._failure: Exception | None = None
        self.head = b""  # the first bytes of the source, once served: they explain a refusal

    async def __aenter__(self) -> SourceRelay:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._serve)
        # Handlers stop when FFmpeg hangs up (killed, or seeking elsewhere); nothing lingers
        # after the job.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return RELAYED_SOURCE

    def env(self) -> dict[str, str]:
        """What FFmpeg's environment needs to reach the relay (FFmpeg reads `http_proxy`)."""
        proxy = f"http://reelay:{self._secret}@127.0.0.1:{self._port}"
        return {"http_proxy": proxy, "no_proxy": ""}

    def raise_failure(self) -> None:
        """Raise what storage answered, if a read failed: `source_changed` when the object was
        replaced, StorageError (worth a retry) when storage or the way to it failed, and any
        other error (a bug of ours) as itself."""
        failure = self._failure
        if isinstance(failure, ObjectChanged):
            raise source_changed() from None
        if isinstance(failure, _STORAGE_FAILURES):
            raise StorageError(f"reading the source from storage failed: {failure!r}") from failure
        if failure is not None:
            raise failure

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Around what FFmpeg and ffprobe do with the source: when a read failed, that failure
        is raised in place of whatever FFmpeg made of it, an error or a success."""
        try:
            yield
        except (FFmpegError, MediaRejected) as exc:
            try:
                self.raise_failure()
            except Exception as failure:
                raise failure from exc
            raise
        self.raise_failure()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        # Header bytes that are not text come as surrogates: compared, never an error.
        sent = request.headers.get("Proxy-Authorization", "").encode(errors="replace")
        if not hmac.compare_digest(sent, self._expected.encode()):
            return web.Response(status=407, headers={"Proxy-Authenticate": _REALM})
        if (request.method, request.host, request.rel_url.path) != (
            "GET",
            _SOURCE.netloc,
            _SOURCE.path,
        ):
            return web.Response(status=404)
        byte_range = request.headers.get("Range")
        if byte_range is not None and not _RANGE.fullmatch(byte_range):
            return web.Response(status=416)
        try:
            async with self._storage.read(
                self._key, byte_range=byte_range, if_match=self._etag
            ) as read:
                span = _span(read)
                headers = {"Accept-Ranges": "bytes", "Content-Length": str(read.length)}
                if read.content_range:
                    headers["Content-Range"] = read.content_range
                response = web.StreamResponse(
                    status=206 if read.content_range else 200, headers=headers
                )
                with contextlib.suppress(ConnectionError):  # FFmpeg hung up: nothing to answer
                    await response.prepare(request)
                    await self._stream(
                        read, span, response, request, keep_head=_starts_at_zero(byte_range)
                    )
                return response
        except RangeNotSatisfiable:
            return web.Response(status=416)
        except ObjectChanged as exc:
            self._failed(exc)
            return web.Response(status=412)
        except Exception as exc:  # storage unreachable or failing: FFmpeg must not go on
            self._failed(exc)
            return web.Response(status=502)

    async def _stream(
        self,
        read: ObjectRead,
        span: tuple[int, int],
        response: web.StreamResponse,
        request: web.Request,
        *,
        keep_head: bool,
    ) -> None:
        first, last = span
        async with contextlib.aclosing(self._resuming(read, first, last, resumes=0)) as chunks:
            while True:
                try:
                    chunk = await anext(chunks, None)
                except Exception as exc:  # storage failed for good: FFmpeg must see it fail
                    self._failed(exc)
                    if request.transport is not None:
                        request.transport.close()  # short of Content-Length: FFmpeg sees an error
                    return
                if chunk is None:
                    break
                if keep_head and len(self.head) < HEAD_BYTES:
                    self.head += chunk[: HEAD_BYTES - len(self.head)]
                # A ConnectionError here is FFmpeg hanging up (it seeks elsewhere, or has what
                # it needs): the caller lets it pass, it is no failure of storage.
                await response.write(chunk)
        await response.write_eof()

    async def _resuming(
        self, read: ObjectRead, first: int, last: int, *, resumes: int
    ) -> AsyncGenerator[bytes]:
        """Bytes `first`..`last` of the object, from `read`; if storage breaks off halfway, the
        rest from a new read, up to RESUMES times. A transcode holds one read for as long as
        it runs (minutes, for a long video): a dropped connection must not cost all of it."""
        position = first
        try:
            async for chunk in read.chunks:
                position += len(chunk)
                yield chunk
            if position > last:
                return
            raise StorageError(f"storage ended the read at byte {position} of {first}-{last}")
        except Exception as exc:  # a broken read; a replaced source fails the new one, below
            if resumes == RESUMES:
                raise
            log.warning("reading the source broke off at byte %d (%r); resuming", position, exc)
        read.close()  # its connection is broken: let it go before taking another
        await asyncio.sleep(RESUME_DELAY * (resumes + 1))
        async with self._storage.read(
            self._key, byte_range=f"bytes={position}-{last}", if_match=self._etag
        ) as again:
            async with contextlib.aclosing(
                self._resuming(again, position, last, resumes=resumes + 1)
            ) as rest:
                async for chunk in rest:
                    yield chunk

    def _failed(self, exc: Exception) -> None:
        # A replaced source is the verdict whatever else failed; otherwise the first failure.
        if self._failure is None or isinstance(exc, ObjectChanged):
            self._failure = exc


def _span(read: ObjectRead) -> tuple[int, int]:
    """The first and last byte of the object that `read` returns."""
    if read.content_range is None:
        return 0, read.length - 1
    matched = _CONTENT_RANGE.fullmatch(read.content_range)
    if matched is None:
        raise StorageError(f"storage answered an unreadable Content-Range: {read.content_range}")
    return int(matched[1]), int(matched[2])


def _starts_at_zero(byte_range: str | None) -> bool:
    return byte_range is None or byte_range.startswith("bytes=0-")
