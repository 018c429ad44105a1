"""Decode a photo once, by content: orient it, normalise it to 8-bit BGR and keep a working copy no
larger than the detectors need, with the factor that maps its pixels back to the original."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import time
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from screening.errors import (
    CorruptImageError,
    EmptyInputError,
    ImageError,
    ImageTooLargeError,
    UnsupportedImageError,
)

try:  # HEIC/HEIF from phones; optional because not every platform has a wheel.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the platform
    HEIF_SUPPORTED = False

ImageSource = str | Path | bytes | bytearray | memoryview | Image.Image | np.ndarray

# Formats a photo can arrive in. Pillow opens many more (PSD, ICO, PCX...); refusing them keeps the
# attack surface to well-exercised decoders.
ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "DIB", "TIFF", "GIF", "HEIF", "AVIF"})

# File-name extension for each accepted format, for files the registry stores under content names.
EXTENSIONS = {
    "JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "DIB": ".bmp",
    "TIFF": ".tif", "GIF": ".gif", "HEIF": ".heic", "AVIF": ".avif",
}  # fmt: skip


def extension_for(data: bytes) -> str:
    """The extension matching what ``data`` is, read from its header alone (no pixels decoded)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return EXTENSIONS.get(img.format or "", ".img")
    except (OSError, ValueError, SyntaxError):
        return ".img"


DEFAULT_MAX_PIXELS = 100_000_000  # 100 MP: larger than any camera photo, smaller than a bomb
MB = 1024 * 1024  # as --max-mb counts them, so "--max-mb 200" reads back as "the limit is 200 MB"
DEFAULT_MAX_BYTES = 200 * MB
DEFAULT_WORK_SIDE = 1600
Transparency = Literal["white", "contrast"]


