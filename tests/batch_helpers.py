"""Helpers shared by the batch tests: photos made in code, and a store reader that ignores times."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
from pathlib import Path

import numpy as np
from PIL import Image

from screening.batch import BatchOptions, BatchSummary, run_batch

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
    db = sqlite3.connect(store)
    out = []
    q = (
        "SELECT p.source, p.member, p.sha256, p.size, p.error_code, r.verdict, r.severity, r.verdict_json,"
        " r.findings_json, r.error_code, r.detectors_json, r.rules_part FROM photos p"
        " LEFT JOIN results r ON r.sha256 = p.sha256 ORDER BY p.source, p.member"
    )
    for r in db.execute(q):
        r = list(r)
        if r[7]:
            v = json.loads(r[7])
            v.pop("timings_ms", None)
            r[7] = json.dumps(v, sort_keys=True)
        out.append(tuple(r))
    out += [("skipped", *r) for r in db.execute("SELECT * FROM skipped ORDER BY source, member")]
    db.close()
    return out


def photo(store: Path, member: str) -> sqlite3.Row:
    db = sqlite3.connect(store)
    db.row_factory = sqlite3.Row
    r = db.execute("SELECT * FROM photo_results WHERE member = ?", (member,)).fetchone()
    db.close()
    assert r is not None, f"no row for {member}"
    return r
