"""A dead dependency is a precise 503 problem naming it, never a 500."""

from __future__ import annotations

import socket

from reelay_core.settings import Settings

from tests.support.api_server import serve_app
from tests.support.client import register


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the socket is closed


async def test_dead_storage_is_a_503_naming_it(stack_settings: Settings, clean_state: None) -> None:
    dead_s3 = f"http://127.0.0.1:{closed_port()}"
    async with serve_app(
        stack_settings, s3_endpoint_url=dead_s3, multipart_threshold_bytes=10
    ) as api:
        account = await register(api)
        answer = await api.post(
            "/videos",
            json={"filename": "big.mp4", "content_type": "video/mp4", "size": 1000},
            headers=account.headers,
        )
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["retry-after"]
        assert "Object storage (S3) is unavailable" in answer.json()["detail"]

        ready = await api.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["failing"] == ["storage"]


async def test_dead_database_is_a_503_naming_it(stack_settings: Settings, tmp_path) -> None:
    nowhere = f"postgresql+asyncpg://postgres@/postgres?host={tmp_path}"  # no server socket here
    async with serve_app(stack_settings, database_url=nowhere) as api:
        answer = await api.post(
            "/auth/register", json={"email": "nobody@example.com", "password": "long enough"}
        )
        assert answer.status_code == 503, answer.text
        assert "The database (PostgreSQL) is unavailable" in answer.json()["detail"]
        ready = await api.get("/readyz")
        assert ready.status_code == 503 and ready.json()["failing"] == ["postgres"]
