"""The image pipeline's Pillow part: what it may decode, and what it writes."""

import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from reelay_core.media.errors import MediaRejected
from reelay_worker.pipeline.image import JPEG_MAX_PIXELS, decode, render

MAX_PIXELS = 24_000_000  # REELAY_MAX_IMAGE_PIXELS by default


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
    assert JPEG_MAX_PIXELS < 60_000_000 < 2 * Image.MAX_IMAGE_PIXELS
    (tmp_path / "out").mkdir()
    with pytest.raises(MediaRejected) as refused:
        render(bomb, tmp_path / "out", max_pixels=MAX_PIXELS)
    assert refused.value.code == "resolution_too_large"
    assert "10000x6000" in refused.value.message
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("fmt", ["TIFF", "BMP", "PPM"])
def test_formats_outside_the_list_are_not_decoded(tmp_path, fmt):
    path = tmp_path / "picture.png"  # the name does not matter, the content does
    Image.new("RGB", (40, 30), "green").save(path, fmt)
    (tmp_path / "out").mkdir()
    with pytest.raises(MediaRejected) as refused:
        render(path, tmp_path / "out", max_pixels=MAX_PIXELS)
    assert refused.value.code == "invalid_media"
    assert "JPEG, PNG, WebP or GIF" in refused.value.message


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("just text")
    (tmp_path / "out").mkdir()
    with pytest.raises(MediaRejected) as refused:
        render(path, tmp_path / "out", max_pixels=MAX_PIXELS)
    assert refused.value.code == "invalid_media"


def test_transparency_is_kept(tmp_path):
    path = tmp_path / "logo.png"
    image = Image.new("RGBA", (400, 100), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 200, 100))
    image.save(path)
    out = tmp_path / "out"
    out.mkdir()
    source, outputs = render(path, out, max_pixels=MAX_PIXELS)
    assert source["format"] == "png" and (source["width"], source["height"]) == (400, 100)
    assert [o.name for o in outputs] == ["w320", "w400", "thumbnail"]
    with Image.open(outputs[0].path) as webp:
        assert webp.mode == "RGBA"
        assert webp.getpixel((300, 50))[3] == 0 and webp.getpixel((10, 50))[3] == 255


def test_animated_gif_gives_its_first_frame(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue", "green")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = tmp_path / "out"
    out.mkdir()
    source, outputs = render(path, out, max_pixels=MAX_PIXELS)
    assert source["format"] == "gif"
    with Image.open(outputs[0].path) as webp:
        assert getattr(webp, "n_frames", 1) == 1
        red, green, blue = webp.convert("RGB").getpixel((32, 32))
        assert red > 200 and green < 60 and blue < 60


def test_a_small_image_is_never_enlarged(tmp_path):
    path = tmp_path / "small.png"
    Image.new("RGB", (200, 150), "green").save(path)
    out = tmp_path / "out"
    out.mkdir()
    _, outputs = render(path, out, max_pixels=MAX_PIXELS)
    sizes = {o.name: (o.width, o.height) for o in outputs}
    assert sizes == {"w200": (200, 150), "thumbnail": (150, 150)}
    for output in outputs:
        with Image.open(output.path) as webp:
            assert webp.size == (output.width, output.height)
            assert output.size == output.path.stat().st_size


def test_a_whole_decoded_format_has_the_lower_limit(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (300, 200), "green").save(path)
    (tmp_path / "out").mkdir()
    with pytest.raises(MediaRejected) as refused:
        render(path, tmp_path / "out", max_pixels=50_000)
    assert refused.value.code == "resolution_too_large"
    assert "300x200" in refused.value.message


def test_a_jpeg_is_decoded_scaled_down_but_reported_at_its_size(tmp_path):
    # Above the limit of whole-decoded formats: a JPEG is decoded at a fraction of its size.
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (4400, 3000), "green").save(path, "JPEG")
    out = tmp_path / "out"
    out.mkdir()
    image, _, size = decode(path, max_pixels=1_000_000)
    assert size == (4400, 3000) and image.size == (2200, 1500)
    source, outputs = render(path, out, max_pixels=1_000_000)
    assert (source["width"], source["height"]) == (4400, 3000)
    sizes = {o.name: (o.width, o.height) for o in outputs}
    assert sizes["w2048"] == (2048, 1396)


def test_a_turned_jpeg_is_decoded_wide_enough_once_upright(tmp_path):
    path = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored landscape, shown turned 90 degrees clockwise
    Image.new("RGB", (8400, 4400), "green").save(path, "JPEG", exif=exif)
    image, _, size = decode(path, max_pixels=1_000_000)
    assert size == (4400, 8400)
    assert image.size == (2200, 4200)  # a quarter would be 1100 wide: less than 2048
