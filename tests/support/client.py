"""The API as tests talk to it: accounts, problem-details answers, the /metrics numbers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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


def assert_problem(answer: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """`answer` is RFC 9457 problem details with this status and a detail naming `words`."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    body = answer.json()
    assert body["status"] == status and body["title"] and body["type"], body
    for word in words:
        assert word.lower() in body["detail"].lower(), body["detail"]
    return body


async def metric(api: httpx.AsyncClient, name: str) -> float:
    text = (await api.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} is not in /metrics")
