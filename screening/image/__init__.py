"""Image loading: decode once, orient, normalise, keep a scaled working copy."""

from screening.image.load import (
    ALLOWED_FORMATS,
    HEIF_SUPPORTED,
    ImageSource,
    LoadedImage,
    LoadOptions,
    decode_bytes,
    load_image,
)

__all__ = [
    "ALLOWED_FORMATS",
    "HEIF_SUPPORTED",
    "ImageSource",
    "LoadOptions",
    "LoadedImage",
    "decode_bytes",
    "load_image",
]
