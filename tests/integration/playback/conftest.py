"""Playback while processing: the API served in the test's loop (FFmpeg plays from it as an HLS
client over real HTTP) and the job in an in-process burst worker that a checkpoint can hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from reelay_core.settings import Settings
from reelay_worker.resources import WorkerResources

from tests.support.api_server import serve_app
from tests.support.burst import private_queue_resources
from tests.support.media import MediaFactory

FPS = 10
SECONDS = 14


@pytest.fixture(scope="module")
def clip(media_factory: MediaFactory) -> Path:
    """Two rungs (480p, 360p), a short first segment and several of the configured length."""
    return media_factory.video(width=854, height=480, seconds=SECONDS, fps=FPS)


@pytest.fixture
async def res(stack_settings: Settings, clean_state: None) -> AsyncIterator[WorkerResources]:
    async with private_queue_resources(stack_settings, "playback") as opened:
        yield opened


@pytest.fixture
async def api(stack_settings: Settings, clean_state: None) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_app(stack_settings) as client:
        yield client
