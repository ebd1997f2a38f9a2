"""Uploads on behalf of your own users: `external_id` and `metadata` kept, returned and
filtered by; the upload URLs' lifetime chosen within the server's."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from reelay_core.settings import Settings
from reelay_core.storage import Storage

from tests.support.client import Account, assert_problem
from tests.support.factories import create_media, from_bytes, media_body, streamed_form


async def test_external_id_and_metadata_come_back_everywhere(
    api: httpx.AsyncClient, alice: Account
) -> None:
    metadata = {"user_id": "u_42", "tags": ["a", "b"], "nested": {"n": 1.5, "ok": True}}
    created = await create_media(api, alice, external_id="order-1234", metadata=metadata)
    assert created["external_id"] == "order-1234" and created["metadata"] == metadata

    one = (await api.get(f"/videos/{created['id']}", headers=alice.headers)).json()
    listed = (await api.get("/videos", headers=alice.headers)).json()["items"]
    for media in (one, *listed):
        assert media["external_id"] == "order-1234" and media["metadata"] == metadata

    plain = await create_media(api, alice)
    assert plain["external_id"] is None and plain["metadata"] == {}


async def test_listing_filters_by_external_id(
    api: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    first = await create_media(api, alice, external_id="shared")
    second = await create_media(api, alice, external_id="shared")
    await create_media(api, alice, external_id="other")
    await create_media(api, alice)
    await create_media(api, bob, external_id="shared")
    image = await create_media(api, alice, kind="images", external_id="shared")

    async def ids(path: str, external_id: str, **params: Any) -> list[str]:
        answer = await api.get(
            path, params={"external_id": external_id, **params}, headers=alice.headers
        )
        assert answer.status_code == 200, answer.text
        return [m["id"] for m in answer.json()["items"]]

    assert await ids("/videos", "shared") == [second["id"], first["id"]]
    assert await ids("/videos", "shared", limit=1) == [second["id"]]
    assert await ids("/videos", "nobody") == []
    assert await ids("/images", "shared") == [image["id"]]
    assert_problem(
        await api.get("/videos", params={"external_id": "x" * 256}, headers=alice.headers), 422
    )


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"external_id": "x" * 256}, ["external_id"]),
        ({"external_id": ""}, ["external_id"]),
        ({"metadata": {"blob": "x" * 4096}}, ["metadata", "4096"]),
        ({"metadata": ["not", "an", "object"]}, ["metadata"]),
        ({"metadata": "text"}, ["metadata"]),
        ({"upload_ttl_seconds": 59}, ["upload_ttl_seconds"]),
    ],
)
async def test_bad_fields_are_422_naming_them(
    api: httpx.AsyncClient, alice: Account, fields: dict[str, Any], words: list[str]
) -> None:
    answer = await api.post("/videos", json=media_body(**fields), headers=alice.headers)
    assert_problem(answer, 422, *words)


async def test_metadata_up_to_the_limit_is_kept(api: httpx.AsyncClient, alice: Account) -> None:
    # {"blob":"..."} is 11 bytes around the value.
    metadata = {"blob": "é" * ((4096 - 11) // 2)}
    created = await create_media(api, alice, metadata=metadata)
    assert created["metadata"] == metadata


async def test_the_caller_shortens_the_upload_urls_lifetime(
    api: httpx.AsyncClient, alice: Account, stack_settings: Settings
) -> None:
    created = await create_media(api, alice, upload_ttl_seconds=120)
    expires = datetime.fromisoformat(created["upload"]["expires_at"])
    made = datetime.fromisoformat(created["created_at"])
    assert timedelta(seconds=100) < expires - made < timedelta(seconds=140)
    # Storage enforces the policy's expiration, not the answer's expires_at: check that one.
    policy = json.loads(base64.b64decode(created["upload"]["fields"]["policy"]))
    signed = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert timedelta(seconds=100) < signed - made < timedelta(seconds=140), policy

    longest = stack_settings.presign_ttl_seconds
    too_long = await api.post(
        "/videos", json=media_body(upload_ttl_seconds=longest + 1), headers=alice.headers
    )
    assert assert_problem(too_long, 422, str(longest))["code"] == "upload_ttl_too_long"


async def sources_and_uploads(storage: Storage) -> set[str]:
    """Sources stored and multipart uploads open: what a refused upload must not add. (Workers
    still finishing earlier tests' items write outputs, never these.)"""
    sources = {key for key in await storage.list_keys("media/") if "/source" in key}
    uploads = {u.upload_id for u in await storage.open_multipart_uploads("media/")}
    return sources | uploads


async def test_a_form_upload_takes_the_fields_before_its_file(
    api: httpx.AsyncClient, alice: Account, clip_bytes: bytes
) -> None:
    metadata = {"user_id": "u_7"}
    headers, body = streamed_form(
        from_bytes(clip_bytes),
        extra_fields={"external_id": "form-1", "metadata": json.dumps(metadata)},
    )
    answer = await api.post("/videos/upload", content=body, headers={**alice.headers, **headers})
    assert answer.status_code == 202, answer.text
    assert answer.json()["external_id"] == "form-1" and answer.json()["metadata"] == metadata


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"metadata": "[1, 2]"}, ["metadata"]),
        ({"metadata": "{not json"}, ["metadata", "json"]),
        ({"metadata": json.dumps({"blob": "x" * 4096})}, ["metadata", "4096"]),
        ({"external_id": "x" * 256}, ["external_id"]),
    ],
)
async def test_bad_form_fields_are_refused_before_the_file_is_stored(
    api: httpx.AsyncClient,
    alice: Account,
    clip_bytes: bytes,
    storage: Storage,
    fields: dict[str, str],
    words: list[str],
) -> None:
    before = await sources_and_uploads(storage)
    headers, body = streamed_form(from_bytes(clip_bytes), extra_fields=fields)
    answer = await api.post("/videos/upload", content=body, headers={**alice.headers, **headers})
    assert_problem(answer, 422, *words)
    assert await sources_and_uploads(storage) <= before


async def test_a_field_after_the_file_is_refused(
    api: httpx.AsyncClient, alice: Account, clip_bytes: bytes, storage: Storage
) -> None:
    boundary = "reelay-test-after"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n".encode()
        + clip_bytes
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="external_id"\r\n\r\n'
        f"late\r\n--{boundary}--\r\n".encode()
    )
    headers = {**alice.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    before = await sources_and_uploads(storage)
    answer = await api.post("/videos/upload", content=body, headers=headers)
    assert assert_problem(answer, 422, "before the file")["code"] == "field_after_file"
    assert await sources_and_uploads(storage) <= before
