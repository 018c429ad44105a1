"""The results store: one SQLite file (WAL mode), written by the batch parent only.

Tables:
- ``results``: one row per distinct file content (sha256): the verdict JSON, full-precision findings,
  the versions it was screened with, a small thumbnail. Identical files are screened once.
- ``photos``: one row per (source, member) pointing at its result, or carrying the error that stopped it
  before decoding (unsafe name, zip bomb, encrypted member...).
- ``skipped``: files that are not photos (decided by magic bytes), counted and never screened.
- view ``photo_results``: the per-photo row a report or a SQL user wants (source, member, sha256, size,
  verdict, severity, verdict JSON, error code and message, registry and rules versions, times).

Durability: a photo row is written in the same transaction as its result; transactions are small and
frequent, so a run killed at any moment loses at most the last second of work and never leaves a half row.
No face crops or embeddings are stored (UU 27/2022); thumbnails are of the agency's own photos.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screening.batch.sources import Key

if TYPE_CHECKING:
    from screening.batch.versions import Versions

SCHEMA = 1
COMMIT_EVERY_ROWS = 64
COMMIT_EVERY_S = 0.5
# The version columns of a result that decide what it needs after a change (see batch/rescreen.py).
_STATE_COLUMNS = "sha256, error_code, detectors_json, rules_part, registry_version, posting_date, verdict, severity"

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    sha256 TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,            -- allow | warn | error
    severity TEXT NOT NULL,           -- none | low | medium | high
    verdict_json TEXT NOT NULL,       -- screening.verdict/1
    findings_json TEXT NOT NULL,      -- full-precision findings, for re-applying rules without pixels
    error_code TEXT,
    error_message TEXT,
    width INTEGER,
    height INTEGER,
    registry_version TEXT NOT NULL,
    rules_version TEXT NOT NULL,
    detectors_json TEXT NOT NULL,     -- {detector: input fingerprint} of the detectors that ran
    rules_part TEXT NOT NULL,         -- fingerprint of the [[rule]] entries applied
    posting_date TEXT NOT NULL,
    thumbnail BLOB,                   -- small JPEG of the photo (not of any face)
    screened_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS photos (
    source TEXT NOT NULL,
    member TEXT NOT NULL,
    sha256 TEXT,
    size INTEGER,
    error_code TEXT,                  -- set when the file never reached the decoder
    error_message TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (source, member)
);
CREATE INDEX IF NOT EXISTS photos_sha ON photos (sha256);
CREATE TABLE IF NOT EXISTS skipped (
    source TEXT NOT NULL,
    member TEXT NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER,
    PRIMARY KEY (source, member)
);
CREATE VIEW IF NOT EXISTS photo_results AS
SELECT p.source, p.member, p.sha256, p.size,
       CASE WHEN p.error_code IS NOT NULL THEN 'error' ELSE r.verdict END AS verdict,
       COALESCE(r.severity, 'none') AS severity,
       r.verdict_json,
       COALESCE(p.error_code, r.error_code) AS error_code,
       COALESCE(p.error_message, r.error_message) AS error_message,
       r.registry_version, r.rules_version, r.screened_at, p.recorded_at
FROM photos p LEFT JOIN results r ON r.sha256 = p.sha256;
"""


@dataclass(frozen=True)
class ResultRow:
    """Everything stored about one distinct file content."""

    sha256: str
    verdict: str
    severity: str
    verdict_json: str
    findings_json: str
    error_code: str | None
    error_message: str | None
    width: int
    height: int
    registry_version: str
    rules_version: str
    detectors: dict[str, str]
    rules_part: str
    posting_date: str
    thumbnail: bytes | None
    screened_at: str


