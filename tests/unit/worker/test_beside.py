"""FFmpeg and the publisher run side by side: the first failure of either stops the other and
is raised as itself (the job tells a storage error, a fenced attempt and FFmpeg's errors apart)."""

from __future__ import annotations

import asyncio

import pytest
from reelay_core.storage import StorageError
from reelay_worker.jobs.attempt import Fenced
from reelay_worker.pipeline.errors import FFmpegFailed
from reelay_worker.pipeline.video import beside


class Follower:
    def __init__(self, fails: BaseException | None = None) -> None:
        self.fails = fails
        self.stopped = asyncio.Event()

    async def follow(self) -> None:
        try:
            await asyncio.sleep(0)
            if self.fails is not None:
                raise self.fails
            await asyncio.Event().wait()
        finally:
            self.stopped.set()


async def ffmpeg(done: asyncio.Event, *, fails: BaseException | None = None) -> None:
    try:
        await asyncio.sleep(0.01)
        if fails is not None:
            raise fails
    finally:
        done.set()


async def hanging_ffmpeg(stopped: asyncio.Event) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        stopped.set()


async def test_the_publisher_stops_when_ffmpeg_is_done() -> None:
    follower, done = Follower(), asyncio.Event()
    await beside(ffmpeg(done), follower)
    assert done.is_set() and follower.stopped.is_set()


@pytest.mark.parametrize("error", [StorageError("503"), Fenced()])
@pytest.mark.parametrize("grouped", [False, True])  # the uploads of one pass run in a TaskGroup
async def test_a_failed_upload_stops_ffmpeg_and_is_raised_as_itself(
    error: Exception, grouped: bool
) -> None:
    fails = ExceptionGroup("uploads", [error]) if grouped else error
    follower, stopped = Follower(fails=fails), asyncio.Event()
    with pytest.raises(type(error)) as raised:
        await beside(hanging_ffmpeg(stopped), follower)
    assert raised.value is error and stopped.is_set()


async def test_a_failed_ffmpeg_stops_the_publisher_and_is_raised_as_itself() -> None:
    follower, done = Follower(), asyncio.Event()
    error = FFmpegFailed(1, ["boom"])
    with pytest.raises(FFmpegFailed) as raised:
        await beside(ffmpeg(done, fails=error), follower)
    assert raised.value is error and follower.stopped.is_set()
