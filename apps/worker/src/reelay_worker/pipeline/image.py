"""Images: Pillow decodes under a pixel limit, applies EXIF orientation, writes a WebP set.

Why Pillow and not FFmpeg or pyvips: FFmpeg ignores EXIF orientation on JPEG stills and has no
decompression-bomb limit of its own; pyvips is faster on huge images but needs libvips from the
OS, which `uv run reelay up` cannot assume. Pillow ships as a self-contained wheel (with libwebp),
refuses oversized images from the header before decoding, and for single stills its speed is
enough (a 12-megapixel photo to the whole set takes well under a second of CPU).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from reelay_core.db import models as m
from reelay_core.media.errors import MediaRejected

from reelay_worker.media.attempt import Attempt
from reelay_worker.pipeline.outputs import upload_tree

WIDTHS = (320, 640, 1280, 2048)
THUMBNAIL_BOX = (256, 256)
MAX_PIXELS = 50_000_000  # decompression-bomb guard: a 50-megapixel photo decodes to ~150 MB
# Only these decoders are tried: Pillow would otherwise also open EPS (through Ghostscript),
# PSD, TIFF and a dozen more formats we neither need nor want to expose. (JPEGs with a second
# picture, like phone depth maps, open as format "MPO" through the JPEG decoder; we use the first.)
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
QUALITY = 82


def rendition_widths(source_width: int) -> list[int]:
    """WIDTHS, each capped at the source width: never upscaled, no duplicates.

    A 1000-px image gets 320, 640 and 1000 (its full size stands in for the larger ones).
    """
    if source_width <= 0:
        raise ValueError("source width must be positive")
    return sorted({min(width, source_width) for width in WIDTHS})


def render(source: Path, out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Decode and write the renditions; CPU-bound, run in a thread."""
    try:
        with Image.open(source, formats=FORMATS) as opened:
            # From the header, before any pixel is decoded. Pillow's own guard only warns
            # up to twice MAX_IMAGE_PIXELS, so check here.
            if opened.width * opened.height > MAX_PIXELS:
                raise MediaRejected(
                    "resolution_too_large",
                    f"The image is {opened.width}x{opened.height}; the largest accepted has "
                    f"{MAX_PIXELS // 1_000_000} megapixels.",
                )
            fmt = opened.format or "unknown"
            opened.seek(0)  # the first frame of an animated GIF/WebP
            image = ImageOps.exif_transpose(opened)  # turned upright; a copy, fully decoded
            image.load()
    except Image.DecompressionBombError as exc:
        raise MediaRejected("resolution_too_large", "The image is too large to process.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaRejected(
            "invalid_media", "The file is not a readable JPEG, PNG, WebP or GIF image."
        ) from exc

    # The colour profile is kept (colours would shift without it); EXIF (GPS position,
    # camera serial numbers), XMP and comments are dropped: nothing of `info` is written
    # but the profile.
    icc_profile = image.info.get("icc_profile")
    image.info = {}
    image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    save = {"quality": QUALITY, "method": 4, "exif": b"", "xmp": b""}
    if icc_profile:
        save["icc_profile"] = icc_profile

    source_info = {
        "width": image.width, "height": image.height, "format": fmt.lower(),
        "duration": None, "video_codec": None, "audio_codec": None,
    }  # fmt: skip
    outputs = []
    for width in rendition_widths(image.width):
        height = max(1, round(image.height * width / image.width))
        resized = (
            image
            if width == image.width
            else image.resize((width, height), Image.Resampling.LANCZOS)
        )
        path = out / f"w{width}.webp"
        resized.save(path, "WEBP", **save)
        outputs.append(
            {"name": f"w{width}", "kind": "webp", "width": width, "height": height,
             "bitrate": None, "size": path.stat().st_size, "path": path}
        )  # fmt: skip
    thumb = ImageOps.fit(image, THUMBNAIL_BOX, Image.Resampling.LANCZOS)
    path = out / "thumbnail.webp"
    thumb.save(path, "WEBP", **save)
    outputs.append(
        {"name": "thumbnail", "kind": "thumbnail", "width": thumb.width, "height": thumb.height,
         "bitrate": None, "size": path.stat().st_size, "path": path}
    )  # fmt: skip
    return source_info, outputs


async def process_image(attempt: Attempt, media: m.Media, workdir: Path) -> list[dict[str, Any]]:
    res = attempt.res
    source = workdir / f"source{Path(media.source_key).suffix}"
    await res.storage.download_file(media.source_key, source)
    out = workdir / "out"
    out.mkdir()
    await attempt.report("transcode", 0.0)
    # A thread cannot be cancelled: if the job is, wait for it so it does not write into the
    # temp dir while that is being removed.
    rendering = asyncio.ensure_future(asyncio.to_thread(render, source, out))
    try:
        source_info, rendered = await asyncio.shield(rendering)
    except asyncio.CancelledError:
        await asyncio.wait([rendering])
        raise
    await attempt.save_source(source_info)
    stem = Path(media.filename).stem or "image"
    files: dict[Path, str] = {}
    outputs = []
    for output in rendered:
        path = output.pop("path")
        output["key"] = files[path] = f"{media.output_prefix}{path.name}"
        output["filename"] = f"{stem}-{output['name']}.webp"
        outputs.append(output)
    await res.storage.delete_prefix(media.output_prefix)
    await attempt.report("upload", 0.0)
    await upload_tree(res.storage, files, lambda fraction: attempt.report("upload", fraction))
    return outputs
