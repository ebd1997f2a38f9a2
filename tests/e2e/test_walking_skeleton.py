"""One real video travels the whole path: upload -> queue -> FFmpeg -> progress -> done."""

from __future__ import annotations

import httpx

from tests.support.client import register
from tests.support.factories import upload_and_complete
from tests.support.media import MediaFactory, probe
from tests.support.sse import read_events


async def test_video_goes_from_upload_to_completed_with_live_progress(
    api: httpx.AsyncClient, media_factory: MediaFactory, tmp_path
) -> None:
    account = await register(api)
    clip = media_factory.video(width=640, height=360, seconds=2)

    queued = await upload_and_complete(api, account, clip)
    assert queued["status"] == "queued"
    assert queued["job_id"]

    events = await read_events(
        api, f"/videos/{queued['id']}/events", account.headers, last_event_id=0
    )
    names = [e.event for e in events]
    assert names[-1] == "completed", names
    ids = [e.id for e in events]
    assert ids == list(range(1, len(ids) + 1)), "event ids grow by one, no gap, no duplicate"
    statuses = [e.data["status"] for e in events]
    assert statuses[0] == "awaiting_upload" and "queued" in statuses and "processing" in statuses
    progress = [e.data["progress"] for e in events if e.data["status"] == "processing"]
    assert progress == sorted(progress), "progress never decreases within an attempt"
    assert any(e.event == "progress" and e.data["stage"] == "transcode" for e in events)

    media = (await api.get(f"/videos/{queued['id']}", headers=account.headers)).json()
    assert media["status"] == "completed" and media["progress"] == 100
    assert media["source"]["width"] == 640 and media["source"]["height"] == 360
    names = {o["name"] for o in media["outputs"]}
    assert {"360p", "mp4", "poster"} <= names

    download = await api.get(
        f"/videos/{queued['id']}/download", params={"rendition": "mp4"}, headers=account.headers
    )
    assert download.status_code == 307
    async with httpx.AsyncClient() as storage:
        mp4 = await storage.get(download.headers["location"])
    assert mp4.status_code == 200
    (tmp_path / "out.mp4").write_bytes(mp4.content)
    streams = probe(tmp_path / "out.mp4")["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 640, 360)
