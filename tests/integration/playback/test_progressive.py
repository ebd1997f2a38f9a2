"""A video plays while it is still being processed: FFmpeg, as an HLS client of the API (the
bearer token in its requests), starts on the growing playlists and plays on to the end across
the switch to the final ones; a cancel while segments are being published leaves nothing.

The job runs in an in-process burst worker held just before its final upload (FFmpeg has
exited; the growing playlists are all that is stored), so "while processing" is a fact of the
test rather than a race with the encoder.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from reelay_core.binaries import binary_env
from reelay_core.media.playlists import segment_uris
from reelay_worker.resources import WorkerResources

from tests.integration.lifecycle.conftest import load
from tests.integration.lifecycle.test_cancel_anytime import finish, held_job
from tests.integration.playback.conftest import FPS, SECONDS
from tests.support.client import Account, assert_problem
from tests.support.media import FFMPEG
from tests.support.waits import JOB_DEADLINE, until, wait_for_status

HLS = "application/vnd.apple.mpegurl"
EXTINF = re.compile(r"#EXTINF:([0-9.]+),")


def durations(playlist: str) -> list[float]:
    return [float(d) for d in EXTINF.findall(playlist)]


def segment_names(playlist: str) -> list[str]:
    """The segments a playlist names, without the presigned URLs' changing signatures."""
    return [urlsplit(uri).path.rsplit("/", 1)[-1] for uri in segment_uris(playlist)]


async def variants(api: httpx.AsyncClient, owner: Account, media_id: str) -> dict[str, str]:
    """Every variant playlist the master links, by name, as a player gets them."""
    base = f"/videos/{media_id}/hls"
    master = await api.get(f"{base}/master.m3u8", headers=owner.headers)
    assert master.status_code == 200, master.text
    found = {}
    for uri in segment_uris(master.text):
        answer = await api.get(f"{base}/{uri}", headers=owner.headers)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(HLS)
        assert answer.headers["cache-control"] == master.headers["cache-control"]
        found[uri.removesuffix(".m3u8")] = answer.text
    return found


class Player:
    """FFmpeg reading an HLS URL of the API from its first segment to its end, as a player
    would: the token in the Authorization header, a growing playlist reloaded until it ends."""

    def __init__(self, url: str, owner: Account) -> None:
        self.args = [
            str(FFMPEG), "-v", "error", "-nostdin",
            "-headers", f"Authorization: Bearer {owner.token}\r\n",
            "-live_start_index", "0",  # a growing playlist: from its start, not its live edge
            "-i", url, "-map", "0:v:0", "-f", "framemd5", "-",
        ]  # fmt: skip
        self.lines: list[str] = []

    async def __aenter__(self) -> Player:
        self.proc = await asyncio.create_subprocess_exec(
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=binary_env(),
        )
        self.reading = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self.reading.cancel()

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode())

    def frames(self) -> list[str]:
        return [line for line in self.lines if not line.startswith("#")]

    async def frame_times(self) -> list[float]:
        """Wait for the end of the stream; the presentation time of every decoded frame."""
        async with asyncio.timeout(JOB_DEADLINE):
            await self.reading
            assert self.proc.stderr is not None
            errors = (await self.proc.stderr.read()).decode()
            assert await self.proc.wait() == 0, errors
        [time_base] = [
            Fraction(line.split(":", 1)[1].strip()) for line in self.lines if line.startswith("#tb")
        ]
        return [float(int(line.split(",")[2]) * time_base) for line in self.frames()]


def assert_every_frame_once(times: list[float]) -> None:
    """The whole video, each frame once, in order: no gap and no repeat at a segment boundary
    nor at the switch from the growing playlist to the final one."""
    assert len(times) == SECONDS * FPS, len(times)
    steps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(abs(step - 1 / FPS) < 0.5 / FPS for step in steps), steps


async def test_a_player_started_while_processing_plays_to_the_end_without_a_reload(
    res: WorkerResources, api: httpx.AsyncClient, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, media, checkpoint, worker = await held_job(res, api, clip, "final_upload", monkeypatch)
    media_id = str(media.id)
    try:
        item = (await api.get(f"/videos/{media_id}", headers=owner.headers)).json()
        assert (item["status"], item["playable"]) == ("processing", True), item
        assert item["playable_at"] is not None
        assert_problem(
            await api.get(
                f"/videos/{media_id}/download", params={"rendition": "mp4"}, headers=owner.headers
            ),
            409,
            "processing",
        )
        growing = await variants(api, owner, media_id)
        assert list(growing) == ["480p", "360p"]
        for playlist in growing.values():
            assert "#EXT-X-PLAYLIST-TYPE:EVENT" in playlist and "#EXT-X-ENDLIST" not in playlist
            assert durations(playlist), playlist
        # Every rung is cut at the same instants, the first segment short.
        assert len({tuple(durations(p)) for p in growing.values()}) == 1, growing
        first = durations(growing["480p"])[0]
        assert abs(first - res.settings.hls_first_segment_seconds) < 0.5, first

        url = f"{api.base_url}/videos/{media_id}/hls/master.m3u8"
        async with Player(url, owner) as early:
            await until(early.frames, what="the player decodes its first frame")
            await finish(worker, checkpoint)  # the final upload, then `completed`
            times = await early.frame_times()
    finally:
        checkpoint.released.set()
    assert_every_frame_once(times)

    done = await wait_for_status(api, owner, media_id, {"completed"})
    assert done["playable"] and done["playable_at"] == item["playable_at"]
    final = await variants(api, owner, media_id)
    for name, playlist in final.items():
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.endswith("#EXT-X-ENDLIST\n")
        # The final playlist goes on from the growing one: the same segments, then more.
        seen = len(segment_names(growing[name]))
        assert segment_names(playlist)[:seen] == segment_names(growing[name])
        assert durations(playlist)[:seen] == durations(growing[name])
        assert abs(sum(durations(playlist)) - SECONDS) < 0.5, durations(playlist)
    assert len({tuple(durations(p)) for p in final.values()}) == 1, final
    for name in final:  # and, now that it is complete, every rung plays whole
        async with Player(f"{api.base_url}/videos/{media_id}/hls/{name}.m3u8", owner) as late:
            assert_every_frame_once(await late.frame_times())


async def test_a_cancel_while_segments_are_published_leaves_none(
    res: WorkerResources, api: httpx.AsyncClient, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, media, checkpoint, worker = await held_job(res, api, clip, "final_upload", monkeypatch)
    assert await res.storage.list_keys(media.output_prefix), "segments are published"

    canceled = await api.post(f"/videos/{media.id}/cancel", headers=owner.headers)
    assert canceled.status_code == 202, canceled.text
    await finish(worker, checkpoint)

    assert await res.storage.list_keys(media.output_prefix) == []
    assert await res.storage.list_keys(media.source_key) == [media.source_key], "kept, to retry"
    ended = await load(res, media.id)
    assert (ended.status, ended.playable_at) == ("canceled", None)
    item = (await api.get(f"/videos/{media.id}", headers=owner.headers)).json()
    assert item["playable"] is False
    assert_problem(
        await api.get(f"/videos/{media.id}/hls/master.m3u8", headers=owner.headers), 409, "canceled"
    )
    retried = await api.post(f"/videos/{media.id}/retry", headers=owner.headers)
    assert retried.status_code == 202 and retried.json()["playable"] is False
