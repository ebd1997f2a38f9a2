"""Images through the real worker: upright, stripped of metadata, a WebP set and a thumbnail."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from PIL import Image
from reelay_core.media.keys import output_key, output_prefix
from reelay_core.storage import Storage

from tests.integration.worker.conftest import output_keys
from tests.support.client import register
from tests.support.factories import upload_and_complete
from tests.support.media import MediaFactory
from tests.support.waits import wait_terminal

ORIENTATION, MAKE, GPS_IFD = 0x0112, 0x010F, 0x8825
RED, BLUE = (255, 0, 0), (0, 0, 255)


def phone_photo(path: Path) -> Path:
    """1600x700 pixels stored sideways: EXIF orientation 6 says "turn 90 degrees clockwise to
    show it", so it is a 700x1600 portrait, red on top. It also carries a camera make and GPS."""
    stored = Image.new("RGB", (1600, 700), BLUE)
    stored.paste(RED, (0, 0, 800, 700))  # the left half of the stored pixels: the top once turned
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[MAKE] = "ReelayCam"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 31.0, 12.0)})
    stored.save(path, "JPEG", quality=90, exif=exif)
    return path


def colour_at(image: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    pixel = image.convert("RGB").getpixel((int(x * (image.width - 1)), int(y * (image.height - 1))))
    assert isinstance(pixel, tuple)  # an RGB image's pixels are (r, g, b)
    red, green, blue = pixel
    return round(red / 64) * 64, round(green / 64) * 64, round(blue / 64) * 64


def near(colour: tuple[int, int, int], target: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 64 for a, b in zip(colour, target, strict=True))


async def test_photo_becomes_upright_webp_set_without_metadata(
    api: httpx.AsyncClient, default_workers, storage: Storage, tmp_path: Path
) -> None:
    photo = phone_photo(tmp_path / "photo.jpg")
    with Image.open(photo) as check:  # the source really carries what we strip
        assert check.getexif()[ORIENTATION] == 6 and check.getexif()[MAKE] == "ReelayCam"
    account = await register(api)
    media_id = (
        await upload_and_complete(api, account, photo, kind="images", content_type="image/jpeg")
    )["id"]

    media = await wait_terminal(api, account, media_id)

    assert media["status"] == "completed", media["error"]
    assert (media["source"]["width"], media["source"]["height"]) == (700, 1600)
    outputs = {o["name"]: o for o in media["outputs"]}
    # 320 and 640, then the source's own 700 stands in for 1280 and 2048: never upscaled.
    assert {name: (o["width"], o["height"]) for name, o in outputs.items()} == {
        "w320": (320, 731), "w640": (640, 1463), "w700": (700, 1600), "thumbnail": (256, 256),
    }  # fmt: skip
    keys = sorted(await output_keys(storage, media_id))
    assert keys == sorted(output_key(output_prefix(media_id), f"{name}.webp") for name in outputs)

    for name, output in outputs.items():
        data = await storage.get_bytes(output_key(output_prefix(media_id), f"{name}.webp"))
        assert len(data) == output["size"]
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "WEBP"
            assert image.size == (output["width"], output["height"])
            assert "exif" not in image.info and "xmp" not in image.info
            assert not image.getexif(), f"{name} kept EXIF"
            assert b"ReelayCam" not in data
            if name != "thumbnail":  # the thumbnail is a centre crop: both colours meet there
                assert near(colour_at(image, 0.5, 0.1), RED), f"{name} is not upright"
                assert near(colour_at(image, 0.5, 0.9), BLUE), f"{name} is not upright"


async def test_small_image_is_never_enlarged(
    api: httpx.AsyncClient, default_workers, storage: Storage, media_factory: MediaFactory
) -> None:
    small = media_factory.image(width=200, height=150)
    account = await register(api)
    media_id = (
        await upload_and_complete(api, account, small, kind="images", content_type="image/png")
    )["id"]

    media = await wait_terminal(api, account, media_id)

    assert media["status"] == "completed", media["error"]
    sizes = {o["name"]: (o["width"], o["height"]) for o in media["outputs"]}
    # One WebP at its own size, and a thumbnail cropped to its short side, not 256x256.
    assert sizes == {"w200": (200, 150), "thumbnail": (150, 150)}
    for name, (width, height) in sizes.items():
        data = await storage.get_bytes(output_key(output_prefix(media_id), f"{name}.webp"))
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (width, height)
