"""`load_rgb`: every image mode a user may hand us becomes 8-bit RGB; broken files are DlcErrors."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import warnings
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


def test_image_over_the_pixel_limit_loads_without_a_warning(tmp_path, monkeypatch):
    """Between PIL's limit and twice it, PIL warns; the warning would print beside our one-line
    messages, so the image loads silently (and shrinks, when asked to)."""
    Image.new("RGB", (64, 64)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)  # 4096 px: a warning, not an error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_rgb(tmp_path / "big.png").size == (64, 64)
        assert load_rgb(tmp_path / "big.png", min_side=16).size == (16, 16)


def test_min_side_shrinks_while_decoding(tmp_path):
    """The shorter side stays at least ``min_side``; JPEGs decode at 1/2, 1/4 or 1/8 scale."""
    Image.new("RGB", (600, 400), (10, 200, 30)).save(tmp_path / "wide.png")
    wide = load_rgb(tmp_path / "wide.png", min_side=100)
    assert wide.size == (150, 100) and wide.getpixel((5, 5)) == (10, 200, 30)
    assert load_rgb(tmp_path / "wide.png", min_side=300).size == (600, 400)  # factor 1
    Image.new("RGB", (800, 800), (200, 30, 30)).save(tmp_path / "photo.jpg")
    assert load_rgb(tmp_path / "photo.jpg", min_side=100).size == (100, 100)

    palette = Image.new("P", (40, 20))
    palette.putpalette([0, 0, 0, 200, 30, 40] + [0] * 762)
    palette.paste(1, (20, 0, 40, 20))
    palette.save(tmp_path / "p.png", transparency=0)  # left half transparent: white
    np.testing.assert_array_equal(
        pixels_of(load_rgb(tmp_path / "p.png", min_side=5))[0, [0, -1]],
        [[255, 255, 255], [200, 30, 40]],
    )
    sixteen = np.full((20, 40), 257 * 40, dtype=np.uint16)
    Image.fromarray(sixteen).save(tmp_path / "dark16.png")
    assert pixels_of(load_rgb(tmp_path / "dark16.png", min_side=5)).max() == 40

    image = Image.new("RGB", (40, 20), (0, 128, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image.save(tmp_path / "rotated.png", exif=exif)
    assert load_rgb(tmp_path / "rotated.png", min_side=5).size == (5, 10)


def pixels_of(image: Image.Image) -> np.ndarray:
    assert image.mode == "RGB"
    return np.asarray(image)


def test_a_huge_png_costs_one_decoded_copy(tmp_path):
    """A 6000 x 6000 PNG (144 MB decoded) loaded with ``min_side`` stays near one decoded
    copy; loading it whole used to peak at three (430 MB)."""
    png = tmp_path / "huge.png"
    make = "from PIL import Image; import sys; Image.new('RGB', (6000, 6000)).save(sys.argv[1])"
    subprocess.run([sys.executable, "-c", make, str(png)], check=True)
    # VmHWM: the peak resident memory of this process image (ru_maxrss would count the pages
    # the child shared with pytest before exec)
    measure = (
        "import re, sys; from dlclassics.data.images import load_rgb; "
        "print(load_rgb(sys.argv[1], min_side=1024).size, "
        "int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]) // 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", measure, str(png)], check=True, capture_output=True, text=True
    ).stdout.split()
    assert out[:2] == ["(1200,", "1200)"]
    assert int(out[2]) < 250  # MB: one decoded copy (144) plus the interpreter


def test_dash_reads_image_paths_from_standard_input(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    for name in ("a.png", "sub/b.jpg"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(
        sys, "stdin", io.StringIO(f"{tmp_path / 'a.png'}\n\n  {tmp_path / 'sub'}\n")
    )
    assert [p.name for p in expand_image_args(["-"])] == ["a.png", "b.jpg"]


def test_an_unreadable_subfolder_is_named_not_skipped(tmp_path, monkeypatch):
    locked = tmp_path / "photos" / "bees"
    locked.mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "photos" / "a.png")
    Image.new("RGB", (4, 4)).save(locked / "b.png")
    assert expand_image_args([tmp_path / "photos"]) == [tmp_path / "photos/a.png", locked / "b.png"]
    real_scandir = os.scandir
    real_listdir = os.listdir

    def refuse(path):  # what a folder without read permission does (as a user, not as root)
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))

    def scandir(path):
        refuse(path)
        return real_scandir(path)

    def listdir(path):
        refuse(path)
        return real_listdir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "listdir", listdir)
    message = f"{locked}: cannot read the folder (Permission denied)"
    with pytest.raises(DlcError, match=f"^{re.escape(message)}$"):
        expand_image_args([tmp_path / "photos"])
    with pytest.raises(DlcError, match=f"^{re.escape(message)}$"):
        list_images(locked)
