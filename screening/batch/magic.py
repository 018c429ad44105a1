"""Decide what a file is from its first bytes, never from its name (names are attacker-controlled and
exports from phones and cameras get extensions wrong)."""

from __future__ import annotations

from enum import StrEnum

# Enough bytes for every signature below (tar's "ustar" sits at offset 257).
SNIFF_BYTES = 512

_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis")


class Kind(StrEnum):
    IMAGE = "image"
    ZIP = "zip"
    TAR = "tar"  # plain tar, or possibly a compressed one (gzip/bzip2/xz: decided by opening it)
    OTHER = "other"


def sniff(head: bytes) -> Kind:
    """Classify a file from its first :data:`SNIFF_BYTES` bytes."""
    if is_image(head):
        return Kind.IMAGE
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return Kind.ZIP
    if is_plain_tar(head) or head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00":
        return Kind.TAR
    return Kind.OTHER


def is_plain_tar(head: bytes) -> bool:
    """An uncompressed tar (its headers can be read without decompressing anything)."""
    return head[257:262] == b"ustar"


def is_image(head: bytes) -> bool:
    """True for the signatures of the formats the loader accepts (JPEG, PNG, GIF, BMP, TIFF, WebP, HEIF/AVIF)."""
    if head[:3] == b"\xff\xd8\xff":
        return True
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return True
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return True
    if head[:2] == b"BM" and len(head) >= 14:
        return True
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS
