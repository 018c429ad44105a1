"""Campaign text: PP-OCR reading (ocr), the election lexicon (lexicon) and tolerant matching (match)."""

from typing import TYPE_CHECKING

from screening.detect.base import lazy_exports

if TYPE_CHECKING:
    from screening.detect.text.detector import TextConfig, TextDetector

__all__ = ["TextConfig", "TextDetector"]
__getattr__ = lazy_exports(__name__, __all__)
