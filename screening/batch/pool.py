"""A small process pool made for screening archives: bounded work in flight, and a worker that dies
(segfault in a native decoder, OOM kill) or hangs is replaced while its photo is recorded as an error.

``concurrent.futures.ProcessPoolExecutor`` breaks as a whole when one worker dies; here each worker has
its own pipes, so the parent knows exactly which photo it was holding.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from screening.batch.worker import Outcome, Task, WorkerConfig, worker_main

PREFETCH = 2  # tasks per worker: one being screened, one waiting, so a worker never idles on the parent
# A worker retires after this many photos (its replacement loads the models while it finishes): whatever
# native libraries leave behind (allocator fragmentation, arenas grown for one odd photo) is given back, so
# memory stays flat over an archive of any size. Start-up costs ~1-2 s of one core per 500 photos (<2%).
MAX_TASKS_PER_WORKER = 500
# On close, workers finish the photos they hold (at most PREFETCH each, a second or two apiece) and
# send the results back; what is not back after this long is killed and left for the next run.
CLOSE_GRACE_S = 10.0


class FatalBatchError(Exception):
    """Workers cannot start or a model is broken: the run cannot go on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Failure:
    """A task whose worker died or hung."""

    task: Task
    code: str
    message: str


@dataclass(eq=False)
class _Worker:
    proc: Any
    tasks: Connection  # parent -> worker
    results: Connection  # worker -> parent
    inflight: deque[Task] = field(default_factory=deque)
    ready: bool = False
    pid: int | None = None
    busy_since: float = 0.0  # when the task at the head of ``inflight`` started (roughly)
    broken: bool = False  # its pipe broke: it is dying, poll() will replace it
    completed: int = 0
    retiring: bool = False  # done its share: gets no new task, stops when its last one is back

    @property
    def usable(self) -> bool:
        return self.ready and not self.broken and not self.retiring


