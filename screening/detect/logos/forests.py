"""FLANN forests of the logo index, kept on disk between processes.

Building the randomised kd-trees over the descriptors of 40 enrolled logo images takes ~0.23 s, paid
on the first photo every process screens (each ``screening check``); loading a saved forest takes
about half as long. A saved forest is named by the sha256 of the rows it indexes and of everything
else its build depends on (trees, seed, OpenCV version, machine), so it is never used for other
rows, and by the sha256 of its own bytes: FLANN trusts the file it reads (a damaged tree would crash
a search), so a file whose bytes do not match its name is ignored and the forest is built again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import sys
import threading
from pathlib import Path

import cv2
import numpy as np

_FLANN_KDTREE = 1
_HASH = 32  # hex digits of each sha256 kept in file names


def kd_forest(
    rows: np.ndarray, *, trees: int, seed: int, cache_dir: Path | None = None, name: str = "rows"
) -> cv2.flann.Index:
    """A FLANN kd-forest over ``rows`` (float32, C-contiguous; must outlive the forest): loaded from
    ``cache_dir`` when a forest of these rows was saved there, else built (and saved, when the folder
    is writable). ``name`` tells apart the forests that share a folder; a saved forest of the same
    name but other rows is replaced."""
    if cache_dir is None:
        return _build(rows, trees, seed)
    key = _key(rows, trees, seed)
    loaded = _load(cache_dir, name, key, rows)
    if loaded is not None:
        return loaded
    built = _build(rows, trees, seed)
    _save(cache_dir, name, key, built)
    return built


def _build(rows: np.ndarray, trees: int, seed: int) -> cv2.flann.Index:
    # The kd-trees are randomised from OpenCV's per-thread RNG: a fixed seed makes the forest the same
    # whichever thread builds it and in every process (batch workers): the same photo, the same verdict.
    cv2.setRNGSeed(seed)
    return cv2.flann.Index(rows, {"algorithm": _FLANN_KDTREE, "trees": trees})


def _key(rows: np.ndarray, trees: int, seed: int) -> str:
    # FLANN writes its nodes as raw memory: a forest is only for the build (and machine) that wrote it.
    build = f"kdtree:{trees}:{seed}:{cv2.__version__}:{platform.machine()}:{sys.byteorder}"
    h = hashlib.sha256(f"{build}:{rows.shape}:{rows.dtype}".encode())
    h.update(memoryview(np.ascontiguousarray(rows)).cast("B"))
    return h.hexdigest()[:_HASH]


def _load(cache_dir: Path, name: str, key: str, rows: np.ndarray) -> cv2.flann.Index | None:
    try:
        saved = sorted(cache_dir.glob(f"forest-{name}-{key}-*.flann"))
    except OSError:  # not a folder, not readable
        return None
    for path in saved:
        try:
            if hashlib.sha256(path.read_bytes()).hexdigest()[:_HASH] != path.stem.rsplit("-", 1)[-1]:
                continue  # damaged or half-copied: never handed to FLANN
            loaded = cv2.flann.Index()
            if loaded.load(rows, str(path)):
                return loaded
        except (OSError, cv2.error):
            continue
    return None


def _save(cache_dir: Path, name: str, key: str, built: cv2.flann.Index) -> None:
    """Write atomically (a reader never sees half a file); a read-only registry just builds each time."""
    tmp = cache_dir / f".forest-{name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        built.save(str(tmp))
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:_HASH]
        final = cache_dir / f"forest-{name}-{key}-{digest}.flann"
        tmp.replace(final)
        for stale in cache_dir.glob(f"forest-{name}-*.flann"):
            if stale != final:  # the forest of rows enrolled before: 10-20 MB each, never read again
                stale.unlink(missing_ok=True)
    except (OSError, cv2.error):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def discard_saved(cache_dir: Path) -> None:
    """Delete every forest saved in ``cache_dir`` (no logo is enrolled any more)."""
    with contextlib.suppress(OSError):
        for saved in cache_dir.glob("forest-*.flann"):
            saved.unlink(missing_ok=True)
