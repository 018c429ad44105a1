"""Campaign text: PP-OCR reading (ocr), the election lexicon (lexicon) and tolerant matching (match)."""

from screening.detect.text.detector import TextConfig, TextDetector

__all__ = ["TextConfig", "TextDetector"]
