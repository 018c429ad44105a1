"""The logo index's FLANN forests kept on disk: reused only for the same rows, never when damaged."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from screening.detect.logos import forests
from screening.detect.logos.forests import kd_forest

SEED = 20240214


def _rows(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((3000, 128), dtype=np.float32)


def _answers(forest: cv2.flann.Index, queries: np.ndarray) -> np.ndarray:
    return forest.knnSearch(queries, 4, params={"checks": 16})[0]


@pytest.fixture
def queries() -> np.ndarray:
    return np.random.default_rng(99).random((400, 128), dtype=np.float32)


def _no_build(*_: object) -> None:
    raise AssertionError("built, not loaded")


def test_saved_forest_is_loaded_and_answers_as_a_build(
    tmp_path: Path, queries: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(1)
    built = kd_forest(rows, trees=4, seed=SEED, cache_dir=tmp_path, name="enrolled")
    assert len(list(tmp_path.glob("forest-enrolled-*.flann"))) == 1
    monkeypatch.setattr(forests, "_build", _no_build)
    loaded = kd_forest(rows, trees=4, seed=SEED, cache_dir=tmp_path, name="enrolled")
    assert np.array_equal(_answers(loaded, queries), _answers(built, queries))


def test_forest_of_other_rows_or_settings_is_not_reused(tmp_path: Path, queries: np.ndarray) -> None:
    kd_forest(_rows(1), trees=4, seed=SEED, cache_dir=tmp_path, name="enrolled")
    first = set(tmp_path.glob("forest-enrolled-*.flann"))
    other = _rows(2)
    got = kd_forest(other, trees=4, seed=SEED, cache_dir=tmp_path, name="enrolled")
    assert np.array_equal(_answers(got, queries), _answers(kd_forest(other, trees=4, seed=SEED), queries))
    now = set(tmp_path.glob("forest-enrolled-*.flann"))
    assert len(now) == 1 and now != first  # the stale forest is replaced, not kept beside
    kd_forest(other, trees=2, seed=SEED, cache_dir=tmp_path, name="enrolled")
    assert set(tmp_path.glob("forest-enrolled-*.flann")) != now  # trees are part of the key


def test_damaged_forest_file_is_never_loaded(
    tmp_path: Path, queries: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(3)
    expected = _answers(kd_forest(rows, trees=4, seed=SEED), queries)
    kd_forest(rows, trees=4, seed=SEED, cache_dir=tmp_path, name="prints")
    (saved,) = tmp_path.glob("forest-prints-*.flann")
    good = saved.read_bytes()
    # A flipped byte that FLANN itself reads without complaint (most flips in a tree's split values):
    # only the file's own digest can tell.
    for pos in range(len(good) // 3, len(good), 997):
        damaged = bytearray(good)
        damaged[pos] ^= 0xFF
        saved.write_bytes(bytes(damaged))
        try:
            if cv2.flann.Index().load(rows, str(saved)):
                break
        except cv2.error:
            continue
    else:
        pytest.fail("no silent damage found to test with")
    built = []
    real_build = forests._build
    monkeypatch.setattr(forests, "_build", lambda *a: built.append(1) or real_build(*a))
    got = kd_forest(rows, trees=4, seed=SEED, cache_dir=tmp_path, name="prints")
    assert built == [1] and np.array_equal(_answers(got, queries), expected)
    assert len(list(tmp_path.glob("forest-prints-*.flann"))) == 1
    monkeypatch.setattr(forests, "_build", _no_build)  # the rewritten file is sound and used again
    assert np.array_equal(
        _answers(kd_forest(rows, trees=4, seed=SEED, cache_dir=tmp_path, name="prints"), queries), expected
    )


def test_unwritable_cache_still_gives_a_forest(tmp_path: Path, queries: np.ndarray) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    rows = _rows(4)
    got = kd_forest(rows, trees=4, seed=SEED, cache_dir=blocker / "cache", name="enrolled")
    assert np.array_equal(_answers(got, queries), _answers(kd_forest(rows, trees=4, seed=SEED), queries))
    assert not (blocker / "cache").exists()
