"""Video: download, probe, one FFmpeg run for the whole ladder, master playlist, upload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reelay_core.db import models as m
from reelay_core.media.command import (
    build_master_playlist,
    build_transcode_args,
    output_layout,
    poster_size,
    poster_time,
)
from reelay_core.media.ladder import choose_ladder
from reelay_core.media.probe import parse_probe
from reelay_core.media.progress import ProgressSample, eta_seconds, percent

from reelay_worker.media.attempt import Attempt
from reelay_worker.pipeline.ffmpeg_runner import check_outputs, run_ffmpeg, run_ffprobe
from reelay_worker.pipeline.outputs import upload_tree


async def process_video(attempt: Attempt, media: m.Media, workdir: Path) -> list[dict[str, Any]]:
    res, settings = attempt.res, attempt.res.settings
    source = workdir / f"source{Path(media.source_key).suffix}"
    await res.storage.download_file(media.source_key, source)

    info = parse_probe(
        await run_ffprobe(res.ffprobe, str(source)), max_duration=settings.max_duration_seconds
    )
    await attempt.save_source(info.as_dict())
    ladder = choose_ladder(info.width, info.height, tuple(settings.ladder_heights))
    layout = output_layout(ladder)
    out = workdir / "out"
    for directory in layout.directories:
        (out / directory).mkdir(parents=True, exist_ok=True)

    await attempt.report("transcode", 0.0)

    async def on_progress(sample: ProgressSample) -> None:
        done = percent(sample.out_time_s, info.duration)
        await attempt.report(
            "transcode", done / 100, eta=eta_seconds(sample.out_time_s, info.duration, sample.speed)
        )

    args = build_transcode_args(
        res.ffmpeg,
        str(source),
        str(out),
        ladder,
        has_audio=info.has_audio,
        frame_rate=info.frame_rate,
        poster_at=poster_time(info.duration),
        preset=settings.ffmpeg_preset,
        segment_seconds=settings.hls_segment_seconds,
        limit_seconds=info.duration + 1,
    )
    await run_ffmpeg(args, on_progress=on_progress, stall_timeout=settings.stall_timeout)

    await attempt.report("package", 0.0)
    check_outputs(out, layout)
    (out / layout.master).write_text(
        build_master_playlist(ladder, info.has_audio, frame_rate=info.frame_rate)
    )
    prefix = media.output_prefix
    keys = {
        path: f"{prefix}hls/{path.relative_to(out)}"
        for d in layout.directories
        for path in (out / d).iterdir()
    }
    keys[out / layout.master] = f"{prefix}hls/{layout.master}"
    keys[out / layout.mp4] = f"{prefix}{layout.mp4}"
    keys[out / layout.poster] = f"{prefix}{layout.poster}"

    outputs: list[dict[str, Any]] = []
    for rung in ladder:
        size = sum(p.stat().st_size for p in (out / rung.name).iterdir())
        outputs.append(
            {
                "name": rung.name,
                "kind": "hls_variant",
                "width": rung.width,
                "height": rung.height,
                "bitrate": rung.video_bitrate + (rung.audio_bitrate if info.has_audio else 0),
                "size": size,
                "key": f"{prefix}hls/{layout.playlists[rung.name]}",
            }
        )
    top = ladder[0]
    stem = Path(media.filename).stem or "video"
    outputs.append(
        {
            "name": "mp4",
            "kind": "mp4",
            "width": top.width,
            "height": top.height,
            "bitrate": top.video_bitrate + (top.audio_bitrate if info.has_audio else 0),
            "size": (out / layout.mp4).stat().st_size,
            "key": keys[out / layout.mp4],
            "filename": f"{stem}.mp4",
        }
    )
    poster_width, poster_height = poster_size(top)
    outputs.append(
        {
            "name": "poster",
            "kind": "poster",
            "width": poster_width,
            "height": poster_height,
            "bitrate": None,
            "size": (out / layout.poster).stat().st_size,
            "key": keys[out / layout.poster],
            "filename": f"{stem}.jpg",
        }
    )

    # A crashed earlier attempt may have uploaded part of a set: start from an empty prefix.
    await res.storage.delete_prefix(prefix)
    await attempt.report("upload", 0.0)
    await upload_tree(res.storage, keys, lambda fraction: attempt.report("upload", fraction))
    return outputs
