"""Webhooks against the real API and worker processes, delivered to a receiver in the test.

The suite's processes run with REELAY_WEBHOOK_ALLOW_PRIVATE (tests/conftest.py), since the
receiver listens on 127.0.0.1, and with retries in fractions of a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from reelay_core.webhooks.event_types import EVENT_TYPES

from tests.support.client import Account, register
from tests.support.media import MediaFactory
from tests.support.webhook_receiver import Receiver

ALL_EVENTS = list(EVENT_TYPES)


@pytest.fixture(scope="session")
def clip(media_factory: MediaFactory) -> Path:
    return media_factory.video(width=320, height=240, seconds=2)


@pytest.fixture(scope="session")
def garbage(media_factory: MediaFactory) -> Path:
    """Named like a video; the worker refuses it in a moment."""
    return media_factory.garbage()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.let_go()
        receiver.stop()


@pytest.fixture
async def alice(api: httpx.AsyncClient) -> Account:
    account = await register(api)
    api.cookies.clear()
    return account


async def add_webhook(
    api: httpx.AsyncClient, account: Account, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    answer = await api.post(
        "/webhooks", json={"url": url, "events": events or ALL_EVENTS}, headers=account.headers
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def deliveries(
    api: httpx.AsyncClient, account: Account, webhook_id: str
) -> list[dict[str, Any]]:
    answer = await api.get(f"/webhooks/{webhook_id}/deliveries", headers=account.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items
