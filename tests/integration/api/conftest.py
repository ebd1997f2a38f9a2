"""Accounts, storage and tiny media for the HTTP API tests (the real API process and servers)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.client import Account, register
from tests.support.media import MediaFactory


async def bearer_account(api: httpx.AsyncClient) -> Account:
    account = await register(api)
    # Logging in left the session cookie in the shared client; requests must authenticate
    # with their own bearer token only (the cookie has its own tests).
    api.cookies.clear()
    return account


@pytest.fixture
async def alice(api: httpx.AsyncClient) -> Account:
    return await bearer_account(api)


@pytest.fixture
async def bob(api: httpx.AsyncClient) -> Account:
    return await bearer_account(api)


@pytest.fixture(scope="session")
def clip(media_factory: MediaFactory) -> Path:
    """The smallest real video the ladder accepts: 320x240, 2 s."""
    return media_factory.video(width=320, height=240, seconds=2)


@pytest.fixture(scope="session")
def long_clip(media_factory: MediaFactory) -> Path:
    """Still being encoded many seconds after its job starts (a 720p ladder of 30 s), yet a
    small file: the test pattern compresses well."""
    return media_factory.video(width=1280, height=720, seconds=30, fps=10, audio=False)


@pytest.fixture(scope="session")
def garbage(media_factory: MediaFactory) -> Path:
    """Bytes with a video's name: accepted by the API, rejected by the worker in a moment."""
    return media_factory.garbage()


@pytest.fixture(scope="session")
def picture(media_factory: MediaFactory) -> Path:
    return media_factory.image(width=320, height=240, fmt="png")


# The files' bytes, read once here: async tests should not block the loop on file reads.
@pytest.fixture(scope="session")
def clip_bytes(clip: Path) -> bytes:
    return clip.read_bytes()


@pytest.fixture(scope="session")
def garbage_bytes(garbage: Path) -> bytes:
    return garbage.read_bytes()


@pytest.fixture(scope="session")
def picture_bytes(picture: Path) -> bytes:
    return picture.read_bytes()
