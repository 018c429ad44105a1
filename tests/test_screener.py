"""The library surface: sources, error modes, detector selection, every detector under threads."""

from __future__ import annotations

import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import screening
from screening import ImageError, Screener, ScreeningError


def scene() -> np.ndarray:
    """A plain outdoor-like scene with shapes and no people, logos or words."""
    rng = np.random.default_rng(7)
    img = Image.fromarray((rng.normal(120, 25, (600, 900, 3))).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    draw.rectangle((50, 300, 400, 580), fill=(110, 90, 70))
    draw.ellipse((600, 60, 760, 220), fill=(240, 220, 120))
    return np.asarray(img)


def campaign_banner() -> np.ndarray:
    """The scene with a red campaign banner reading PARTAI GERINDRA across it."""
    img = Image.fromarray(scene())
    draw = ImageDraw.Draw(img)
    draw.rectangle((60, 40, 840, 170), fill=(200, 20, 30))
    draw.text((90, 70), "PARTAI GERINDRA", fill=(255, 255, 255), font=ImageFont.load_default(72))
    return np.asarray(img)


def test_public_api_is_exported() -> None:
    for name in ("Screener", "Verdict", "Finding", "Violation", "Box", "Severity", "load_image", "ScreeningError"):
        assert hasattr(screening, name)


def test_every_source_kind_gives_the_same_verdict() -> None:
    screener = Screener(detectors=[])
    arr = scene()
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    a = screener.screen(arr)
    b = screener.screen(Image.fromarray(arr))
    c = screener.screen(buf.getvalue())
    assert a.verdict == b.verdict == c.verdict == "allow"
    assert (a.width, a.height) == (b.width, b.height) == (c.width, c.height) == (900, 600)


def test_bad_input_raises_or_returns_an_error_verdict() -> None:
    screener = Screener(detectors=[])
    with pytest.raises(ImageError):
        screener.screen(b"not an image")
    verdict = screener.screen(b"not an image", raise_errors=False, posting_date=dt.date(2024, 1, 1))
    assert verdict.verdict == "error" and verdict.exit_code == 2 and verdict.error is not None
    assert verdict.to_dict()["error"]["code"] == "unsupported_format"


def test_unknown_detector_is_refused() -> None:
    with pytest.raises(ScreeningError, match="unknown detector"):
        Screener(detectors=["faces", "x-ray"])


@pytest.mark.models
def test_all_detectors_from_several_threads_agree(face_models: screening.Runtime) -> None:
    screener = Screener(runtime=face_models)
    assert {d.name for d in screener.detectors} >= {"faces"}
    photos = [scene(), campaign_banner(), np.ascontiguousarray(scene()[:, ::-1])] * 2
    serial = [screener.screen(p, posting_date=dt.date(2024, 1, 10)) for p in photos]
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = list(pool.map(lambda p: screener.screen(p, posting_date=dt.date(2024, 1, 10)), photos))
    assert [v.to_dict()["findings"] for v in serial] == [v.to_dict()["findings"] for v in threaded]
    assert [v.verdict for v in serial[:3]] == ["allow", "warn", "allow"]  # only the banner is partisan
    assert any(f.party == "gerindra" for f in serial[1].findings)
