"""`load_rgb`: every image mode a user may hand us becomes 8-bit RGB; broken files are DlcErrors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlclassics.data.images import expand_image_args, list_images, load_rgb
from dlclassics.errors import DlcError


def pixels(path: Path) -> np.ndarray:
    image = load_rgb(path)
    assert image.mode == "RGB"
    return np.asarray(image)


def test_grayscale_png(tmp_path):
    Image.fromarray(np.array([[0, 100], [200, 255]], dtype=np.uint8)).save(tmp_path / "g.png")
    out = pixels(tmp_path / "g.png")
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[..., 0], [[0, 100], [200, 255]])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_16_bit_png_maps_full_scale_to_8_bits(tmp_path):
    # a dark 16-bit image must stay dark: 16-bit v maps to round(v / 257), not to v / max * 255
    values = np.array([[0, 257 * 10], [257 * 20, 257 * 40]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "dark16.png")
    assert Image.open(tmp_path / "dark16.png").mode == "I;16"
    np.testing.assert_array_equal(pixels(tmp_path / "dark16.png")[..., 1], [[0, 10], [20, 40]])

    Image.fromarray(np.array([[65535, 32896]], dtype=np.uint16)).save(tmp_path / "full16.png")
    np.testing.assert_array_equal(pixels(tmp_path / "full16.png")[0, :, 0], [255, 128])


def test_palette_with_transparency_is_composited_on_white(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 200, 30, 40] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    image.save(tmp_path / "p.png", transparency=0)
    np.testing.assert_array_equal(pixels(tmp_path / "p.png")[0], [[255, 255, 255], [200, 30, 40]])


def test_rgba_and_la_are_composited_on_white(tmp_path):
    rgba = Image.new("RGBA", (3, 1))
    rgba.putdata([(255, 0, 0, 255), (255, 0, 0, 0), (0, 0, 255, 128)])
    rgba.save(tmp_path / "rgba.png")
    out = pixels(tmp_path / "rgba.png")[0].astype(int)
    np.testing.assert_array_equal(out[:2], [[255, 0, 0], [255, 255, 255]])
    np.testing.assert_allclose(out[2], [127, 127, 255], atol=1)

    Image.new("LA", (1, 1), (0, 0)).save(tmp_path / "la.png")
    np.testing.assert_array_equal(pixels(tmp_path / "la.png")[0, 0], [255, 255, 255])


def test_grayscale_and_rgb_with_a_transparent_colour_key(tmp_path):
    Image.new("L", (1, 1), 10).save(tmp_path / "lkey.png", transparency=10)
    np.testing.assert_array_equal(pixels(tmp_path / "lkey.png")[0, 0], [255, 255, 255])
    Image.new("RGB", (1, 1), (1, 2, 3)).save(tmp_path / "rgbkey.png", transparency=(1, 2, 3))
    np.testing.assert_array_equal(pixels(tmp_path / "rgbkey.png")[0, 0], [255, 255, 255])


def test_cmyk_jpeg(tmp_path):
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # no cyan, full magenta and yellow: red
    cmyk.save(tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    np.testing.assert_allclose(pixels(tmp_path / "cmyk.jpg")[8, 8], [255, 0, 0], atol=8)


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (4, 2), (0, 128, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image.save(tmp_path / "rotated.jpg", exif=exif)
    assert load_rgb(tmp_path / "rotated.jpg").size == (2, 4)


def test_animated_gif_from_the_data_set(hymenoptera_root):
    image = load_rgb(hymenoptera_root / "train" / "ants" / "imageNotFound.gif")
    assert image.mode == "RGB" and image.size == (300, 300)


def test_truncated_jpeg_names_the_file(tmp_path, styles_root):
    data = (styles_root / "tubingen.jpg").read_bytes()
    broken = tmp_path / "truncated.jpg"
    broken.write_bytes(data[: len(data) // 3])
    with pytest.raises(DlcError, match=re.escape(f"{broken}: corrupt or truncated image (")):
        load_rgb(broken)


def test_text_file_named_jpg(tmp_path):
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is not a picture\n")
    with pytest.raises(DlcError, match=re.escape(f"{fake}: not a readable image file")):
        load_rgb(fake)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(DlcError, match=r"empty\.png: not a readable image file"):
        load_rgb(tmp_path / "empty.png")


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(DlcError, match=re.escape(f"{tmp_path / 'nope.jpg'}: no such file")):
        load_rgb(tmp_path / "nope.jpg")
    with pytest.raises(DlcError, match=re.escape(f"{tmp_path}: not a file")):
        load_rgb(tmp_path)


def test_huge_image_is_a_clear_error_not_a_traceback(tmp_path, monkeypatch):
    Image.new("RGB", (64, 64)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 4096 px > 2 x limit: a "bomb"
    with pytest.raises(DlcError, match=re.escape(f"{tmp_path / 'big.png'}: image too large")):
        load_rgb(tmp_path / "big.png")


def test_unreadable_file_is_reported_as_such(tmp_path, monkeypatch):
    Image.new("RGB", (2, 2)).save(tmp_path / "locked.png")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "locked.png"))

    monkeypatch.setattr(Image, "open", refuse)
    with pytest.raises(DlcError, match=re.escape(f"{tmp_path / 'locked.png'}: cannot read")):
        load_rgb(tmp_path / "locked.png")


def test_listing_and_expanding_image_arguments(tmp_path, styles_root):
    (tmp_path / "sub").mkdir()
    for name in ("b.png", "a.JPG", ".hidden.png", "notes.txt", "sub/c.jpeg"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png"]
    expanded = expand_image_args([tmp_path, styles_root / "tubingen.jpg"])
    assert [p.name for p in expanded] == ["a.JPG", "b.png", "c.jpeg", "tubingen.jpg"]
    with pytest.raises(DlcError, match="nope: no such file or folder"):
        expand_image_args([tmp_path / "nope"])
    with pytest.raises(DlcError, match="not a folder"):
        list_images(tmp_path / "b.png")
