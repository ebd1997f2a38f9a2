"""POST /videos/upload: a form streamed through the API into storage, the limit enforced live."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import psutil
from reelay_core.media.keys import item_prefix, source_key
from reelay_core.settings import Settings
from reelay_core.storage import Storage

from tests.support.api_server import serve_app
from tests.support.client import Account, assert_problem
from tests.support.factories import MIB, from_bytes, streamed_form, zeros
from tests.support.processes import AppProcesses


async def open_uploads(storage: Storage) -> set[str]:
    """Multipart uploads storage still holds: a refused upload must leave none behind."""
    return {upload.upload_id for upload in await storage.open_multipart_uploads("media/")}


async def test_a_form_upload_is_stored_and_queued(
    api: httpx.AsyncClient, alice: Account, clip_bytes: bytes, storage: Storage
) -> None:
    headers, body = streamed_form(
        from_bytes(clip_bytes), filename="holiday.mp4", extra_fields={"title": "ignored"}
    )
    answer = await api.post("/videos/upload", content=body, headers={**alice.headers, **headers})
    assert answer.status_code == 202, answer.text
    media = answer.json()
    assert media["status"] == "queued" and media["job_id"] == f"transcode:{media['id']}:1"
    assert (media["filename"], media["content_type"], media["size"]) == (
        "holiday.mp4",
        "video/mp4",
        len(clip_bytes),
    )
    assert media["kind"] == "video" and media["attempts"] == 1

    source = [k for k in await storage.list_keys(item_prefix(media["id"])) if "/source" in k]
    assert source == [source_key(media["id"], ".mp4")]
    assert await storage.get_bytes(source[0]) == clip_bytes
    listed = (await api.get("/videos", headers=alice.headers)).json()["items"]
    assert [m["id"] for m in listed] == [media["id"]]


async def test_an_undeclared_type_is_judged_by_extension(
    api: httpx.AsyncClient, alice: Account, picture_bytes: bytes
) -> None:
    # What `curl -F file=@photo.png` sends for types it does not know.
    headers, body = streamed_form(
        from_bytes(picture_bytes),
        filename="photo.png",
        content_type="application/octet-stream",
    )
    answer = await api.post("/images/upload", content=body, headers={**alice.headers, **headers})
    assert answer.status_code == 202, answer.text
    assert (answer.json()["kind"], answer.json()["content_type"]) == ("image", "image/png")


async def test_form_uploads_refuse_what_post_refuses(
    api: httpx.AsyncClient, alice: Account, storage: Storage
) -> None:
    before = await open_uploads(storage)
    cases = [
        (dict(filename="notes.txt", content_type="text/plain"), 415, (".txt",)),
        (dict(filename="clip.mp4", content_type="image/png"), 415, ("image/png",)),
        (dict(filename="clip.mp4", field="video"), 422, ("`file`",)),
        (dict(filename=""), 422, ("filename",)),
    ]
    for form, status, words in cases:
        headers, body = streamed_form(from_bytes(b"\0" * 4096), **form)
        answer = await api.post(
            "/videos/upload", content=body, headers={**alice.headers, **headers}
        )
        assert_problem(answer, status, *words)

    headers, body = streamed_form(from_bytes(b""))
    assert_problem(
        await api.post("/videos/upload", content=body, headers={**alice.headers, **headers}),
        422,
        "empty",
    )
    headers, body = streamed_form(from_bytes(b"\0" * 4096), close=False)
    cut = await api.post("/videos/upload", content=body, headers={**alice.headers, **headers})
    assert_problem(cut, 400, "cut off")
    not_a_form = await api.post("/videos/upload", json={"file": "clip.mp4"}, headers=alice.headers)
    assert_problem(not_a_form, 415, "multipart/form-data")

    assert (await api.get("/videos", headers=alice.headers)).json()["items"] == []
    assert await open_uploads(storage) == before


async def post_until_answered(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], body: AsyncIterator[bytes]
) -> tuple[int, dict, int]:
    """POST a chunked body over a raw connection, stopping as soon as the server answers.

    httpx sends a whole body before reading the answer; this shows the server refused the
    upload while it was still arriving. Returns (status, JSON body, bytes of body sent).
    """
    url = client.base_url
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = f"POST {path} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\nTransfer-Encoding: chunked\r\n"
    writer.write((head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
    answered = asyncio.create_task(reader.readuntil(b"\r\n\r\n"))
    sent = 0
    async for chunk in body:
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        sent += len(chunk)
        await asyncio.sleep(0)
        if answered.done():
            break
    head_lines = (await asyncio.wait_for(answered, 30)).decode().split("\r\n")
    fields = {
        k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head_lines[1:] if line)
    }
    payload = await reader.readexactly(int(fields["content-length"]))
    writer.close()
    return int(head_lines[0].split()[1]), json.loads(payload), sent


async def test_the_size_limit_is_enforced_while_streaming(
    api: httpx.AsyncClient, alice: Account, stack_settings: Settings, storage: Storage
) -> None:
    before = await open_uploads(storage)
    limit = 6 * MIB
    async with serve_app(
        stack_settings, max_upload_bytes=limit, multipart_part_bytes=5 * MIB
    ) as app:
        headers, body = streamed_form(zeros(256 * MIB, chunk=256 * 1024))
        status, problem, sent = await post_until_answered(
            app, "/videos/upload", {**alice.headers, **headers}, body
        )
        assert status == 413 and str(limit) in problem["detail"], problem
        assert sent < 64 * MIB, f"the server took {sent} bytes before refusing"

        fits = bytes(range(256)) * ((limit - 256) // 256)  # two parts of 5 and 1 MiB
        headers, form = streamed_form(from_bytes(fits))
        ok = await app.post("/videos/upload", content=form, headers={**alice.headers, **headers})
        assert ok.status_code == 202 and ok.json()["size"] == len(fits)
        media_id = ok.json()["id"]
        assert await storage.get_bytes(source_key(media_id, ".mp4")) == fits
        assert (await app.delete(f"/videos/{media_id}", headers=alice.headers)).status_code == 204

    assert await open_uploads(storage) == before, "the refused multipart upload was aborted"
    assert (await api.get("/videos", headers=alice.headers)).json()["items"] == []


async def test_a_300_mb_upload_keeps_the_api_memory_flat(
    apps: AppProcesses, api: httpx.AsyncClient, alice: Account
) -> None:
    total = 300 * 1000 * 1000
    process = psutil.Process(apps.api.pid)
    baseline = peak = process.memory_info().rss

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        headers, body = streamed_form(zeros(total))
        answer = await api.post(
            "/videos/upload", content=body, headers={**alice.headers, **headers}, timeout=120
        )
    finally:
        sampler.cancel()
    assert answer.status_code == 202, answer.text
    assert answer.json()["size"] == total
    growth = (peak - baseline) / MIB
    assert growth < 50, f"the API grew by {growth:.0f} MiB while streaming 300 MB"
    # Zeros are no video; do not make the worker fetch 300 MB to find out.
    assert (
        await api.delete(f"/videos/{answer.json()['id']}", headers=alice.headers)
    ).status_code == 204
