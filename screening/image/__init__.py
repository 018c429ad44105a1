"""Image loading: decode once, orient, normalise, keep a scaled working copy."""

from screening.image.load import (
    ALLOWED_FORMATS,
    EXTENSIONS,
    HEIF_SUPPORTED,
    ImageSource,
    LoadedImage,
    LoadOptions,
    decode_bytes,
    extension_for,
    load_image,
)

__all__ = [
    "ALLOWED_FORMATS",
    "EXTENSIONS",
    "HEIF_SUPPORTED",
    "ImageSource",
    "LoadOptions",
    "LoadedImage",
    "decode_bytes",
    "extension_for",
    "load_image",
]
