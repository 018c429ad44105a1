"""Screen whole archives: walk the sources lazily, skip what is done, dedup by sha256, feed a bounded
process pool, store every result as it arrives. Stop it at any moment and run the same command again."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from screening.batch.count import EntryTotal, count_sources
from screening.batch.findings_io import findings_from_json
from screening.batch.magic import Kind, sniff
from screening.batch.pool import MAX_TASKS_PER_WORKER, Failure, FatalBatchError, WorkerPool
from screening.batch.progress import Counts, Progress
from screening.batch.rescreen import TRANSIENT_ERRORS, Plan, merge_findings, plan_for, reevaluate
from screening.batch.sources import Entry, Key, SourceError, iter_sources
from screening.batch.store import PhotoRow, ResultRow, ResultStore, now_iso
from screening.batch.versions import Versions, available_detectors, current_versions
from screening.batch.worker import Outcome, Task, WorkerConfig
from screening.findings import ErrorInfo, Verdict
from screening.image.load import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from screening.registry import Registry, load_registry
from screening.rules import RuleSet, load_rules
from screening.screener import DETECTORS


@dataclass
class BatchOptions:
    """Everything a batch run needs; the CLI fills it from its options."""

    sources: list[str]
    store: Path = Path("results.sqlite")
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    registry: str | None = None
    rules: str | None = None
    posting_date: dt.date = field(default_factory=dt.date.today)
    rescreen: str = "changed"  # "changed": only what a registry/rules change can affect; "all": everything
    quiet: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    # The documented per-file limit, as for `check` and the CLI's --max-mb. Files are read whole before
    # hashing; PREFETCH files per worker are in flight, so this also bounds the parent's memory.
    max_bytes: int = DEFAULT_MAX_BYTES
    thumbnail_side: int = 240  # 0: no thumbnails
    detectors: tuple[str, ...] | None = None  # None: every available detector
    task_timeout: float = 300.0
    max_tasks_per_worker: int = MAX_TASKS_PER_WORKER  # then the worker is replaced (flat memory)
    model_dir: str | None = None
    stop_after: int | None = None  # stop after this many new photo rows (tests of interruption)
    cwd: Path | None = None


@dataclass
class BatchSummary:
    counts: Counts
    elapsed_s: float
    interrupted: bool
    workers: int
    worker_pids: list[int]
    detectors: tuple[str, ...]
    startup_s: float = 0.0  # spawning workers and loading their models (part of elapsed_s)

    def line(self) -> str:
        c = self.counts
        photos = c.allow + c.warn + c.error
        return (
            f"{photos} photos: allow {c.allow}, warn {c.warn}, error {c.error}; skipped {c.skipped} non-photos;"
            f" screened {c.screened}, duplicates {c.duplicates}, already done {c.resumed},"
            f" rules re-applied {c.rules_reapplied}, partly re-screened {c.rescreened}; {self.elapsed_s:.1f} s"
        )


class BatchRun:
    """One run over the sources into the store (see :func:`run_batch`)."""

    def __init__(self, opts: BatchOptions, stream: IO[str] | None = None) -> None:
        if opts.rescreen not in ("changed", "all"):
            raise ValueError("rescreen must be 'changed' or 'all'")
        self.opts = opts
        self.registry: Registry = load_registry(opts.registry)
        self.rules: RuleSet = load_rules(opts.rules)
        wanted = opts.detectors if opts.detectors is not None else None
        # DETECTORS order, whatever the user's order: findings then come out in one canonical order.
        names = available_detectors(self.rules, wanted)
        self.detectors = tuple(d for d in DETECTORS if d in names)
        self.day = opts.posting_date
        self.versions: Versions = current_versions(self.registry, self.rules, self.detectors, self.day.isoformat())
        self.store = ResultStore(opts.store)
        self.progress = Progress(stream=stream or sys.stderr, quiet=opts.quiet)
        self.pool: WorkerPool | None = None
        self._next_id = 0
        self._waiting: dict[str, list[tuple[Key, int | None]]] = {}  # sha -> photos waiting for its result
        self._tasks: dict[int, tuple[str, Plan]] = {}  # task id -> (sha256, plan)
        self._done_this_run: set[str] = set()  # only filled under --rescreen all
        self._new_rows = 0
        self._store_real = os.path.realpath(opts.store)
        self._startup_s = 0.0
        self._total = EntryTotal()
        self._total_due = 0.0  # when the progress total is next recomputed
        self._stop_counting = threading.Event()
        self._counter: threading.Thread | None = None

    # --- the run ----------------------------------------------------------------------------------

    def run(self) -> BatchSummary:
        interrupted = False
        if not self.opts.quiet:  # the total only feeds the display
            # Counted in the background so screening starts at once; the bar gets its ETA when this ends.
            self._counter = threading.Thread(target=self._count_total, daemon=True, name="batch-count")
            self._counter.start()
        try:
            if self.opts.rescreen == "changed":
                self._reapply_rules_pass()
            for entry in iter_sources(self.opts.sources, cwd=self.opts.cwd):
                self._handle(entry)
                self._update_total(entry)
                self.store.commit_if_due()
                if self.opts.stop_after is not None and self._new_rows >= self.opts.stop_after:
                    interrupted = True
                    break
            if not interrupted:
                self._update_total(None, now=True)
                self._drain()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            self._stop_counting.set()
            try:
                interrupted = self._close_pool() or interrupted
            finally:
                self.store.close()  # commits: the results collected while the pool closed included
                self.progress.close()
        pool = self.pool
        return BatchSummary(
            counts=self.progress.counts,
            elapsed_s=self.progress.elapsed,
            interrupted=interrupted,
            workers=self.opts.workers,
            worker_pids=list(pool.worker_pids) if pool else [],
            detectors=self.detectors,
            startup_s=self._startup_s,
        )

    def _close_pool(self) -> bool:
        """Stop the workers before the store's last commit, storing the results they send back while
        stopping (the photos they held when the run was interrupted). True if a second Ctrl-C cut it short:
        then the photos still out are simply screened again by the next run."""
        if self.pool is None:
            return False
        try:
            outcomes = self.pool.close()
        except KeyboardInterrupt:
            return True
        for done in outcomes:
            self._finish(done)
        return False

    def _count_total(self) -> None:
        # Reads listings, zip directories and tar headers only: no file is read twice (batch/count.py).
        try:
            count = count_sources(
                self.opts.sources, cwd=self.opts.cwd, stop=self._stop_counting, exclude=self._store_real
            )
        except Exception:  # the count is cosmetic; the real walk reports problems
            return
        if not self._stop_counting.is_set():
            self._total.counted(count)

    def _update_total(self, entry: Entry | None, *, now: bool = False) -> None:
        """Show the latest total: once a second (an estimate moves with every archive member)."""
        if entry is not None and entry.cursor is not None:
            self._total.walked(entry.cursor)
        t = time.monotonic()
        if now or t >= self._total_due:
            self._total_due = t + 1.0
            self.progress.set_total(*self._total.value())

    def _handle(self, entry: Entry) -> None:
        key = entry.key
        all_mode = self.opts.rescreen == "all"
        if self._is_store_file(key):
            return
        if not all_mode and self.store.is_skipped(key):
            self.progress.resumed()
            return
        prior = self.store.photo(key)
        if prior is not None and entry.size is not None and prior.size is not None and prior.size != entry.size:
            prior = None  # the file changed under the same name since it was screened: screen it as new
        if prior is not None and not all_mode:
            if prior.error_code and prior.error_code not in TRANSIENT_ERRORS:
                self.progress.resumed()
                return
            if prior.sha256 and not plan_for(self.store.result_state(prior.sha256), self.versions).needs_pixels:
                self.progress.resumed()
                return
        if entry.skip:
            self.store.put_skipped(key, entry.skip, entry.size)
            self.progress.skipped()
            return
        try:
            kind = sniff(entry.head())
            if kind is not Kind.IMAGE:
                reason = "archive_in_archive" if kind in (Kind.ZIP, Kind.TAR) and key.member else "not_image"
                self.store.put_skipped(key, reason, entry.size)
                self.progress.skipped()
                return
            data = entry.read(self.opts.max_bytes)
        except SourceError as exc:
            self._photo_error(key, entry.size, exc.code, exc.message)
            return
        sha = hashlib.sha256(data).hexdigest()
        if sha in self._waiting:  # identical content already on its way to a worker
            self._waiting[sha].append((key, len(data)))
            self.progress.counts.duplicates += 1
            return
        plan = plan_for(self.store.result_state(sha), self.versions, self.opts.rescreen)
        if all_mode and sha in self._done_this_run:  # already re-screened in this --rescreen all run
            plan = plan_for(self.store.result_state(sha), self.versions)
        if not plan.needs_pixels:
            if plan.reapply:
                self._reapply(sha, plan)
            self._photo_row(key, sha, len(data))
            self.progress.counts.duplicates += 1
            return
        self._waiting[sha] = [(key, len(data))]
        task = Task(self._next_id, data, key.display(), sha, None if plan.full else plan.rerun)
        self._tasks[task.task_id] = (sha, plan)
        self._next_id += 1
        pool = self._pool()
        for done in pool.submit(task):
            self._finish(done)

    def _is_store_file(self, key: Key) -> bool:
        # A store inside a screened folder is not a photo, but its WAL changes under us: leave it alone.
        path = os.path.join(key.source, key.member) if key.member else key.source
        return os.path.realpath(path).startswith(self._store_real)

    def _pool(self) -> WorkerPool:
        if self.pool is None:
            config = WorkerConfig(
                registry=self.opts.registry,
                rules=self.opts.rules,
                detectors=self.detectors,
                posting_date=self.day.isoformat(),
                max_pixels=self.opts.max_pixels,
                max_bytes=self.opts.max_bytes,
                thumbnail_side=self.opts.thumbnail_side,
                model_dir=self.opts.model_dir,
            )
            self.pool = WorkerPool(
                self.opts.workers,
                config,
                task_timeout=self.opts.task_timeout,
                max_tasks_per_worker=self.opts.max_tasks_per_worker,
            )
            t0 = time.monotonic()
            self.pool.start()
            self._startup_s = time.monotonic() - t0
            if set(self.pool.detector_names) != set(self.detectors):
                raise FatalBatchError(
                    "detector_mismatch",
                    f"workers run {self.pool.detector_names}, expected {self.detectors}",
                )
        return self.pool

    def _drain(self) -> None:
        while self.pool is not None and self.pool.inflight:
            for done in self.pool.poll(0.5):
                self._finish(done)
            self.store.commit_if_due()

    # --- results ----------------------------------------------------------------------------------

    def _finish(self, done: Outcome | Failure) -> None:
        task_id = done.task.task_id if isinstance(done, Failure) else done.task_id
        sha, plan = self._tasks.pop(task_id)
        failed = isinstance(done, Failure) or bool(done.error_code)
        if failed and not plan.full:
            # A crash while re-running some detectors: keep the stored result (still versioned as stale,
            # so the next run tries again) rather than replace good findings with an error.
            self.progress.counts.crashed += 1
            for key, size in self._waiting.pop(sha, []):
                self._photo_row(key, sha, size)
            return
        if isinstance(done, Failure):
            self.progress.counts.crashed += 1
            row = self._error_row(sha, done.task.path, done.code, done.message)
        else:
            row = self._row_from_outcome(sha, done, plan)
        self.store.put_result(row)
        self.progress.counts.screened += 1
        if not plan.full:
            self.progress.counts.rescreened += 1
        if self.opts.rescreen == "all":
            self._done_this_run.add(sha)
        for key, size in self._waiting.pop(sha, []):
            self._photo_row(key, sha, size, verdict=row.verdict)
        self.store.commit_if_due()

    def _row_from_outcome(self, sha: str, out: Outcome, plan: Plan) -> ResultRow:
        if out.error_code:
            return self._error_row(sha, out.verdict.get("path"), out.error_code, out.error_message or "")
        if plan.full:
            detectors = dict(zip(out.ran, self._fps(out.ran), strict=True))
            return self._result_row(sha, out.verdict, out.findings_json, detectors, out.thumbnail)
        stored = self.store.result(sha)
        assert stored is not None, "a partial re-screen always has a stored result"
        old = json.loads(stored.verdict_json)
        fresh = findings_from_json(out.findings_json)
        replaced = (*(plan.rerun or ()), *plan.drop)
        merged = merge_findings(findings_from_json(stored.findings_json), fresh, replaced)
        timings = {k: float(v) for k, v in (out.verdict.get("timings_ms") or {}).items() if k in (plan.rerun or ())}
        _, vdict, fjson = reevaluate(merged, old, self.registry, self.rules, self.day, timings)
        detectors = {d: v for d, v in stored.detectors.items() if d not in plan.drop}
        detectors.update(dict(zip(out.ran, self._fps(out.ran), strict=True)))
        return self._result_row(sha, vdict, fjson, detectors, stored.thumbnail)

    def _fps(self, names: tuple[str, ...]) -> list[str]:
        return [self.versions.detectors[n] for n in names]

    def _result_row(
        self, sha: str, verdict: dict, findings_json: str, detectors: dict[str, str], thumb: bytes | None
    ) -> ResultRow:
        err = verdict.get("error") or {}
        return ResultRow(
            sha256=sha,
            verdict=verdict.get("verdict", "error"),
            severity=verdict.get("severity", "none"),
            verdict_json=json.dumps(verdict, ensure_ascii=False, sort_keys=True),
            findings_json=findings_json,
            error_code=err.get("code"),
            error_message=err.get("message"),
            width=int(verdict.get("width") or 0),
            height=int(verdict.get("height") or 0),
            registry_version=self.registry.fingerprint,
            rules_version=self.rules.fingerprint,
            detectors=detectors,
            rules_part=self.versions.rules,
            posting_date=self.day.isoformat(),
            thumbnail=thumb,
            screened_at=now_iso(),
        )

    def _error_row(self, sha: str, path: str | None, code: str, message: str) -> ResultRow:
        verdict = Verdict(path, sha, 0, 0, (), (), {}, self.day.isoformat(), ErrorInfo(code, message)).to_dict()
        return self._result_row(sha, verdict, "[]", {}, None)

    def _photo_row(self, key: Key, sha: str, size: int | None, verdict: str | None = None) -> None:
        self.store.put_photo(PhotoRow(key, sha, size, None, None))
        if verdict is None:
            state = self.store.result_state(sha)
            verdict = state["verdict"] if state is not None else "error"
        self.progress.photo(verdict)
        self._new_rows += 1

    def _photo_error(self, key: Key, size: int | None, code: str, message: str) -> None:
        self.store.put_photo(PhotoRow(key, None, size, code, message))
        self.progress.photo("error")
        self._new_rows += 1

    # --- rules-only changes -------------------------------------------------------------------------

    def _reapply_rules_pass(self) -> None:
        """Re-evaluate, without pixels, every stored result whose detectors are current but whose rules,
        registry facts or posting date are not."""
        todo: list[tuple[str, Plan]] = []
        for state in self.store.iter_result_states():
            plan = plan_for(state, self.versions)
            if plan.reapply:
                todo.append((state["sha256"], plan))  # sha + a small plan: fine even for 10^6 results
        for sha, plan in todo:
            self._reapply(sha, plan)
            self.store.commit_if_due()
        # Results the change cannot affect are current: they get the new rules file version.
        self.store.stamp_rules_version(self.rules.fingerprint, self.versions)
        self.store.commit()

    def _reapply(self, sha: str, plan: Plan) -> None:
        stored = self.store.result(sha)
        if stored is None:
            return
        merged = merge_findings(findings_from_json(stored.findings_json), (), plan.drop)
        _, vdict, fjson = reevaluate(merged, json.loads(stored.verdict_json), self.registry, self.rules, self.day)
        detectors = {d: v for d, v in stored.detectors.items() if d not in plan.drop}
        self.store.put_result(self._result_row(sha, vdict, fjson, detectors, stored.thumbnail))
        self.progress.counts.rules_reapplied += 1


def run_batch(opts: BatchOptions, stream: IO[str] | None = None) -> BatchSummary:
    """Screen every photo of ``opts.sources`` into ``opts.store``; resumable, deduplicated, parallel.

    Raises :class:`~screening.batch.pool.FatalBatchError` or a ScreeningError (bad registry or rules,
    missing models) when the run cannot go on; per-file problems become error rows instead.
    """
    return BatchRun(opts, stream).run()
