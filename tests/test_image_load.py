"""Decoding by content, orientation, pixel formats, limits and every kind of bad input."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from screening.errors import CorruptImageError, EmptyInputError, ImageError, ImageTooLargeError, UnsupportedImageError
from screening.image import HEIF_SUPPORTED, LoadOptions, decode_bytes, load_image


def _gradient(w: int = 64, h: int = 48) -> np.ndarray:
    """RGB image whose red grows left to right and green top to bottom: orientation is visible."""
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None].repeat(w, 1)
    return np.stack([x, y, np.full_like(x, 40)], axis=2).astype(np.uint8)


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"])
def test_decodes_each_format_by_content_not_extension(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "photo.jpg"  # the extension lies for every format but JPEG
    path.write_bytes(_encode(Image.fromarray(_gradient()), fmt))
    img = load_image(path)
    assert img.format == fmt
    assert (img.width, img.height) == (64, 48)
    assert img.bgr.shape == (48, 64, 3) and img.bgr.dtype == np.uint8
    # Red rises to the right in RGB; BGR puts it last.
    assert int(img.bgr[24, 60, 2]) > int(img.bgr[24, 3, 2]) + 100


def test_exif_orientation_is_applied() -> None:
    rgb = _gradient(80, 40)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewers rotate 90 degrees clockwise
    data = _encode(Image.fromarray(rgb), "JPEG", exif=exif, quality=95)
    img = decode_bytes(data)
    assert (img.width, img.height) == (40, 80)
    # After a clockwise turn, the stored top row (green=0) is on the right.
    assert int(img.bgr[40, 2, 1]) > int(img.bgr[40, 37, 1]) + 100


def test_grayscale_cmyk_16bit_palette_alpha() -> None:
    gray = decode_bytes(_encode(Image.fromarray(_gradient()[:, :, 0]), "PNG"))
    assert gray.bgr.shape == (48, 64, 3) and np.array_equal(gray.bgr[:, :, 0], gray.bgr[:, :, 2])

    cmyk = decode_bytes(_encode(Image.fromarray(_gradient()).convert("CMYK"), "JPEG"))
    assert cmyk.bgr.shape == (48, 64, 3)

    sixteen = (np.linspace(0, 65535, 64 * 48).reshape(48, 64)).astype(np.uint16)
    im16 = decode_bytes(_encode(Image.fromarray(sixteen), "PNG"))
    assert im16.bgr.dtype == np.uint8 and im16.bgr.max() >= 250 and im16.bgr.min() <= 5

    palette = Image.fromarray(_gradient()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    assert decode_bytes(_encode(palette, "GIF")).bgr.shape == (48, 64, 3)

    rgba = np.zeros((10, 10, 4), np.uint8)  # fully transparent black -> white, as a viewer shows it
    assert decode_bytes(_encode(Image.fromarray(rgba), "PNG")).bgr.min() == 255


def test_transparency_on_a_contrasting_backdrop() -> None:
    """Photos show transparency as white; a logo asks for the backdrop its outline stands out from."""
    white_disc = np.zeros((40, 40, 4), np.uint8)
    white_disc[10:30, 10:30] = (255, 255, 255, 255)
    dark_ring = white_disc.copy()
    dark_ring[10:30, 10:30, :3] = 20  # a dark outline ...
    dark_ring[13:27, 13:27, :3] = 255  # ... around a white inside
    chrome = white_disc.copy()
    chrome[10:30, 10:30, :3] = 190  # grey stands out from white well enough: white is kept
    contrast = LoadOptions(transparent="contrast")
    for rgba, backdrop in ((white_disc, 0), (dark_ring, 255), (chrome, 255)):
        png = _encode(Image.fromarray(rgba), "PNG")
        assert decode_bytes(png).bgr[0, 0].tolist() == [255, 255, 255]  # the default, as a viewer shows it
        assert decode_bytes(png, contrast).bgr[0, 0].tolist() == [backdrop] * 3
        assert load_image(rgba, contrast).bgr[0, 0].tolist() == [backdrop] * 3  # arrays alike
        assert decode_bytes(png, contrast).bgr[20, 20].tolist() == rgba[20, 20, :3].tolist()  # the logo is kept


def test_large_jpeg_is_draft_decoded_and_scale_maps_back() -> None:
    big = Image.fromarray(_gradient(4000, 3000))
    img = decode_bytes(_encode(big, "JPEG", quality=80), LoadOptions(work_side=1600))
    assert (img.width, img.height) == (4000, 3000)
    assert max(img.bgr.shape[:2]) == 1600
    assert img.scale == pytest.approx(2.5)


def test_arrays_and_pil_images_are_accepted() -> None:
    arr = _gradient()
    img = load_image(arr)
    assert np.array_equal(img.bgr[:, :, ::-1], arr)
    assert load_image(Image.fromarray(arr)).width == 64
    assert load_image(arr.astype(np.float32) / 255.0).bgr.max() >= 250
    with pytest.raises(UnsupportedImageError):
        load_image(np.zeros((3, 3, 7), np.uint8))


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # A PNG header claiming 30000x30000 pixels with almost no data behind it.
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    )
    with pytest.raises(ImageTooLargeError, match=r"megapixels|bomb"):
        decode_bytes(png, LoadOptions(max_pixels=50_000_000))


def test_pixel_limit_is_configurable() -> None:
    data = _encode(Image.fromarray(_gradient(200, 100)), "PNG")
    with pytest.raises(ImageTooLargeError):
        decode_bytes(data, LoadOptions(max_pixels=10_000))


def test_truncated_jpeg_is_a_corrupt_image_error() -> None:
    data = _encode(Image.fromarray(_gradient(400, 300)), "JPEG")
    with pytest.raises(CorruptImageError):
        decode_bytes(data[: len(data) // 3])


@pytest.mark.parametrize(
    ("data", "error", "text"),
    [
        (b"", EmptyInputError, "empty"),
        (b"hello, this is not a photo", UnsupportedImageError, "not a recognised image"),
        (b"%PDF-1.4 fake", UnsupportedImageError, "PDF"),
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>',
            UnsupportedImageError,
            "SVG drawing .* export it as a PNG",
        ),
    ],
)
def test_bad_bytes_give_typed_errors(data: bytes, error: type[ImageError], text: str) -> None:
    with pytest.raises(error, match=text):
        decode_bytes(data)


def test_refused_formats_and_paths(tmp_path: Path) -> None:
    ico = _encode(Image.fromarray(_gradient(32, 32)), "ICO")
    with pytest.raises(UnsupportedImageError, match="ICO"):
        decode_bytes(ico)
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)
    with pytest.raises(ImageTooLargeError):
        (tmp_path / "x.jpg").write_bytes(b"\xff" * 2048)
        load_image(tmp_path / "x.jpg", LoadOptions(max_bytes=1024))


def test_sha256_is_of_the_file_bytes() -> None:
    import hashlib

    data = _encode(Image.fromarray(_gradient()), "PNG")
    assert decode_bytes(data).sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.skipif(not HEIF_SUPPORTED, reason="pillow-heif not installed")
def test_heic_is_decoded() -> None:
    data = _encode(Image.fromarray(_gradient()), "HEIF", quality=90)
    img = decode_bytes(data)
    assert img.format == "HEIF" and (img.width, img.height) == (64, 48)