class WorkerPool:
    """``workers`` spawned processes screening :class:`Task` s; results come back from :meth:`poll`."""

    def __init__(
        self,
        workers: int,
        config: WorkerConfig,
        *,
        task_timeout: float = 300.0,
        max_tasks_per_worker: int = MAX_TASKS_PER_WORKER,
    ) -> None:
        self.n = max(1, workers)
        self.max_tasks = max_tasks_per_worker
        self.config = config
        self.task_timeout = task_timeout
        self.ctx = mp.get_context("spawn")  # no forked copies of the parent's SQLite handle or threads
        self.workers: list[_Worker] = []
        self.detector_names: tuple[str, ...] = ()
        self.worker_pids: list[int] = []
        self._retry: deque[Task] = deque()
        self.replaced = 0
        self.recycled = 0
        self._retired: list[_Worker] = []

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout: float = 600.0) -> None:
        """Spawn the workers and wait until each has loaded its models (fails fast on model errors)."""
        self.workers = [self._spawn() for _ in range(self.n)]
        deadline = time.monotonic() + timeout
        while not all(w.ready for w in self.workers):
            if time.monotonic() > deadline:
                raise FatalBatchError("worker_start_timeout", "workers did not start in time")
            self.poll(1.0)

    def _spawn(self) -> _Worker:
        task_r, task_w = self.ctx.Pipe(duplex=False)
        res_r, res_w = self.ctx.Pipe(duplex=False)
        proc = self.ctx.Process(target=worker_main, args=(self.config, task_r, res_w), daemon=True)
        proc.start()
        task_r.close()
        res_w.close()
        return _Worker(proc, task_w, res_r)

    def close(self, grace: float = CLOSE_GRACE_S) -> list[Outcome]:
        """Stop every worker and return the results they sent back while stopping.

        Each worker is told to stop after the photos it already holds; their results are read as they
        arrive (a worker blocked writing to a pipe nobody reads would never exit), for at most ``grace``
        seconds in all. Workers still busy then are killed: their photos are screened by the next run.
        Call it before committing the store, so the results it returns are stored too.
        """
        done: list[Outcome] = []
        try:
            for w in self.workers:
                try:
                    w.tasks.send(None)
                except OSError:
                    pass
            deadline = time.monotonic() + grace
            open_pipes = {w.results: w for w in self.workers}
            while open_pipes and (left := deadline - time.monotonic()) > 0:
                for ready in wait(list(open_pipes), left):
                    w = open_pipes[ready]
                    try:
                        while w.results.poll():
                            msg = w.results.recv()
                            if msg[0] == "done":  # "ready"/"fatal" from a late starter: nothing to keep
                                done.append(msg[1])
                                if w.inflight and w.inflight[0].task_id == msg[1].task_id:
                                    w.inflight.popleft()
                    except (EOFError, OSError):  # it exited (or died) and its pipe is empty: done with it
                        del open_pipes[w.results]
        finally:
            # Also after a second Ctrl-C while waiting: no worker outlives the run.
            stop_by = time.monotonic() + 1.0
            for w in [*self.workers, *self._retired]:
                w.proc.join(timeout=max(0.0, stop_by - time.monotonic()))
                if w.proc.is_alive():
                    w.proc.kill()
                    w.proc.join(timeout=5)
                if not w.tasks.closed:
                    w.tasks.close()
                w.results.close()
            self.workers = []
            self._retired = []
        return done

    # --- work ----------------------------------------------------------------------------------

    @property
    def inflight(self) -> int:
        return sum(len(w.inflight) for w in self.workers) + len(self._retry)

    def has_room(self) -> bool:
        return any(w.usable and len(w.inflight) < PREFETCH for w in self.workers) and not self._retry

    def submit(self, task: Task) -> list[Outcome | Failure]:
        """Hand ``task`` to the least busy worker, first collecting results while every worker is full."""
        done: list[Outcome | Failure] = []
        while not self.has_room():
            done += self.poll(0.5)
        self._send(task)
        return done

    def _send(self, task: Task) -> None:
        w = min((w for w in self.workers if w.usable), key=lambda w: len(w.inflight))
        try:
            w.tasks.send(task)
        except OSError:  # it died since the last poll: the task goes to another worker
            w.broken = True
            self._retry.append(task)
            return
        if not w.inflight:
            w.busy_since = time.monotonic()
        w.inflight.append(task)

    def poll(self, timeout: float) -> list[Outcome | Failure]:
        """Results that arrived within ``timeout`` seconds; deals with dead and hung workers."""
        done: list[Outcome | Failure] = []
        self._retire_idle()
        conns = {w.results: w for w in self.workers}
        sentinels = {w.proc.sentinel: w for w in self.workers}
        for ready in wait([*conns, *sentinels], timeout):
            if ready in conns:
                w = conns[ready]
                try:
                    while w.results.poll():
                        done += self._message(w, w.results.recv())
                except (EOFError, OSError):
                    pass  # the sentinel reports the death below
        for w in list(self.workers):
            if not w.proc.is_alive():
                try:  # results sent just before exiting are still in the pipe
                    while w.results.poll():
                        done += self._message(w, w.results.recv())
                except (EOFError, OSError):
                    pass
                done += self._replace(w, "worker_crashed", f"the screening process died (exit code {w.proc.exitcode})")
            elif w.inflight and time.monotonic() - w.busy_since > self.task_timeout:
                w.proc.kill()
                w.proc.join(timeout=5)
                done += self._replace(w, "timeout", f"screening took longer than {self.task_timeout:.0f} s")
        while self._retry and any(w.usable and len(w.inflight) < PREFETCH for w in self.workers):
            self._send(self._retry.popleft())
        return done

    def _message(self, w: _Worker, msg: tuple[Any, ...]) -> list[Outcome | Failure]:
        kind = msg[0]
        if kind == "ready":
            w.ready = True
            self.detector_names = tuple(msg[1])
            w.pid = int(msg[2])
            self.worker_pids.append(w.pid)
            w.busy_since = time.monotonic()
            return []
        if kind == "fatal":
            raise FatalBatchError(msg[1], msg[2])
        outcome: Outcome = msg[1]
        if w.inflight and w.inflight[0].task_id == outcome.task_id:
            w.inflight.popleft()
        w.busy_since = time.monotonic()
        w.completed += 1
        if self.max_tasks and w.completed >= self.max_tasks and not w.retiring:
            w.retiring = True
            self.workers.append(self._spawn())  # loads its models while the old one finishes
            self.recycled += 1
        return [outcome]

    def _retire_idle(self) -> None:
        for w in [w for w in self.workers if w.retiring and not w.inflight]:
            self.workers.remove(w)
            try:
                w.tasks.send(None)
            except OSError:
                pass
            w.tasks.close()
            self._retired.append(w)
        for w in [w for w in self._retired if not w.proc.is_alive()]:
            w.proc.join(timeout=0)
            w.results.close()
            self._retired.remove(w)

    def _replace(self, w: _Worker, code: str, message: str) -> list[Failure]:
        """The head task of a dead worker is the one that killed it; the rest go to other workers."""
        failures: list[Failure] = []
        if w.inflight:
            failures.append(Failure(w.inflight.popleft(), code, message))
        self._retry.extend(w.inflight)
        w.inflight.clear()
        self.workers.remove(w)
        w.tasks.close()
        w.results.close()
        w.proc.join(timeout=1)
        if not w.ready:
            raise FatalBatchError("worker_start_failed", f"a worker died while starting (exit code {w.proc.exitcode})")
        if not w.retiring:  # a retiring worker's replacement is already starting
            self.workers.append(self._spawn())
        self.replaced += 1
        return failures
