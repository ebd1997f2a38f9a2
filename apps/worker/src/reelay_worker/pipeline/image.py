"""Images: Pillow decodes under a pixel limit, applies EXIF orientation, writes a WebP set.

Pillow rather than pyvips: it ships as a self-contained wheel (pyvips needs libvips from the
OS, which `uv run reelay up` cannot assume), and for single still images its speed is enough.
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
MAX_PIXELS = 100_000_000  # decompression-bomb guard: ~10000 x 10000
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}
QUALITY = 82


def rendition_widths(source_width: int) -> list[int]:
    widths = [w for w in WIDTHS if w <= source_width]
    return widths or [source_width]


def render(source: Path, out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Decode and write the renditions; CPU-bound, run in a thread."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(source) as opened:
            if opened.format not in ALLOWED_FORMATS:
                raise MediaRejected("unsupported_format", f"{opened.format} images are not accepted.")
            fmt = opened.format
            opened.seek(0)  # the first frame of an animated GIF/WebP
            image = ImageOps.exif_transpose(opened)
            image.load()
    except Image.DecompressionBombError as exc:
        raise MediaRejected("resolution_too_large", f"The image has more than {MAX_PIXELS} pixels.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise MediaRejected("invalid_media", "The file is not a readable image.") from exc

    image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
    source_info = {"width": image.width, "height": image.height, "format": fmt.lower(),
                   "duration": None, "video_codec": None, "audio_codec": None}
    outputs = []
    for width in rendition_widths(image.width):
        height = max(1, round(image.height * width / image.width))
        resized = image if width == image.width else image.resize((width, height), Image.Resampling.LANCZOS)
        path = out / f"w{width}.webp"
        # No exif= / icc_profile= arguments: metadata (GPS, camera serials) is stripped.
        resized.save(path, "WEBP", quality=QUALITY, method=4)
        outputs.append({"name": f"w{width}", "kind": "webp", "width": width, "height": height,
                        "bitrate": None, "size": path.stat().st_size, "path": path})
    thumb = ImageOps.fit(image, THUMBNAIL_BOX, Image.Resampling.LANCZOS)
    path = out / "thumbnail.webp"
    thumb.save(path, "WEBP", quality=QUALITY, method=4)
    outputs.append({"name": "thumbnail", "kind": "thumbnail", "width": thumb.width, "height": thumb.height,
                    "bitrate": None, "size": path.stat().st_size, "path": path})
    return source_info, outputs


async def process_image(attempt: Attempt, media: m.Media, workdir: Path) -> list[dict[str, Any]]:
    res = attempt.res
    source = workdir / f"source{Path(media.source_key).suffix}"
    await res.storage.download_file(media.source_key, source)
    out = workdir / "out"
    out.mkdir()
    await attempt.report("transcode", 0.0)
    source_info, rendered = await asyncio.to_thread(render, source, out)
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