@dataclass(frozen=True)
class LoadOptions:
    """Limits for decoding. ``work_side`` is the long side of the copy detectors see."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES
    work_side: int = DEFAULT_WORK_SIDE
    # What transparent areas become: "white", as a browser or a chat app shows a photo, or "contrast":
    # black where the image's own outline is nearly white (a white logo on a transparent backdrop
    # keeps its shape; on white it would vanish), else white.
    transparent: Transparency = "white"


@dataclass(frozen=True)
class LoadedImage:
    """A decoded, upright photo.

    ``bgr`` is the working copy (uint8, HxWx3, BGR as OpenCV expects); ``scale`` multiplies working
    pixel coordinates into original ones. ``width``/``height`` are the original, upright size.
    """

    bgr: np.ndarray
    scale: float
    width: int
    height: int
    sha256: str | None
    path: str | None
    format: str | None
    decode_ms: float = 0.0  # time spent reading and decoding, reported in the verdict's timings

    @cached_property
    def rgb(self) -> np.ndarray:
        return np.ascontiguousarray(self.bgr[:, :, ::-1])

    @cached_property
    def gray(self) -> np.ndarray:
        import cv2

        return cv2.cvtColor(self.bgr, cv2.COLOR_BGR2GRAY)

    @property
    def work_size(self) -> tuple[int, int]:
        return int(self.bgr.shape[1]), int(self.bgr.shape[0])


def load_image(source: ImageSource, options: LoadOptions | None = None, *, path: str | None = None) -> LoadedImage:
    """Decode ``source`` (a path, encoded bytes, a PIL image or an RGB numpy array).

    Raises a subclass of :class:`~screening.errors.ImageError` with a clear message on anything that
    is not a readable photo within the limits.
    """
    opts = options or LoadOptions()
    t0 = time.perf_counter()
    if isinstance(source, np.ndarray):
        image = _from_array(source, opts, path)
    elif isinstance(source, Image.Image):
        image = _from_pil(source, opts, sha256=None, path=path, fmt=source.format)
    elif isinstance(source, (str, Path)):
        image = _decode(_read_file(Path(source), opts), opts, path or str(source))
    elif isinstance(source, (bytes, bytearray, memoryview)):
        image = _decode(bytes(source), opts, path)
    else:
        raise UnsupportedImageError(f"cannot screen an object of type {type(source).__name__}")
    return dataclasses.replace(image, decode_ms=(time.perf_counter() - t0) * 1000.0)


def decode_bytes(
    data: bytes, options: LoadOptions | None = None, *, path: str | None = None, sha256: str | None = None
) -> LoadedImage:
    """Decode encoded image bytes (what a file or an archive member holds).

    ``sha256`` is the bytes' digest when the caller already computed it (the batch does, to find
    duplicates); it is then not computed again.
    """
    t0 = time.perf_counter()
    image = _decode(data, options or LoadOptions(), path, sha256)
    return dataclasses.replace(image, decode_ms=(time.perf_counter() - t0) * 1000.0)


def _decode(data: bytes, opts: LoadOptions, path: str | None, sha256: str | None = None) -> LoadedImage:
    if not data:
        raise EmptyInputError("the file is empty (0 bytes)")
    if len(data) > opts.max_bytes:
        raise ImageTooLargeError(f"the file is {len(data) / MB:.0f} MB; the limit is {opts.max_bytes / MB:.0f} MB")
    digest = sha256 or hashlib.sha256(data).hexdigest()
    try:
        with warnings.catch_warnings():
            # Pillow warns (not raises) between 1x and 2x its own bomb limit; our limit decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise UnsupportedImageError(_unidentified_message(data)) from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"refused as a decompression bomb: {exc}") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise CorruptImageError(f"the image header is damaged: {exc}") from exc
    fmt = img.format
    if fmt not in ALLOWED_FORMATS:
        raise UnsupportedImageError(f"{fmt} images are not accepted; send JPEG, PNG, WebP, BMP, TIFF, GIF or HEIC")
    return _from_pil(img, opts, sha256=digest, path=path, fmt=fmt)


def _read_file(path: Path, opts: LoadOptions) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise ImageError(f"no such file: {path}") from exc
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror}") from exc
    if path.is_dir():
        raise ImageError(f"{path} is a folder; use 'screening batch' for folders")
    if size > opts.max_bytes:
        raise ImageTooLargeError(f"the file is {size / MB:.0f} MB; the limit is {opts.max_bytes / MB:.0f} MB")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror}") from exc


def _unidentified_message(data: bytes) -> str:
    head = data[:16]
    if head.startswith(b"%PDF"):
        return "this is a PDF, not a photo"
    if b"<svg" in data[:2048].lower():  # logos are often published as SVG
        return "this is an SVG drawing (vector graphics): export it as a PNG of 800 px or more and use that"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif") and not HEIF_SUPPORTED:
        return "HEIC/AVIF photos need the pillow-heif package (pip install pillow-heif)"
    return "not a recognised image format (the content is not JPEG, PNG, WebP, BMP, TIFF, GIF or HEIC)"


_TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}


def _from_pil(
    img: Image.Image, opts: LoadOptions, *, sha256: str | None, path: str | None, fmt: str | None
) -> LoadedImage:
    width, height = img.size
    if width <= 0 or height <= 0:
        raise CorruptImageError("the image has no pixels")
    if width * height > opts.max_pixels:
        raise ImageTooLargeError(
            f"{width}x{height} is {width * height / 1e6:.0f} megapixels; the limit is {opts.max_pixels / 1e6:.0f}"
        )
    try:
        orientation = int(img.getexif().get(0x0112, 1) or 1)
    except Exception:  # a broken EXIF block must not cost us the photo
        orientation = 1
    if orientation in _TRANSPOSED_ORIENTATIONS:
        width, height = height, width
    try:
        if img.format in ("JPEG", "MPO") and max(width, height) > opts.work_side:
            # JPEG draft decoding: the IDCT scales by 1/2, 1/4 or 1/8 for a fraction of the cost.
            target = _fit(img.size, opts.work_side)
            img.draft("RGB", target)
        img.load()
        if orientation != 1:
            img = ImageOps.exif_transpose(img)
        rgb = _to_rgb8(img, opts.transparent)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"refused as a decompression bomb: {exc}") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise CorruptImageError(f"the image data is damaged or truncated: {exc}") from exc
    except MemoryError as exc:
        raise ImageTooLargeError("not enough memory to decode this image") from exc
    return _finish(rgb, width, height, opts, sha256, path, fmt)


def _from_array(array: np.ndarray, opts: LoadOptions, path: str | None) -> LoadedImage:
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or array.shape[0] == 0 or array.shape[1] == 0:
        raise UnsupportedImageError(f"expected an HxW, HxWx3 or HxWx4 RGB array, got shape {array.shape}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    h, w = array.shape[:2]
    if w * h > opts.max_pixels:
        raise ImageTooLargeError(f"{w}x{h} is over the limit of {opts.max_pixels / 1e6:.0f} megapixels")
    if array.dtype != np.uint8:
        array = _to_uint8(array)
    if array.shape[2] == 4:
        array = _composite(array, opts.transparent)
    digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
    return _finish(np.ascontiguousarray(array), w, h, opts, digest, path, None)


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if np.issubdtype(array.dtype, np.floating):
        top = 1.0 if float(np.nanmax(array)) <= 1.0 else 255.0
        return np.clip(np.nan_to_num(array) * (255.0 / top), 0, 255).astype(np.uint8)
    if array.dtype == np.uint16:
        return (array >> 8).astype(np.uint8)
    return np.clip(array, 0, 255).astype(np.uint8)


def _composite(rgba: np.ndarray, transparent: Transparency) -> np.ndarray:
    """RGB with the transparent areas of ``rgba`` filled as :attr:`LoadOptions.transparent` says."""
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    backdrop = _contrasting_backdrop(rgba) if transparent == "contrast" else 255.0
    rgb = rgba[:, :, :3].astype(np.float32) * alpha + backdrop * (1.0 - alpha)
    return rgb.astype(np.uint8)


# Outline luma from which white does not set it off: within 40 levels, the difference logo enrolment
# takes for foreground. A grey outline (a chrome badge, ~190) keeps white: measured on the devset's
# transparent Lexus badge, black cost two of its wild photos and found one other.
_NEAR_WHITE = 215.0


def _contrasting_backdrop(rgba: np.ndarray) -> float:
    """Black where the opaque pixels along the edge of transparency are mostly nearly white, else white."""
    opaque = rgba[:, :, 3] >= 128
    inner = opaque.copy()  # opaque pixels whose four neighbours are opaque too
    inner[1:, :] &= opaque[:-1, :]
    inner[:-1, :] &= opaque[1:, :]
    inner[:, 1:] &= opaque[:, :-1]
    inner[:, :-1] &= opaque[:, 1:]
    edge = opaque & ~inner
    if not edge.any():
        return 255.0
    rgb = rgba[:, :, :3][edge].astype(np.float32)
    luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    return 0.0 if float(np.median(luma)) > _NEAR_WHITE else 255.0


def _to_rgb8(img: Image.Image, transparent: Transparency = "white") -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img)
        arr = (arr >> 8) if mode.startswith("I;16") else np.clip(arr, 0, 65535) >> 8
        arr = arr.astype(np.uint8)
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    if mode == "F":
        return _to_uint8(np.repeat(np.asarray(img)[:, :, None], 3, axis=2))
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        return _composite(np.asarray(img.convert("RGBA")), transparent)
    if mode != "RGB":
        img = img.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB
    return np.asarray(img)


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    w, h = size
    f = side / max(w, h)
    return max(1, round(w * f)), max(1, round(h * f))


def _finish(
    rgb: np.ndarray, width: int, height: int, opts: LoadOptions, sha256: str | None, path: str | None, fmt: str | None
) -> LoadedImage:
    import cv2

    h, w = rgb.shape[:2]
    if max(w, h) > opts.work_side:
        nw, nh = _fit((w, h), opts.work_side)
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    scale = width / bgr.shape[1]
    return LoadedImage(bgr=bgr, scale=scale, width=width, height=height, sha256=sha256, path=path, format=fmt)
