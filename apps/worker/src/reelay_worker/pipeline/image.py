"""Images: Pillow decodes under a pixel limit, applies EXIF orientation, writes a WebP set.

Why Pillow and not FFmpeg or pyvips: FFmpeg ignores EXIF orientation on JPEG stills and has no
decompression-bomb limit of its own; pyvips is faster on huge images but needs libvips from the
OS, which `uv run reelay up` cannot assume. Pillow ships as a self-contained wheel (with libwebp),
refuses oversized images from the header before decoding, and for single stills its speed is
enough (a 12-megapixel photo to the whole set takes well under a second of CPU).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from reelay_core.db import models as m
from reelay_core.media import keys
from reelay_core.media.errors import MediaRejected
from reelay_core.media.ladder import (
    IMAGE_WIDTHS,
    THUMBNAIL_SIDE,
    image_widths,
    thumbnail_size,
)
from reelay_core.media.outputs import Rendition, RenditionKind

from reelay_worker.jobs.attempt import Attempt
from reelay_worker.pipeline.outputs import upload_tree
from reelay_worker.pipeline.source import download_source

# Pillow decodes PNG, WebP and GIF whole, at 4 bytes a pixel with a second copy while it is
# turned upright, so those are held to REELAY_MAX_IMAGE_PIXELS (24 MP: under 200 MB). A JPEG
# is decoded already scaled down to what the largest rendition needs (libjpeg's DCT scaling,
# `draft`), so it may have more: a 50-megapixel photo decodes to under 12 MP.
JPEG_MAX_PIXELS = 50_000_000
# The largest size any rendition is made at: a JPEG is never decoded much above it.
LARGEST_OUTPUT = max(IMAGE_WIDTHS)
# Only these decoders are tried: Pillow would otherwise also open EPS (through Ghostscript),
# PSD, TIFF and a dozen more formats we neither need nor want to expose. (JPEGs with a second
# picture, like phone depth maps, open as format "MPO" through the JPEG decoder; we use the first.)
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
JPEG_FORMATS = ("JPEG", "MPO")
QUALITY = 82


@dataclass(frozen=True)
class Picture:
    """One WebP that `render` wrote, before it has a storage key."""

    name: str
    kind: RenditionKind
    width: int
    height: int
    size: int
    path: Path

    def rendition(self, output_prefix: str, stem: str) -> Rendition:
        return Rendition(
            name=self.name,
            kind=self.kind,
            width=self.width,
            height=self.height,
            bitrate=None,
            size=self.size,
            key=keys.output_key(output_prefix, self.path.name),
            filename=f"{stem}-{self.name}.webp",
        )


def render(source: Path, out: Path, *, max_pixels: int) -> tuple[dict[str, Any], list[Picture]]:
    """Decode and write the renditions; CPU-bound, run in a thread."""
    image, fmt, (width, height) = decode(source, max_pixels=max_pixels)
    # The colour profile is kept (colours would shift without it); EXIF (GPS position,
    # camera serial numbers), XMP and comments are dropped: nothing of `info` is written
    # but the profile.
    icc_profile = image.info.get("icc_profile")
    image.info = {}
    mode = "RGBA" if image.has_transparency_data else "RGB"
    if image.mode != mode:  # convert always copies: a large image is held once, not twice
        image = image.convert(mode)
    save: dict[str, Any] = {"quality": QUALITY, "method": 4, "exif": b"", "xmp": b""}
    if icc_profile:
        save["icc_profile"] = icc_profile

    def write(picture: Image.Image, name: str, kind: RenditionKind) -> Picture:
        path = out / f"{name}.webp"
        picture.save(path, "WEBP", **save)
        return Picture(name, kind, picture.width, picture.height, path.stat().st_size, path)

    source_info = {
        "width": width, "height": height, "format": fmt.lower(),
        "duration": None, "video_codec": None, "audio_codec": None,
    }  # fmt: skip
    pictures = []
    for width in image_widths(image.width):
        height = max(1, round(image.height * width / image.width))
        resized = (
            image
            if width == image.width
            else image.resize((width, height), Image.Resampling.LANCZOS)
        )
        pictures.append(write(resized, f"w{width}", RenditionKind.WEBP))
    thumb = ImageOps.fit(image, thumbnail_size(image.width, image.height), Image.Resampling.LANCZOS)
    pictures.append(write(thumb, "thumbnail", RenditionKind.THUMBNAIL))
    return source_info, pictures


def decode(source: Path, *, max_pixels: int) -> tuple[Image.Image, str, tuple[int, int]]:
    """The first frame, turned upright, the format it was in and its full upright size (a JPEG's
    picture may be smaller: decoded scaled down); refuses what we do not take."""
    try:
        with Image.open(source, formats=FORMATS) as opened:
            fmt = opened.format or "unknown"
            width, height = opened.size
            # From the header, before any pixel is decoded. Pillow's own guard only warns
            # up to twice MAX_IMAGE_PIXELS, so check here.
            limit = JPEG_MAX_PIXELS if fmt in JPEG_FORMATS else max_pixels
            if width * height > limit:
                raise MediaRejected(
                    "resolution_too_large",
                    f"The image is {width}x{height}; the largest accepted "
                    f"{'JPEG ' if fmt in JPEG_FORMATS else ''}has {limit / 1_000_000:g} "
                    "megapixels.",
                )
            if fmt in JPEG_FORMATS:
                # Upright, at least LARGEST_OUTPUT wide and THUMBNAIL_SIDE high (or the source's
                # own): the renditions come out as from the full-size picture.
                turned = opened.getexif().get(ExifTags.Base.Orientation) in (5, 6, 7, 8)
                need = (LARGEST_OUTPUT, THUMBNAIL_SIDE)
                opened.draft("RGB", need[::-1] if turned else need)
            drafted = opened.size
            opened.seek(0)  # the first frame of an animated GIF/WebP
            image = ImageOps.exif_transpose(opened)  # turned upright; a copy, fully decoded
            image.load()
    except Image.DecompressionBombError as exc:
        raise MediaRejected("resolution_too_large", "The image is too large to process.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaRejected(
            "invalid_media", "The file is not a readable JPEG, PNG, WebP or GIF image."
        ) from exc
    if image.size != drafted:  # turned by 90 degrees
        width, height = height, width
    return image, fmt, (width, height)


async def process_image(attempt: Attempt, media: m.Media, workdir: Path) -> list[Rendition]:
    res = attempt.res
    source = workdir / f"source{Path(media.source_key).suffix}"
    await download_source(res.storage, media, source)
    out = workdir / "out"
    out.mkdir()
    await attempt.report("transcode", 0.0)
    # A thread cannot be cancelled: if the job is, wait for it so it does not write into the
    # temp dir while that is being removed.
    rendering = asyncio.ensure_future(
        asyncio.to_thread(render, source, out, max_pixels=res.settings.max_image_pixels)
    )
    try:
        source_info, pictures = await asyncio.shield(rendering)
    except asyncio.CancelledError:
        await asyncio.wait([rendering])
        raise
    await attempt.save_source(source_info)
    stem = Path(media.filename).stem or "image"
    renditions = [picture.rendition(media.output_prefix, stem) for picture in pictures]
    files = {picture.path: r.key for picture, r in zip(pictures, renditions, strict=True)}
    await res.storage.delete_prefix(media.output_prefix)
    await attempt.report("upload", 0.0)
    await upload_tree(res.storage, files, lambda fraction: attempt.report("upload", fraction))
    return renditions
