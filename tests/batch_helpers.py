"""Helpers shared by the batch tests: photos made in code, and a store reader that ignores times."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
from PIL import Image

from screening.batch import BatchOptions, BatchSummary, run_batch
from screening.batch.store import ResultStore

DAY = dt.date(2024, 1, 20)


def jpeg(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A small, distinct JPEG (noise plus a seed-dependent block, so every seed differs)."""
    rng = np.random.default_rng(seed)
    a = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray((rng.random((64, 96, 3)) * 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def run(sources: list[Path | str], store: Path, **kw: object) -> BatchSummary:
    """A quiet batch run with no detectors (pixels decoded, rules applied, no models needed)."""
    opts = BatchOptions(
        sources=[str(s) for s in sources],
        store=store,
        workers=int(kw.pop("workers", 1)),  # type: ignore[call-overload]
        posting_date=kw.pop("posting_date", DAY),  # type: ignore[arg-type]
        quiet=True,
        detectors=kw.pop("detectors", ()),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )
    return run_batch(opts)


def rows(store: Path) -> list[tuple]:
    """Every photo and skipped row, timestamps and timings left out, in key order."""
    with closing(ResultStore(store, readonly=True)) as rs:
        return rs.comparable_rows()


def photo(store: Path, member: str) -> sqlite3.Row:
    db = sqlite3.connect(store)
    db.row_factory = sqlite3.Row
    r = db.execute("SELECT * FROM photo_results WHERE member = ?", (member,)).fetchone()
    db.close()
    assert r is not None, f"no row for {member}"
    return r
