"""The SSE response's headers: the stream runs after Litestar has returned (response.py), and
still carries what every response does."""

from __future__ import annotations

import httpx

from tests.support.client import Account
from tests.support.factories import create_media
from tests.support.sse import messages


async def test_a_stream_has_the_sse_the_security_and_the_request_id_headers(
    api: httpx.AsyncClient, account: Account
) -> None:
    media_id = (await create_media(api, account))["id"]
    for path in (f"/videos/{media_id}/events", "/events"):
        sent_id = f"sse-headers-{path.count('/')}"
        headers = {**account.headers, "X-Request-ID": sent_id}
        async with api.stream("GET", path, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-request-id"] == sent_id
            hello = await anext(messages(response))
            assert hello.retry == 3000 and "connected" in hello.comments
