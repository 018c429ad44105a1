"""Model manifest, verification and fetching (from an installed package: no network needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from screening.errors import ModelCorruptError, ModelMissingError
from screening.runtime.fetch import fetch, verify
from screening.runtime.manifest import default_model_dir, load_manifest
from screening.runtime.sessions import Runtime


def test_manifest_entries_are_complete() -> None:
    specs = load_manifest()
    assert {"face_detector", "face_embedder", "hand_detector", "hand_landmarks", "text_detector"} <= set(specs)
    for spec in specs.values():
        assert len(spec.sha256) == 64 and spec.size > 0 and spec.licence and "==" not in spec.version


def test_missing_model_says_how_to_fix(tmp_path: Path) -> None:
    spec = load_manifest()["text_direction"]
    with pytest.raises(ModelMissingError, match="screening models fetch"):
        verify(spec, tmp_path)
    with pytest.raises(ModelMissingError):
        Runtime(tmp_path).onnx("text_direction")


def test_fetch_from_installed_package_then_detect_corruption(tmp_path: Path) -> None:
    pytest.importorskip("rapidocr")  # the model ships inside it: copied, not downloaded
    lines: list[str] = []
    (path,) = fetch(tmp_path, names=["text_direction"], log=lines.append)
    spec = load_manifest()["text_direction"]
    assert verify(spec, tmp_path, force=True) == path
    assert any("fetched" in line for line in lines)
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF  # one flipped bit
    path.write_bytes(bytes(data))
    with pytest.raises(ModelCorruptError, match="sha256"):
        verify(spec, tmp_path)
    fetch(tmp_path, names=["text_direction"])  # repairs it
    assert verify(spec, tmp_path, force=True) == path


def test_model_dir_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SCREENING_MODELS", str(tmp_path))
    assert default_model_dir() == tmp_path
