"""The OCR pipeline on banners rendered in code (needs the PP-OCR model files)."""

from __future__ import annotations

import glob
import time

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from screening.detect.text.detector import TextConfig, TextDetector
from screening.detect.text.ocr import OcrConfig, OcrPipeline
from screening.errors import ModelMissingError
from screening.image import load_image
from screening.registry import load_registry
from screening.runtime.sessions import Runtime

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    rt = Runtime()
    for name in ("text_detector", "text_recognizer", "text_direction"):
        try:
            rt.path(name)
        except ModelMissingError:
            pytest.skip(f"model {name} not fetched (screening models fetch)")
    return rt


@pytest.fixture(scope="module")
def detector(runtime) -> TextDetector:
    det = TextDetector(runtime, load_registry(None))
    det.warmup()
    return det


def _font(size: int):
    # DejaVu from Debian's fonts-dejavu-core when present, else Pillow's scalable built-in font.
    paths = sorted(glob.glob("/usr/share/fonts/**/DejaVuSans-Bold.ttf", recursive=True))
    return ImageFont.truetype(paths[0], size) if paths else ImageFont.load_default(size)


def banner(lines: list[str], size: int = 64, fg=(255, 255, 255), bg=(200, 20, 30)) -> np.ndarray:
    """An RGB banner with centred lines of bold text."""
    font = _font(size)
    boxes = [font.getbbox(t) for t in lines]
    w = max(b[2] - b[0] for b in boxes) + 2 * size
    h = sum(b[3] - b[1] for b in boxes) + size * (len(lines) + 1)
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    y = size // 2
    for text, b in zip(lines, boxes, strict=True):
        draw.text(((w - (b[2] - b[0])) // 2 - b[0], y - b[1]), text, font=font, fill=fg)
        y += b[3] - b[1] + size
    return np.asarray(img)


def scene(panel: np.ndarray, angle: float = 0.0, size=(1600, 1200)) -> np.ndarray:
    """``panel`` rotated by ``angle`` degrees on a plain backdrop (RGB)."""
    w, h = size
    out = np.full((h, w, 3), (90, 120, 80), np.uint8)
    ph, pw = panel.shape[:2]
    m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, 1.0)
    m[:, 2] += (w / 2 - pw / 2, h / 2 - ph / 2)
    warped = cv2.warpAffine(panel, m, (w, h), borderValue=(0, 0, 0))
    mask = cv2.warpAffine(np.full(panel.shape[:2], 255, np.uint8), m, (w, h))
    out[mask > 0] = warped[mask > 0]
    return out


def test_banner_is_read_and_matched(detector):
    img = load_image(scene(banner(["PRABOWO - GIBRAN", "COBLOS NO. 2"])))
    found = detector.detect(img)
    assert any(f.label == "Prabowo Gibran" and f.number == 2 for f in found), [f.to_dict() for f in found]
    for f in found:
        assert f.detail["text"]
        assert 300 < f.box.x + f.box.w / 2 < 1300 and 300 < f.box.y + f.box.h / 2 < 900


def test_tilted_and_upside_down_banners(detector):
    panel = banner(["PARTAI GOLKAR"], fg=(20, 20, 20), bg=(250, 220, 0))
    for angle in (25.0, 180.0):
        found = detector.detect(load_image(scene(panel, angle)))
        assert any(f.party == "golkar" for f in found), (angle, [f.to_dict() for f in found])


def test_vertical_banner(detector):
    panel = np.ascontiguousarray(np.rot90(banner(["PARTAI NASDEM"], bg=(0, 40, 120))))  # reads bottom to top
    found = detector.detect(load_image(scene(panel)))
    assert any(f.party == "nasdem" for f in found), [f.to_dict() for f in found]


def strip(text: str, size: int = 56, pitch: float = 1.25, fg=(20, 20, 20), bg=(250, 220, 0)) -> np.ndarray:
    """An umbul-umbul: ``text`` in upright letters one under another (``pitch`` letter heights apart),
    a blank letter between words."""
    font = _font(size)
    step = int(size * pitch)
    w, h = 2 * size, step * len(text) + size
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    for k, ch in enumerate(text):
        if ch.strip():
            b = font.getbbox(ch)
            draw.text(((w - (b[2] - b[0])) // 2 - b[0], size // 2 + k * step - b[1]), ch, font=font, fill=fg)
    return np.asarray(img)


def test_stacked_letters_are_read_as_words(runtime, detector):
    # The text detector cuts these columns into letters and pairs; read box by box (the stacked
    # reading off) they match nothing.
    plain = TextDetector(runtime, load_registry(None), TextConfig(ocr=OcrConfig(stacked=False)))
    for text, pitch, want in (("PERINDO", 1.25, "Perindo"), ("COBLOS NO 2", 2.0, "COBLOS NO 2")):
        img = load_image(scene(strip(text, size=56 if pitch < 2 else 48, pitch=pitch), size=(1200, 1600)))
        found = [f for f in detector.detect(img) if f.label == want]
        assert found, (text, [f.to_dict() for f in detector.detect(img)])
        assert found[0].detail["text"] == text  # word gaps kept, the letter spacing not taken for spaces
        assert found[0].box.h > 4 * found[0].box.w  # the column, not one letter of it
        assert not plain.detect(img), text
    assert found[0].number == 2


def test_neutral_sign_gives_no_finding(detector):
    img = load_image(scene(banner(["TOKO BANGUNAN", "MAJU JAYA"], bg=(30, 90, 30))))
    lines = detector.read(img)
    assert any("BANGUNAN" in ln.text for ln in lines)  # it was read...
    assert detector.detect(img) == []  # ...and is not campaign text


def test_blank_and_texture_images_skip_recognition(runtime, detector, monkeypatch):
    calls: list[int] = []
    original = OcrPipeline._read_crops

    def counting(self, crops):
        calls.append(len(crops))
        return original(self, crops)

    monkeypatch.setattr(OcrPipeline, "_read_crops", counting)
    rng = np.random.default_rng(0)
    blank = np.full((1200, 1600, 3), 128, np.uint8)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (1200, 1600, 3), dtype=np.uint8), (0, 0), 3)
    for arr in (blank, texture):
        img = load_image(arr)
        t = time.perf_counter()
        assert detector.detect(img) == []
        assert time.perf_counter() - t < 2.0  # generous: a shared CI machine; the real budget is in scripts/
    assert calls == []  # the gate found nothing, so nothing was recognised


def test_threads_share_one_detector(detector):
    from concurrent.futures import ThreadPoolExecutor

    images = [
        load_image(scene(banner(["PARTAI GERINDRA"]))),
        load_image(scene(banner(["COBLOS NO. 3", "GANJAR - MAHFUD"], bg=(0, 0, 0)))),
    ] * 2
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(detector.detect, images))
    assert results[0] == results[2] and results[1] == results[3]
    assert any(f.party == "gerindra" for f in results[0])
    assert any(f.number == 3 for f in results[1])


def test_screener_warns_on_campaign_text(runtime):
    import datetime as dt

    from screening.screener import Screener

    screener = Screener(runtime=runtime, detectors=["text"])
    photo = scene(banner(["PARTAI GOLKAR", "COBLOS NO. 4"], fg=(20, 20, 20), bg=(250, 220, 0)))
    verdict = screener.screen(photo, posting_date=dt.date(2024, 1, 15))
    assert verdict.verdict == "warn"
    assert "campaign_text" in {v.rule for v in verdict.violations}
    neutral = screener.screen(scene(banner(["APOTEK SEHAT", "Buka 24 Jam"])), posting_date=dt.date(2024, 1, 15))
    assert neutral.verdict == "allow", [f.to_dict() for f in neutral.findings]