@dataclass(frozen=True)
class PhotoRow:
    key: Key
    sha256: str | None
    size: int | None
    error_code: str | None
    error_message: str | None


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class ResultStore:
    """The batch results in one SQLite file. Not thread-safe: one writer (the batch parent)."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            if not self.path.is_file():
                raise FileNotFoundError(f"no results store at {self.path}")
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a crash of the program loses nothing committed; a power loss may lose the
            # last transactions but never corrupts the file. Resume re-screens whatever was lost.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_DDL)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
        self.db.row_factory = sqlite3.Row
        self._pending = 0
        self._last_commit = time.monotonic()
        self._in_tx = False

    # --- writing ---------------------------------------------------------------------------

    def _begin(self) -> None:
        if not self._in_tx:
            self.db.execute("BEGIN")
            self._in_tx = True

    def put_result(self, row: ResultRow) -> None:
        self._begin()
        self.db.execute(
            "INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                row.sha256,
                row.verdict,
                row.severity,
                row.verdict_json,
                row.findings_json,
                row.error_code,
                row.error_message,
                row.width,
                row.height,
                row.registry_version,
                row.rules_version,
                json.dumps(row.detectors, sort_keys=True),
                row.rules_part,
                row.posting_date,
                row.thumbnail,
                row.screened_at,
            ),
        )
        self._pending += 1

    def put_photo(self, row: PhotoRow) -> None:
        self._begin()
        self.db.execute(
            "INSERT OR REPLACE INTO photos VALUES (?,?,?,?,?,?,?)",
            (row.key.source, row.key.member, row.sha256, row.size, row.error_code, row.error_message, now_iso()),
        )
        self._pending += 1

    def put_skipped(self, key: Key, reason: str, size: int | None) -> None:
        self._begin()
        self.db.execute("INSERT OR REPLACE INTO skipped VALUES (?,?,?,?)", (key.source, key.member, reason, size))
        self._pending += 1

    def stamp_rules_version(self, rules_version: str, current: Versions) -> None:
        """Record ``rules_version`` (the whole rules file's fingerprint) on every error-free result that is
        already current for ``current``: a rules change that cannot affect it (e.g. only another detector's
        settings moved) leaves its findings valid, and every row then names the version it is valid for."""
        self._begin()
        self.db.execute(
            "UPDATE results SET rules_version = ? WHERE rules_version != ? AND error_code IS NULL AND rules_part = ?"
            " AND registry_version = ? AND posting_date = ? AND detectors_json = ?",
            (
                rules_version,
                rules_version,
                current.rules,
                current.registry,
                current.posting_date,
                json.dumps(current.detectors, sort_keys=True),
            ),
        )
        self._pending += 1

    def commit_if_due(self) -> None:
        """Commit when enough rows or time have gone by: small transactions, bounded loss on a kill."""
        if self._in_tx and (
            self._pending >= COMMIT_EVERY_ROWS or time.monotonic() - self._last_commit >= COMMIT_EVERY_S
        ):
            self.commit()

    def commit(self) -> None:
        if self._in_tx:
            self.db.execute("COMMIT")
            self._in_tx = False
        self._pending = 0
        self._last_commit = time.monotonic()

    def close(self) -> None:
        self.commit()
        self.db.close()

    # --- reading ---------------------------------------------------------------------------

    def photo(self, key: Key) -> PhotoRow | None:
        r = self.db.execute(
            "SELECT sha256, size, error_code, error_message FROM photos WHERE source=? AND member=?",
            (key.source, key.member),
        ).fetchone()
        return None if r is None else PhotoRow(key, r[0], r[1], r[2], r[3])

    def is_skipped(self, key: Key) -> bool:
        q = "SELECT 1 FROM skipped WHERE source=? AND member=?"
        return self.db.execute(q, (key.source, key.member)).fetchone() is not None

    def result_state(self, sha256: str) -> sqlite3.Row | None:
        """The version columns of a result (cheap: no JSON, no thumbnail)."""
        return self.db.execute(f"SELECT {_STATE_COLUMNS} FROM results WHERE sha256=?", (sha256,)).fetchone()

    def iter_result_states(self, batch: int = 256) -> Iterator[sqlite3.Row]:
        """The version columns of every result (as :meth:`result_state` gives them), streamed. Finish (or
        close) the iteration before writing: the rows are read from a live cursor."""
        cur = self.db.cursor()
        cur.execute(f"SELECT {_STATE_COLUMNS} FROM results")
        while rows := cur.fetchmany(batch):
            yield from rows

    def result(self, sha256: str) -> ResultRow | None:
        r = self.db.execute("SELECT * FROM results WHERE sha256=?", (sha256,)).fetchone()
        return None if r is None else _result_row(r)

    def iter_results(self, batch: int = 256) -> Iterator[ResultRow]:
        """Every result, streamed (the store may hold hundreds of thousands)."""
        cur = self.db.cursor()
        cur.execute("SELECT * FROM results ORDER BY sha256")
        while rows := cur.fetchmany(batch):
            for r in rows:
                yield _result_row(r)

    def iter_photo_results(self, where: str = "", order: str = "source, member") -> Iterator[sqlite3.Row]:
        """Rows of the ``photo_results`` view (``where`` and ``order`` are trusted SQL fragments)."""
        cur = self.db.cursor()
        cur.execute(f"SELECT * FROM photo_results {where} ORDER BY {order}")
        while rows := cur.fetchmany(256):
            yield from rows

    def thumbnail(self, sha256: str) -> bytes | None:
        r = self.db.execute("SELECT thumbnail FROM results WHERE sha256=?", (sha256,)).fetchone()
        return None if r is None else r[0]

    def counts(self) -> dict[str, int]:
        """Photos per verdict, plus skipped files."""
        out = {"allow": 0, "warn": 0, "error": 0}
        for verdict, n in self.db.execute("SELECT verdict, COUNT(*) FROM photo_results GROUP BY verdict"):
            out[verdict or "error"] = out.get(verdict or "error", 0) + n
        out["skipped"] = self.db.execute("SELECT COUNT(*) FROM skipped").fetchone()[0]
        return out

    def comparable_rows(self) -> list[tuple[object, ...]]:
        """Every photo (with its result) and skipped row, in key order, without what differs between
        equal runs (timestamps, timings): two stores of the same archive must compare equal."""
        out: list[tuple[object, ...]] = []
        q = (
            "SELECT p.source, p.member, p.sha256, p.size, p.error_code, p.error_message, r.verdict, r.severity,"
            " r.verdict_json, r.findings_json, r.error_code, r.error_message, r.detectors_json, r.rules_part,"
            " r.registry_version, r.rules_version, r.thumbnail"
            " FROM photos p LEFT JOIN results r ON r.sha256 = p.sha256 ORDER BY p.source, p.member"
        )
        for r in self.db.execute(q):
            row = list(r)
            if row[8]:
                verdict = json.loads(row[8])
                verdict.pop("timings_ms", None)
                row[8] = json.dumps(verdict, sort_keys=True)
            out.append(tuple(row))
        out += [("skipped", *r) for r in self.db.execute("SELECT * FROM skipped ORDER BY source, member")]
        return out

    def skipped_reasons(self) -> list[tuple[str, int]]:
        """Why files were skipped, with how many each, most frequent first."""
        query = "SELECT reason, COUNT(*) FROM skipped GROUP BY reason ORDER BY 2 DESC"
        return [(reason, n) for reason, n in self.db.execute(query)]


def _result_row(r: sqlite3.Row) -> ResultRow:
    d: dict[str, Any] = dict(r)
    d["detectors"] = json.loads(d.pop("detectors_json") or "{}")
    return ResultRow(**d)
