"""The screening worker process: builds its Screener once (models loaded once, onnxruntime threads=1), then
screens encoded photos sent by the parent and sends back the verdict, full-precision findings and a small
thumbnail. The parent does all storing; a worker holds no state between photos."""

from __future__ import annotations

import os
import queue
import signal
import threading
import traceback
from dataclasses import dataclass
from typing import Any

# Fault-injection hook for the tests of crash recovery: a worker given a photo with this sha256 aborts
# (as a segfault in a native decoder would). Unset in normal use.
CRASH_ENV = "SCREENING_BATCH_TEST_CRASH_SHA"


@dataclass(frozen=True)
class WorkerConfig:
    """How every worker builds its Screener (picklable: workers are spawned, not forked)."""

    registry: str | None
    rules: str | None
    detectors: tuple[str, ...] | None  # None: every available detector
    posting_date: str
    max_pixels: int
    max_bytes: int
    thumbnail_side: int  # 0: no thumbnails
    model_dir: str | None = None


@dataclass(frozen=True)
class Task:
    """One photo to screen. ``detectors`` set: re-run only these (a registry change), no thumbnail."""

    task_id: int
    data: bytes
    path: str
    sha256: str
    detectors: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back for a task."""

    task_id: int
    verdict: dict[str, Any]  # screening.verdict/1, vectors stripped
    findings_json: str
    ran: tuple[str, ...]  # names of the detectors that ran
    thumbnail: bytes | None
    error_code: str | None = None
    error_message: str | None = None


class WorkerEngine:
    """The per-process screening state: one Runtime, one Screener per detector subset."""

    def __init__(self, config: WorkerConfig) -> None:
        import datetime as dt
        from pathlib import Path

        from screening.image import LoadOptions
        from screening.registry import load_registry
        from screening.rules import load_rules
        from screening.runtime.sessions import Runtime
        from screening.screener import Screener

        self.config = config
        self.day = dt.date.fromisoformat(config.posting_date)
        self.registry = load_registry(config.registry)
        self.rules = load_rules(config.rules)
        self.runtime = Runtime(Path(config.model_dir) if config.model_dir else None, threads=1)
        self.options = LoadOptions(max_pixels=config.max_pixels, max_bytes=config.max_bytes)
        self._screener_cls = Screener
        self.full = self._build(config.detectors)
        self._subsets: dict[tuple[str, ...], Any] = {}

    def _build(self, detectors: tuple[str, ...] | None) -> Any:
        return self._screener_cls(
            self.registry, self.rules, runtime=self.runtime, detectors=detectors, load_options=self.options
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.full.detectors)

    def warmup(self) -> None:
        self.full.warmup()

    def screener_for(self, detectors: tuple[str, ...] | None) -> Any:
        if detectors is None:
            return self.full
        key = tuple(sorted(detectors))
        if key not in self._subsets:
            # Same Runtime: the subset shares the model sessions already loaded.
            self._subsets[key] = self._build(key)
        return self._subsets[key]

    def run(self, task: Task) -> Outcome:
        from screening.batch.findings_io import findings_to_json, public_verdict_dict
        from screening.errors import ImageError, ModelError
        from screening.findings import ErrorInfo, Verdict
        from screening.image import decode_bytes

        if os.environ.get(CRASH_ENV) and os.environ[CRASH_ENV] == task.sha256:
            os.abort()
        screener = self.screener_for(task.detectors)
        ran = tuple(d.name for d in screener.detectors)
        try:
            # The parent hashed these bytes to find duplicates: no need to hash them again.
            image = decode_bytes(task.data, screener.load_options, path=task.path, sha256=task.sha256)
        except ImageError as exc:
            error = ErrorInfo(exc.code, exc.message)
            verdict = Verdict.failure(task.path, error, self.day.isoformat(), {})
            return Outcome(task.task_id, verdict.to_dict(), "[]", (), None, exc.code, exc.message)
        try:
            verdict = screener.screen(image, posting_date=self.day, path=task.path)
        except ModelError:
            raise  # a broken model is fatal for the run, not a property of this photo
        except Exception as exc:  # a detector bug on one odd photo must not stop an archive run
            msg = f"screening failed: {type(exc).__name__}: {exc}"
            return Outcome(task.task_id, {}, "[]", ran, None, "screening_failed", msg[:500])
        vdict = public_verdict_dict(verdict.to_dict())
        thumb = None
        if task.detectors is None and self.config.thumbnail_side > 0:
            thumb = make_thumbnail(image.bgr, self.config.thumbnail_side)
        return Outcome(
            task.task_id,
            vdict,
            findings_to_json(verdict.findings),
            ran,
            thumb,
        )


def make_thumbnail(bgr: Any, side: int, quality: int = 70) -> bytes | None:
    """A small JPEG of the decoded photo (long side ``side`` px), from the working copy already in memory."""
    import cv2

    h, w = bgr.shape[:2]
    f = min(1.0, side / max(h, w))
    small = bgr
    if f < 1:
        small = cv2.resize(bgr, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else None


def worker_main(config: WorkerConfig, tasks: Any, results: Any) -> None:
    """Entry point of a worker process: init, say ready (or fatal), then screen until told to stop."""
    # The parent handles Ctrl-C and shuts workers down in order; a worker must not die mid-photo on it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from screening.errors import ScreeningError

    try:
        import cv2

        cv2.setNumThreads(1)  # one process per core already; OpenCV's pool would oversubscribe
        engine = WorkerEngine(config)
        engine.warmup()
    except ScreeningError as exc:
        results.send(("fatal", exc.code, exc.message))
        return
    except Exception as exc:
        results.send(("fatal", "worker_init_failed", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        return
    results.send(("ready", engine.names, os.getpid()))

    # A reader thread keeps the task pipe drained, so the parent never blocks sending the next photo
    # while this process is busy with the current one.
    inbox: queue.Queue[Task | None] = queue.Queue()

    def reader() -> None:
        try:
            while True:
                item = tasks.recv()
                inbox.put(item)
                if item is None:
                    return
        except (EOFError, OSError):  # the parent went away
            inbox.put(None)

    threading.Thread(target=reader, daemon=True).start()
    while (task := inbox.get()) is not None:
        try:
            outcome = engine.run(task)
        except ScreeningError as exc:
            results.send(("fatal", exc.code, exc.message))
            return
        try:
            results.send(("done", outcome))
        except (BrokenPipeError, OSError):
            return
