"""The image pipeline's pure part: which widths, and what Pillow is allowed to decode."""

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from reelay_core.media.errors import MediaRejected
from reelay_worker.pipeline.image import MAX_PIXELS, render, rendition_widths


@pytest.mark.parametrize(
    ("source_width", "expected"),
    [
        (4000, [320, 640, 1280, 2048]),
        (2048, [320, 640, 1280, 2048]),
        (1000, [320, 640, 1000]),  # capped, not dropped: the full size stands in for 1280
        (640, [320, 640]),
        (320, [320]),
        (200, [200]),  # smaller than every width: one rendition at its own size
        (1, [1]),
    ],
)
def test_rendition_widths_are_capped_at_the_source(source_width, expected):
    assert rendition_widths(source_width) == expected


def test_rendition_widths_need_a_width():
    with pytest.raises(ValueError):
        rendition_widths(0)


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A valid 1x1 PNG whose header then claims another size: a decompression bomb's shape."""
    Image.new("RGB", (1, 1)).save(path, "PNG")
    data = bytearray(path.read_bytes())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


def test_oversized_image_is_refused_from_its_header(tmp_path):
    # 60 megapixels: between Pillow's own warning and error thresholds, where it only warns.
    bomb = png_claiming(tmp_path / "bomb.png", 10_000, 6_000)
    assert MAX_PIXELS < 60_000_000 < 2 * Image.MAX_IMAGE_PIXELS
    (tmp_path / "out").mkdir()
    with pytest.raises(MediaRejected) as refused:
        render(bomb, tmp_path / "out")
    assert refused.value.code == "resolution_too_large"
    assert "10000x6000" in refused.value.message
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("fmt", ["TIFF", "BMP", "PPM"])
def test_formats_outside_the_list_are_not_decoded(tmp_path, fmt):
    path = tmp_path / "picture.png"  # the name does not matter, the content does
    Image.new("RGB", (40, 30), "green").save(path, fmt)
    (tmp_path / "out").mkdir()
    with pytest.raises(MediaRejected) as refused:
        render(path, tmp_path / "out")
    assert refused.value.code == "invalid_media"
    assert "JPEG, PNG, WebP or GIF" in refused.value.message


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("just text")
    (tmp_path / "out").mkdir()
    with pytest.raises(MediaRejected) as refused:
        render(path, tmp_path / "out")
    assert refused.value.code == "invalid_media"


def test_transparency_is_kept(tmp_path):
    path = tmp_path / "logo.png"
    image = Image.new("RGBA", (400, 100), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 200, 100))
    image.save(path)
    out = tmp_path / "out"
    out.mkdir()
    source, outputs = render(path, out)
    assert source["format"] == "png" and (source["width"], source["height"]) == (400, 100)
    assert [o["name"] for o in outputs] == ["w320", "w400", "thumbnail"]
    with Image.open(outputs[0]["path"]) as webp:
        assert webp.mode == "RGBA"
        assert webp.getpixel((300, 50))[3] == 0 and webp.getpixel((10, 50))[3] == 255


def test_animated_gif_gives_its_first_frame(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue", "green")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = tmp_path / "out"
    out.mkdir()
    source, outputs = render(path, out)
    assert source["format"] == "gif"
    with Image.open(outputs[0]["path"]) as webp:
        assert getattr(webp, "n_frames", 1) == 1
        red, green, blue = webp.convert("RGB").getpixel((32, 32))
        assert red > 200 and green < 60 and blue < 60
