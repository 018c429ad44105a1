"""Campaign text: PP-OCR reading (ocr), the election lexicon (lexicon) and tolerant matching (match)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from screening.detect.text.detector import TextConfig, TextDetector

__all__ = ["TextConfig", "TextDetector"]


def __getattr__(name: str) -> Any:
    # Lazy, so that the registry can import this package's stages (which it shares with enrollment)
    # without importing the detector, which itself reads the registry: no import cycle.
    if name in __all__:
        from screening.detect.text import detector

        return getattr(detector, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
