"""Video: probe, one FFmpeg run for the whole ladder, published while it runs; both read the
upload from storage through the source relay as they go."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from reelay_core.db import models as m
from reelay_core.media import keys
from reelay_core.media.command import (
    OutputLayout,
    build_master_playlist,
    build_transcode_args,
    output_layout,
    poster_size,
    poster_time,
)
from reelay_core.media.errors import MediaRejected
from reelay_core.media.ladder import Rung, choose_ladder
from reelay_core.media.outputs import Rendition, RenditionKind
from reelay_core.media.probe import SourceInfo, parse_probe
from reelay_core.media.progress import ProgressSample, eta_seconds, percent
from reelay_core.settings import Settings

from reelay_worker.jobs.attempt import Attempt
from reelay_worker.pipeline.errors import FFmpegOutOfMemory
from reelay_worker.pipeline.ffmpeg_runner import check_outputs, run_ffmpeg, run_ffprobe
from reelay_worker.pipeline.outputs import discard
from reelay_worker.pipeline.publisher import Publisher
from reelay_worker.pipeline.source_relay import SourceRelay


async def process_video(attempt: Attempt, media: m.Media, workdir: Path) -> list[Rendition]:
    storage = attempt.res.storage
    async with SourceRelay(storage, media.source_key, media.source_etag) as relay:
        # Each `reading` raises what storage answered, if a read failed, over what ffprobe or
        # FFmpeg made of it: right after the probe, before anything is built on its answer.
        with relay.reading():
            info = await probe(attempt, relay)
        await attempt.save_source(info.as_dict())
        ladder = choose_ladder(info.width, info.height, tuple(attempt.res.settings.ladder_heights))
        layout = output_layout(ladder)
        out = workdir / "out"
        for directory in layout.directories:
            (out / directory).mkdir(parents=True, exist_ok=True)
        # Earlier attempts' outputs: nothing serves them (a new attempt is not playable until
        # it is), and an attempt that died left them behind.
        await storage.delete_prefix(media.output_prefix)
        prefix = keys.attempt_prefix(media.output_prefix, attempt.number)
        publisher = Publisher(
            storage,
            out,
            layout,
            prefix,
            segment_seconds=attempt.res.settings.hls_segment_seconds,
            on_playable=attempt.mark_playable,
        )
        try:
            await publisher.publish_master(
                build_master_playlist(ladder, info.has_audio, frame_rate=info.frame_rate)
            )
            with relay.reading():
                await transcode(attempt, relay, out, ladder, info, publisher)
            await attempt.report("package", 0.0)
            check_outputs(out, layout)
            await attempt.report("upload", 0.0)
            await publisher.finish(lambda fraction: attempt.report("upload", fraction))
        except BaseException:
            await discard(storage, prefix)
            raise
    stem = Path(media.filename).stem or "video"
    return video_renditions(ladder, info, out, layout, prefix, stem, publisher.rung_size)


async def probe(attempt: Attempt, relay: SourceRelay) -> SourceInfo:
    res, settings = attempt.res, attempt.res.settings
    return parse_probe(
        await run_ffprobe(
            res.ffprobe,
            relay.url,
            memory_limit=memory_limit(settings),
            env=relay.env(),
            head=lambda: relay.head,
        ),
        max_duration=settings.max_duration_seconds,
        max_pixels=settings.max_video_pixels,
        max_side=settings.max_video_side,
    )


async def transcode(
    attempt: Attempt,
    relay: SourceRelay,
    out: Path,
    ladder: list[Rung],
    info: SourceInfo,
    publisher: Publisher,
) -> None:
    """The one FFmpeg run, reporting its progress as the transcode stage, its segments
    published as they come."""
    res, settings = attempt.res, attempt.res.settings
    await attempt.report("transcode", 0.0)

    async def on_progress(sample: ProgressSample) -> None:
        done = percent(sample.out_time_s, info.duration)
        await attempt.report(
            "transcode", done / 100, eta=eta_seconds(sample.out_time_s, info.duration, sample.speed)
        )

    args = build_transcode_args(
        res.ffmpeg,
        relay.url,
        str(out),
        ladder,
        has_audio=info.has_audio,
        frame_rate=info.frame_rate,
        poster_at=poster_time(info.duration),
        preset=settings.ffmpeg_preset,
        segment_seconds=settings.hls_segment_seconds,
        init_seconds=settings.hls_first_segment_seconds,
        limit_seconds=info.duration + 1,
    )
    budget = time_budget(info.duration, settings)
    # A file can be made so that each second costs minutes (tiny 8K P-frames): past its budget
    # the run is stopped for good, as another attempt would take as long.
    deadline = asyncio.timeout(budget)
    try:
        async with deadline:
            await beside(
                run_ffmpeg(
                    args,
                    on_progress=on_progress,
                    stall_timeout=settings.stall_timeout,
                    memory_limit=memory_limit(settings),
                    env=relay.env(),
                ),
                publisher,
            )
    except FFmpegOutOfMemory:
        raise MediaRejected(
            "too_much_memory",
            f"Converting this video needs more than the {settings.ffmpeg_memory_mb} MiB of "
            "memory a job may use.",
        ) from None
    except TimeoutError:
        if not deadline.expired():
            raise
        raise MediaRejected(
            "processing_timeout",
            f"Converting this video took longer than its budget of {budget:.0f} s "
            f"({settings.processing_seconds_per_second:g} s per second of video); "
            "it is probably encoded in an unusually costly way.",
        ) from None


async def beside(ffmpeg: Coroutine[Any, Any, None], publisher: Publisher) -> None:
    """Run FFmpeg with the publisher following it in a task of its own, so uploads never hold
    up the reading of FFmpeg's progress. The first failure of either stops both, and is
    raised as itself (callers tell a Fenced, a storage error and FFmpeg's errors apart)."""
    try:
        async with asyncio.TaskGroup() as group:
            follower = group.create_task(publisher.follow())
            await ffmpeg
            follower.cancel()
    except BaseExceptionGroup as failed:
        first: BaseException = failed
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


def time_budget(duration: float, settings: Settings) -> float:
    """Seconds one transcode may take: proportional to the video's length, with a floor."""
    return max(settings.processing_min_seconds, settings.processing_seconds_per_second * duration)


def memory_limit(settings: Settings) -> int | None:
    return settings.ffmpeg_memory_mb * 1024 * 1024 if settings.ffmpeg_memory_mb > 0 else None


def video_renditions(
    ladder: list[Rung],
    info: SourceInfo,
    out: Path,
    layout: OutputLayout,
    output_prefix: str,
    stem: str,
    rung_size: Callable[[str], int],
) -> list[Rendition]:
    """One HLS variant per rung (`rung_size`: its stored bytes), then the MP4 and the poster."""

    def bitrate(rung: Rung) -> int:
        return rung.video_bitrate + (rung.audio_bitrate if info.has_audio else 0)

    renditions = [
        Rendition(
            name=rung.name,
            kind=RenditionKind.HLS_VARIANT,
            width=rung.width,
            height=rung.height,
            bitrate=bitrate(rung),
            size=rung_size(rung.name),
            key=keys.hls_key(output_prefix, layout.playlists[rung.name]),
        )
        for rung in ladder
    ]
    top = ladder[0]
    poster_width, poster_height = poster_size(top)
    return [
        *renditions,
        Rendition(
            name="mp4",
            kind=RenditionKind.MP4,
            width=top.width,
            height=top.height,
            bitrate=bitrate(top),
            size=(out / layout.mp4).stat().st_size,
            key=keys.output_key(output_prefix, layout.mp4),
            filename=f"{stem}.mp4",
        ),
        Rendition(
            name="poster",
            kind=RenditionKind.POSTER,
            width=poster_width,
            height=poster_height,
            bitrate=None,
            size=(out / layout.poster).stat().st_size,
            key=keys.output_key(output_prefix, layout.poster),
            filename=f"{stem}.jpg",
        ),
    ]
