"""Files the worker refuses: permanently, at once (one attempt), in plain words, and without
FFmpeg reading anything but the uploaded file itself."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from reelay_core.storage import Storage

from tests.integration.worker.conftest import output_keys, stored_events
from tests.support.client import register
from tests.support.factories import upload_and_complete
from tests.support.media import FFMPEG, MediaFactory
from tests.support.waits import wait_terminal

LONG_AGO = 946_684_800  # 2000-01-01: far before any read, so a read always moves atime


def make_audio_only(directory: Path) -> Path:
    path = directory / "audio-only.mp4"
    if not path.exists():
        from reelay_core.binaries import binary_env

        subprocess.run(
            [str(FFMPEG), "-nostdin", "-v", "error", "-y", "-f", "lavfi",
             "-i", "sine=duration=1", "-c:a", "aac", str(path)],
            check=True, timeout=60, env=binary_env(),
        )  # fmt: skip
    return path


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        pytest.param(
            lambda f: f.garbage("corrupt.mp4"), "invalid_media", "could not be read", id="corrupt"
        ),
        pytest.param(
            lambda f: make_audio_only(f.directory), "no_video_stream", "no video", id="audio-only"
        ),
        pytest.param(
            lambda f: Path(shutil.copy(f.image(width=64, height=48), f.directory / "picture.mp4")),
            "unsupported_format",
            "image",
            id="png-named-mp4",
        ),
    ],
)
async def test_unusable_file_fails_once_without_retry(
    api: httpx.AsyncClient, default_workers, media_factory: MediaFactory, make, code, words,
    db_engine, storage: Storage,
) -> None:  # fmt: skip
    path = make(media_factory)
    account = await register(api)
    media_id = (await upload_and_complete(api, account, path))["id"]

    media = await wait_terminal(api, account, media_id)

    assert media["status"] == "failed"
    assert media["error"]["code"] == code
    assert words in media["error"]["message"].lower()
    assert media["attempts"] == 1
    assert media["outputs"] == [] and await output_keys(storage, media_id) == []
    statuses = [e.data["status"] for e in await stored_events(db_engine, media_id)]
    assert statuses.count("queued") == 1, "no retry was queued"


@pytest.fixture
def canary(tmp_path: Path, media_factory: MediaFactory) -> Path:
    """A real MPEG-TS segment a malicious playlist points at, with its atime set far back."""
    source = media_factory.video(width=160, height=120, seconds=1, fps=5, audio=False)
    path = tmp_path / "canary.ts"
    from reelay_core.binaries import binary_env

    subprocess.run(
        [str(FFMPEG), "-nostdin", "-v", "error", "-y", "-i", str(source), "-c", "copy",
         "-f", "mpegts", str(path)],
        check=True, timeout=60, env=binary_env(),
    )  # fmt: skip
    # Make sure this filesystem records reads at all, or the check below would prove nothing.
    control = tmp_path / "control"
    control.write_bytes(b"x")
    os.utime(control, (LONG_AGO, control.stat().st_mtime))
    control.read_bytes()
    if control.stat().st_atime == LONG_AGO:
        pytest.skip("this filesystem does not update atime (noatime)")
    os.utime(path, (LONG_AGO, path.stat().st_mtime))
    return path


async def test_playlist_named_mp4_is_refused_without_reading_what_it_names(
    api: httpx.AsyncClient, default_workers, canary: Path, tmp_path: Path, db_engine,
    storage: Storage,
) -> None:  # fmt: skip
    playlist = tmp_path / "holiday.mp4"
    playlist.write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        f"#EXTINF:1.0,\n{canary}\n"
        "#EXTINF:1.0,\nfile:///etc/passwd\n"
        "#EXT-X-ENDLIST\n"
    )
    account = await register(api)
    media_id = (await upload_and_complete(api, account, playlist))["id"]

    media = await wait_terminal(api, account, media_id)

    assert media["status"] == "failed"
    assert media["error"]["code"] == "unsupported_format"
    assert "playlists" in media["error"]["message"].lower()
    assert media["attempts"] == 1
    assert media["source"] is None and media["outputs"] == []
    assert await output_keys(storage, media_id) == []
    statuses = [e.data["status"] for e in await stored_events(db_engine, media_id)]
    assert statuses.count("queued") == 1, "no retry was queued"
    # Neither ffprobe nor FFmpeg opened the segment the playlist points at.
    assert os.stat(canary).st_atime == LONG_AGO


async def test_video_longer_than_the_limit_is_refused(
    api: httpx.AsyncClient, dedicated_worker, clip_small: Path, db_engine
) -> None:
    dedicated_worker(REELAY_MAX_DURATION_SECONDS="1")
    account = await register(api)
    media_id = (await upload_and_complete(api, account, clip_small))["id"]

    media = await wait_terminal(api, account, media_id)

    assert media["status"] == "failed"
    assert media["error"] == {
        "code": "too_long", "message": "The video is 2 s long; the limit is 1 s.",
    }  # fmt: skip
    assert media["attempts"] == 1
    statuses = [e.data["status"] for e in await stored_events(db_engine, media_id)]
    assert statuses.count("queued") == 1
