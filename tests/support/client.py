"""HTTP helpers for tests: register users, upload through presigned forms, read SSE streams."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


@dataclass
class Account:
    email: str
    password: str
    token: str
    id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(
    api: httpx.AsyncClient, email: str | None = None, password: str = "correct horse"
) -> Account:
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    created = await api.post("/auth/register", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    token = await api.post("/auth/token", json={"email": email, "password": password})
    assert token.status_code == 200, token.text
    return Account(email, password, token.json()["access_token"], created.json()["id"])


async def create_media(
    api: httpx.AsyncClient,
    account: Account,
    path: Path,
    *,
    kind: str = "videos",
    content_type: str = "video/mp4",
    filename: str | None = None,
) -> dict[str, Any]:
    answer = await api.post(
        f"/{kind}",
        json={
            "filename": filename or path.name,
            "content_type": content_type,
            "size": path.stat().st_size,
        },
        headers=account.headers,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def post_form(upload: dict[str, Any], path: Path) -> httpx.Response:
    """Send the file to storage exactly as a browser form would."""
    async with httpx.AsyncClient(timeout=60) as storage:
        return await storage.post(
            upload["url"], data=upload["fields"], files={"file": (path.name, path.read_bytes())}
        )


async def upload_and_complete(
    api: httpx.AsyncClient,
    account: Account,
    path: Path,
    *,
    kind: str = "videos",
    content_type: str = "video/mp4",
) -> dict[str, Any]:
    media = await create_media(api, account, path, kind=kind, content_type=content_type)
    stored = await post_form(media["upload"], path)
    assert stored.status_code in (200, 204), stored.text
    done = await api.post(f"/{kind}/{media['id']}/complete", json={}, headers=account.headers)
    assert done.status_code == 202, done.text
    return done.json()


@dataclass
class Event:
    id: int | None
    event: str
    data: dict[str, Any]


async def read_events(
    api: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    *,
    timeout: float = 120,
    last_event_id: int | None = None,
) -> list[Event]:
    """Read an SSE stream until the server closes it (after a terminal event)."""
    headers = dict(headers)
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    events: list[Event] = []
    current: dict[str, str] = {}
    async with api.stream(
        "GET", path, headers=headers, timeout=httpx.Timeout(timeout, read=timeout)
    ) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if line == "":
                if "event" in current or "data" in current:
                    events.append(
                        Event(
                            int(current["id"]) if current.get("id") else None,
                            current.get("event", "message"),
                            json.loads(current.get("data", "{}")),
                        )
                    )
                current = {}
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            current[field] = value[1:] if value.startswith(" ") else value
    return events
