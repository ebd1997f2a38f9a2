"""Publishing a ladder while FFmpeg encodes it: each segment goes to storage as soon as FFmpeg
lists it as finished, then the rung's growing (EVENT) playlist that names it; the final (VOD)
playlists, the MP4 and the last poster once FFmpeg is done.

A playlist never names a segment that is not stored yet, so a player reading it can fetch all
it lists. Everything goes under the attempt's own prefix (`keys.attempt_prefix`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from reelay_core.media import keys
from reelay_core.media.command import OutputLayout
from reelay_core.media.playlists import Segment, media_playlist, parse_segment_list
from reelay_core.storage import Storage

from reelay_worker.pipeline.outputs import CONCURRENCY, content_type, upload_tree

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
# How often the segment lists are read while FFmpeg runs: a segment waits at most this long.
POLL_SECONDS = 0.1


class Publisher:
    """One attempt's outputs on their way to storage; `on_playable` runs once, after the master
    playlist and the first segment of every rung are stored."""

    def __init__(
        self,
        storage: Storage,
        out: Path,
        layout: OutputLayout,
        prefix: str,
        *,
        segment_seconds: int,
        on_playable: Callable[[], Awaitable[None]],
    ) -> None:
        self.storage = storage
        self.out = out
        self.layout = layout
        self.prefix = prefix
        self.segment_seconds = segment_seconds
        self.on_playable = on_playable
        self.published: dict[str, list[Segment]] = {name: [] for name in layout.playlists}
        self.playable = False
        self._poster_seen: tuple[int, int] | None = None  # (mtime_ns, size) last uploaded
        self._gate = asyncio.Semaphore(CONCURRENCY)

    async def publish_master(self, text: str) -> None:
        await self.storage.put_bytes(
            keys.hls_key(self.prefix, self.layout.master), text.encode(), content_type=PLAYLIST_TYPE
        )

    async def follow(self) -> None:
        """Publish what FFmpeg finishes, until cancelled (when FFmpeg has exited)."""
        while True:
            await self.publish_new()
            await asyncio.sleep(POLL_SECONDS)

    async def publish_new(self) -> None:
        """Upload the segments FFmpeg has finished since the last call, then the playlists
        naming them; the poster if FFmpeg wrote a new one. (Playable does not wait for the
        poster: FFmpeg writes its first frame only once it has the second, seconds in.)"""
        await self._publish_poster()
        async with asyncio.TaskGroup() as group:
            for name in self.published:
                group.create_task(self._publish_rung(name))
        if not self.playable and all(self.published.values()):
            await self.on_playable()
            self.playable = True

    async def finish(self, on_progress: Callable[[float], Awaitable[None]]) -> None:
        """FFmpeg has exited with success: the segments left, the final playlists, the MP4
        and the poster (`on_progress` gets the fraction of their bytes done)."""
        await self.publish_new()
        finals = {name: self._final_playlist(name) for name in self.published}
        files = {
            **{
                path: keys.hls_key(self.prefix, self.layout.playlists[n])
                for n, path in finals.items()
            },
            self.out / self.layout.mp4: keys.output_key(self.prefix, self.layout.mp4),
            self.out / self.layout.poster: keys.output_key(self.prefix, self.layout.poster),
        }
        await upload_tree(self.storage, files, on_progress)

    def rung_size(self, name: str) -> int:
        """Bytes of the rung's final playlist and segments (once `finish` is done)."""
        directory = self.out / name
        paths = [self.out / self.layout.playlists[name]]
        paths += [directory / segment.name for segment in self.published[name]]
        return sum(path.stat().st_size for path in paths)

    async def _publish_rung(self, name: str) -> None:
        listed = self._listed(name)
        new = listed[len(self.published[name]) :]
        if not new:
            return
        async with asyncio.TaskGroup() as group:
            for segment in new:
                group.create_task(self._upload(self.out / name / segment.name, name, segment))
        self.published[name] = listed
        playlist = media_playlist(listed, self.segment_seconds, ended=False)
        await self.storage.put_bytes(
            keys.hls_key(self.prefix, self.layout.playlists[name]),
            playlist.encode(),
            content_type=PLAYLIST_TYPE,
        )

    async def _upload(self, path: Path, rung: str, segment: Segment) -> None:
        async with self._gate:
            await self.storage.upload_file(
                path,
                keys.hls_key(self.prefix, f"{rung}/{segment.name}"),
                content_type=content_type(path),
            )

    def _listed(self, name: str) -> list[Segment]:
        try:
            text = (self.out / self.layout.segment_lists[name]).read_text()
        except FileNotFoundError:  # FFmpeg has not opened it yet
            return []
        return parse_segment_list(text)

    def _final_playlist(self, name: str) -> Path:
        path = self.out / self.layout.playlists[name]
        path.write_text(media_playlist(self.published[name], self.segment_seconds, ended=True))
        return path

    async def _publish_poster(self) -> None:
        """Upload the poster if FFmpeg has written one since the last upload. FFmpeg writes it
        by renaming a finished file, so it is never read half-written."""
        path = self.out / self.layout.poster
        try:
            stat = path.stat()
        except FileNotFoundError:
            return
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._poster_seen:
            await self.storage.upload_file(
                path, keys.output_key(self.prefix, self.layout.poster), content_type="image/jpeg"
            )
            self._poster_seen = seen
