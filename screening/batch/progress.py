"""Progress of a batch run: a tqdm bar on a terminal (rate, ETA, allow/warn/error counts), a plain line
every few seconds when stderr is a file or a pipe, nothing under ``--quiet``."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

PLAIN_EVERY_S = 10.0


@dataclass
class Counts:
    """What a run did, photo by photo."""

    allow: int = 0
    warn: int = 0
    error: int = 0
    skipped: int = 0  # not photos (magic bytes), links, special files
    screened: int = 0  # photos sent to a worker in this run
    duplicates: int = 0  # identical content already screened: row points at that result
    resumed: int = 0  # already done in an earlier run of the same command
    rules_reapplied: int = 0  # results re-evaluated without pixels after a rules/registry change
    rescreened: int = 0  # results where only the detectors whose inputs changed were re-run
    crashed: int = 0  # photos whose worker died or hung

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Progress:
    """Counts plus their display. ``total`` may arrive later (counted in the background) and may be an
    estimate that sharpens as the run goes (compressed tars have no index: see batch/count.py)."""

    stream: IO[str] = field(default_factory=lambda: sys.stderr)
    quiet: bool = False
    counts: Counts = field(default_factory=Counts)
    total: int | None = None
    estimated: bool = False
    done: int = 0
    _bar: Any = None
    _start: float = field(default_factory=time.monotonic)
    _last_line: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if not self.quiet and self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, unit="file", file=self.stream, dynamic_ncols=True, smoothing=0.05)

    def set_total(self, total: int | None, estimated: bool = False) -> None:
        """The number of files the run will go through (``estimated``: roughly, so far)."""
        if (total, estimated) == (self.total, self.estimated):
            return
        self.total, self.estimated = total, estimated
        if self._bar is not None:
            self._bar.total = total
            self._bar.set_description_str("estimated total" if estimated else "", refresh=False)
            self._bar.refresh()

    def photo(self, verdict: str) -> None:
        """One photo got its row (allow, warn or error)."""
        setattr(self.counts, verdict, getattr(self.counts, verdict) + 1)
        self._advance()

    def skipped(self) -> None:
        self.counts.skipped += 1
        self._advance()

    def resumed(self) -> None:
        self.counts.resumed += 1
        self._advance()

    def _advance(self) -> None:
        self.done += 1
        if self.quiet:
            return
        c = self.counts
        if self._bar is not None:
            self._bar.set_postfix_str(f"allow {c.allow} warn {c.warn} error {c.error} skip {c.skipped}", refresh=False)
            self._bar.update(1)
        elif time.monotonic() - self._last_line >= PLAIN_EVERY_S:
            self._last_line = time.monotonic()
            print(self.line(), file=self.stream, flush=True)

    def line(self) -> str:
        """One status line: done/total, rate, ETA and counts."""
        c = self.counts
        elapsed = max(time.monotonic() - self._start, 1e-6)
        rate = max(self.done - c.resumed, 0) / elapsed
        total = f"/{'~' if self.estimated else ''}{self.total}" if self.total else ""
        eta = ""
        if self.total and rate > 0:
            eta = f", ETA {_hms((self.total - self.done) / rate)}"
        return (
            f"{self.done}{total} files, {rate:.1f}/s{eta}; allow {c.allow}, warn {c.warn}, error {c.error},"
            f" skipped {c.skipped}, already done {c.resumed}"
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
