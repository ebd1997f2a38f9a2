"""Videos through the real worker: the ladder in storage, rotation, silence, progress events."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
from reelay_core.media.keys import hls_key, output_key
from reelay_core.storage import Storage

from tests.integration.worker.conftest import (
    expected_video_keys,
    output_keys,
    playlist_entries,
    published,
    stored_events,
)
from tests.support.client import register
from tests.support.factories import upload_and_complete
from tests.support.media import probe
from tests.support.sse import read_events
from tests.support.waits import wait_terminal


async def test_1080p_source_gives_four_rungs_and_a_master_playlist(
    api: httpx.AsyncClient, default_workers, clip_1080: Path, storage: Storage
) -> None:
    account = await register(api)
    media_id = (await upload_and_complete(api, account, clip_1080))["id"]

    media = await wait_terminal(api, account, media_id)

    assert media["status"] == "completed", media["error"]
    assert (media["attempts"], media["progress"], media["error"]) == (1, 100, None)
    source = media["source"]
    assert (source["width"], source["height"], source["video_codec"], source["audio_codec"]) == (
        1920, 1080, "h264", "aac",
    )  # fmt: skip
    assert 1.9 < source["duration"] < 2.2
    outputs = {o["name"]: o for o in media["outputs"]}
    assert list(outputs) == ["1080p", "720p", "480p", "360p", "mp4", "poster"]
    sizes = {name: (o["width"], o["height"]) for name, o in outputs.items()}
    assert sizes == {
        "1080p": (1920, 1080), "720p": (1280, 720), "480p": (854, 480), "360p": (640, 360),
        "mp4": (1920, 1080), "poster": (1280, 720),
    }  # fmt: skip
    for name, output in outputs.items():
        assert output["size"] > 0, name
        if name != "poster":
            assert output["bitrate"] > 0, name
    bitrates = [outputs[r]["bitrate"] for r in ("1080p", "720p", "480p", "360p")]
    assert bitrates == sorted(bitrates, reverse=True)

    out = published(media_id)
    master = (await storage.get_bytes(hls_key(out, "master.m3u8"))).decode()
    assert master.count("#EXT-X-STREAM-INF") == 4
    assert playlist_entries(master) == [
        f"{r}/index.m3u8" for r in ("1080p", "720p", "480p", "360p")
    ]
    for variant in playlist_entries(master):
        playlist = (await storage.get_bytes(hls_key(out, variant))).decode()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and "#EXT-X-ENDLIST" in playlist
        assert playlist_entries(playlist), variant
    # Every variant, every segment the playlists name, the MP4 and the poster; nothing else.
    assert sorted(await output_keys(storage, media_id)) == sorted(
        await expected_video_keys(storage, media_id)
    )


async def test_rotated_phone_video_comes_out_portrait(
    api: httpx.AsyncClient, default_workers, clip_rotated: Path, storage: Storage, tmp_path: Path
) -> None:
    account = await register(api)
    media_id = (await upload_and_complete(api, account, clip_rotated))["id"]

    media = await wait_terminal(api, account, media_id)

    assert media["status"] == "completed", media["error"]
    assert (media["source"]["width"], media["source"]["height"]) == (720, 1280)
    sizes = {o["name"]: (o["width"], o["height"]) for o in media["outputs"]}
    assert sizes == {
        "720p": (720, 1280), "480p": (480, 854), "360p": (360, 640),
        "mp4": (720, 1280), "poster": (720, 1280),
    }  # fmt: skip
    mp4 = tmp_path / "video.mp4"
    mp4.write_bytes(await storage.get_bytes(output_key(published(media_id), "video.mp4")))
    video = next(s for s in probe(mp4)["streams"] if s["codec_type"] == "video")
    # Turned upright in the pixels: no display matrix left for a player to apply twice.
    assert (video["width"], video["height"]) == (720, 1280)
    assert not video.get("side_data_list")


async def test_video_without_audio(
    api: httpx.AsyncClient, default_workers, clip_silent: Path, storage: Storage, tmp_path: Path
) -> None:
    account = await register(api)
    media_id = (await upload_and_complete(api, account, clip_silent))["id"]

    media = await wait_terminal(api, account, media_id)

    assert media["status"] == "completed", media["error"]
    assert media["source"]["audio_codec"] is None
    assert [o["name"] for o in media["outputs"]] == ["480p", "360p", "mp4", "poster"]
    rung_480 = media["outputs"][0]
    assert rung_480["bitrate"] == 1_400_000  # video only: no audio bitrate added
    mp4 = tmp_path / "video.mp4"
    mp4.write_bytes(await storage.get_bytes(output_key(published(media_id), "video.mp4")))
    assert [s["codec_type"] for s in probe(mp4)["streams"]] == ["video"]
    master = (await storage.get_bytes(hls_key(published(media_id), "master.m3u8"))).decode()
    assert "mp4a" not in master


async def test_progress_is_monotonic_staged_throttled_and_has_an_eta(
    api: httpx.AsyncClient, default_workers, clip_720: Path, db_engine
) -> None:
    account = await register(api)
    media_id = (await upload_and_complete(api, account, clip_720))["id"]

    # Live, through Redis and the API's SSE stream, from the first stored event on.
    live = await read_events(api, f"/videos/{media_id}/events", account.headers, last_event_id=0)
    stored = await stored_events(db_engine, media_id)

    assert live[-1].event == "completed"
    assert [(e.id, e.event) for e in live] == [(e.seq, e.event) for e in stored]
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1)), "gapless per-media seq"

    working = [e for e in stored if e.data["status"] == "processing"]
    progress = [e.data["progress"] for e in working]
    assert progress == sorted(progress), "never decreases within the attempt"
    assert 0 <= progress[0] and progress[-1] <= 100
    stages = [stage for stage, _ in itertools.groupby(e.data["stage"] for e in working)]
    assert stages == ["probe", "transcode", "package", "upload"]
    upload = [e.data["progress"] for e in working if e.data["stage"] == "upload"]
    assert upload[-1] == 100 and len(upload) >= 2, "uploading reports progress too"
    etas = [e.data["eta_seconds"] for e in working if e.data["stage"] == "transcode"]
    assert any(eta is not None and eta > 0 for eta in etas), etas
    assert stored[-1].data["progress"] == 100 and stored[-1].data["stage"] is None

    # Playable once, while processing: a status event of its own, before the end.
    turned = [i for i, e in enumerate(stored) if e.data["playable"]]
    assert turned and stored[turned[0]].event == "status", stored
    assert stored[turned[0]].data["status"] == "processing"
    assert all(e.data["playable"] for e in stored[turned[0] :]), "and stays playable"

    # Throttled: within a stage, a new progress event needs 0.5 s or a step of at least 1 point
    # (reaching 100 is always told).
    for before, after in itertools.pairwise(e for e in working if e.event == "progress"):
        if before.data["stage"] == after.data["stage"]:
            step = after.data["progress"] - before.data["progress"]
            waited = after.at - before.at
            assert waited >= 0.4 or step >= 0.99 or after.data["progress"] == 100, (before, after)
