"""Benchmark of batch screening on a synthetic archive made in code.

Prints:
1. throughput with 1 and 2 workers (photos/s over the whole run and after worker start-up, and the ratio);
2. peak RSS per worker process (VmHWM) after the first 500 photos and at the end of a long run
   (flat memory: the end peak within 10% of the early one), plus the parent's;
3. the resume check: a CLI run killed with SIGKILL (whole process group) at a random moment, resumed
   with the same command, compared row for row with an uninterrupted run (timestamps and timings aside).

The archive: ~2 MP JPEGs (1632x1224) of synthetic scenes, some with campaign-like text, logo-like
badges and face-like shapes, plus truncated JPEGs, non-images and exact duplicates, in one zip.

    python scripts/bench_batch.py                  # a few minutes: 160 photos per throughput run
    python scripts/bench_batch.py --photos 10000   # the full memory check (long)
    python scripts/bench_batch.py --detectors ""   # the batch machinery alone (decode, thumbnails, store)

The machine is shared (2 cores, several engineers): absolute numbers are pessimistic.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from contextlib import closing
from pathlib import Path

import cv2
import numpy as np

from screening.batch import BatchOptions, run_batch
from screening.batch.pool import MAX_TASKS_PER_WORKER
from screening.batch.store import ResultStore
from screening.resources import rules_path

DAY = dt.date(2024, 1, 20)
SIZE = (1632, 1224)  # 2.0 MP
SLOGANS = ("COBLOS NOMOR 2", "PILIH PARTAI KITA", "#2024GANTIPRESIDEN", "AMIN 1", "LANJUTKAN 02", "GANJAR MAHFUD 3")


# --- the synthetic archive -------------------------------------------------------------------------


_GRAIN: tuple[np.ndarray, np.ndarray] | None = None


def _grain() -> tuple[np.ndarray, np.ndarray]:
    global _GRAIN
    if _GRAIN is None:
        g = np.random.default_rng(0).normal(0, 9, (SIZE[1], SIZE[0], 1)).repeat(3, axis=2)
        _GRAIN = (np.clip(g, 0, 255).astype(np.uint8), np.clip(-g, 0, 255).astype(np.uint8))
    return _GRAIN


def scene(rng: np.random.Generator, i: int) -> np.ndarray:
    """A photo-like scene: smooth background, shapes, texture; every few photos text, a badge or faces."""
    w, h = SIZE
    corners = rng.uniform(30, 220, (2, 2, 3)).astype(np.uint8)
    img = cv2.resize(corners, (w, h), interpolation=cv2.INTER_LINEAR)  # a smooth gradient background
    pos, neg = _grain()
    shift = (int(rng.integers(0, h)), int(rng.integers(0, w)))
    # Sensor-like grain (shifted per photo) gives JPEG sizes like real photos (~0.5 MB at 2 MP).
    img = cv2.subtract(cv2.add(img, np.roll(pos, shift, axis=(0, 1))), np.roll(neg, shift, axis=(0, 1)))
    for _ in range(int(rng.integers(4, 12))):
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(40, 500)), y + int(rng.integers(40, 400))), color, -1)
    if i % 5 == 1:  # campaign-like banner text
        cv2.rectangle(img, (100, 150), (1500, 400), (255, 255, 255), -1)
        cv2.putText(img, SLOGANS[i % len(SLOGANS)], (140, 320), cv2.FONT_HERSHEY_DUPLEX, 3.2, (20, 20, 200), 8)
    if i % 7 == 2:  # logo-like badge
        c = (int(rng.integers(200, 1400)), int(rng.integers(200, 1000)))
        cv2.circle(img, c, 150, (0, 0, 200), -1)
        cv2.circle(img, c, 110, (255, 255, 255), -1)
        cv2.putText(img, "P", (c[0] - 55, c[1] + 55), cv2.FONT_HERSHEY_DUPLEX, 5, (0, 0, 0), 12)
    if i % 9 == 3:  # face-like shapes (skin ellipse, eyes, mouth)
        for k in range(3):
            cx, cy = 300 + k * 450, 700
            cv2.ellipse(img, (cx, cy), (110, 150), 0, 0, 360, (140, 170, 215), -1)
            for ex in (-40, 40):
                cv2.circle(img, (cx + ex, cy - 30), 14, (40, 30, 30), -1)
            cv2.ellipse(img, (cx, cy + 60), (45, 18), 0, 0, 180, (60, 60, 150), 6)
    cv2.putText(img, f"{i:06d}", (w - 330, h - 40), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 4)  # unique
    return img


def build_archive(path: Path, n: int, seed: int = 7) -> dict[str, int]:
    """A zip of ``n`` files: ~2% truncated JPEGs, ~1% non-images, ~1% duplicates, the rest 2 MP photos."""
    rng = np.random.default_rng(seed)
    stats = {"photos": 0, "truncated": 0, "non_images": 0, "duplicates": 0, "bytes": 0}
    last = b""
    t0 = time.monotonic()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for i in range(n):
            name = f"event_{i // 500:03d}/IMG_{i:06d}.jpg"
            if i % 100 == 50:
                z.writestr(name.replace(".jpg", ".txt"), f"caption for photo {i}\n" * 20)
                stats["non_images"] += 1
                continue
            if i % 100 == 75 and last:
                z.writestr(name, last)
                stats["duplicates"] += 1
                continue
            _, buf = cv2.imencode(".jpg", scene(rng, i), [cv2.IMWRITE_JPEG_QUALITY, 88])
            data = buf.tobytes()
            if i % 50 == 25:
                data = data[: len(data) // 3]
                stats["truncated"] += 1
            else:
                stats["photos"] += 1
                last = data
            stats["bytes"] += len(data)
            z.writestr(name, data)
            if (i + 1) % 1000 == 0:
                print(f"  built {i + 1}/{n} ({time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)
    return stats


def subset_zip(src: Path, dst: Path, n: int) -> None:
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED) as zo:
        for info in zi.infolist()[:n]:
            zo.writestr(info, zi.read(info))


# --- measuring ---------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryMonitor(threading.Thread):
    """Samples the workers' peak RSS (VmHWM), current RSS, CPU time and the store's photo count every half
    second. Workers retire and are replaced during a long run, so memory is judged over the worker *slots*:
    the highest peak of the workers alive after the first 500 photos vs the highest peak of the workers
    alive in the last 20% of the run."""

    def __init__(self, store: Path, total: int = 0, mark: int = 500) -> None:
        super().__init__(daemon=True)
        self.store, self.total, self.mark = store, total, mark
        self.early_peak = 0  # kB
        self.late_peak = 0
        self.parent_at_mark = 0
        self.series: list[tuple[int, int, int, int]] = []  # (photos, max RSS kB, sum RSS kB, workers)
        self.cpu: dict[int, float] = {}  # pid -> user+system seconds
        self.stop = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(0.5):
            kids = [p for p in children(me) if "spawn_main" in _cmd(p)]
            hwm = {p: status_kb(p, "VmHWM") for p in kids}
            rss = {p: status_kb(p, "VmRSS") for p in kids}
            self.cpu.update({p: cpu_s(p) for p in kids if hwm.get(p)})
            if not hwm:
                continue
            n = self._count()
            if not self.early_peak and n >= self.mark:
                self.early_peak = max(hwm.values())
                self.parent_at_mark = status_kb(me, "VmHWM")
            if self.total and n >= 0.8 * self.total:
                self.late_peak = max(self.late_peak, *hwm.values())
            if self.total and n >= (len(self.series) + 1) * self.total / 10:
                self.series.append((n, max(rss.values()), sum(rss.values()), len(kids)))

    def _count(self) -> int:
        try:
            db = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True, timeout=1)
            n = db.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
            db.close()
            return int(n)
        except sqlite3.Error:
            return 0


def cpu_s(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _cmd(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


RULES: Path | None = None  # a private copy of rules.toml: others may edit the shipped one mid-benchmark
FACE = Path.home() / ".cache/screening/testdata/face_recognition-1.3.0/obama.jpg"  # from tests/conftest.py
REGISTRY: Path | None = None  # a registry with work for every detector (see build_registry)


def badge() -> np.ndarray:
    """The logo-like badge that scene() paints on every 7th photo, as a reference logo image."""
    img = np.full((400, 400, 3), 255, np.uint8)
    cv2.circle(img, (200, 200), 150, (0, 0, 200), -1)
    cv2.circle(img, (200, 200), 110, (255, 255, 255), -1)
    cv2.putText(img, "P", (145, 255), cv2.FONT_HERSHEY_DUPLEX, 5, (0, 0, 0), 12)
    return img


def build_registry(root: Path, face: Path | None) -> Path:
    """The shipped registry plus a reference logo for one party and, given a face photo, one enrolled
    candidate: with the shipped registry alone the face and logo detectors return at once, which would
    flatter the throughput."""
    from screening.registry import init_registry
    from screening.registry.logos import add_logo

    if (root / "registry.toml").exists():
        return root
    init_registry(root)
    logo = root.parent / "badge.png"
    cv2.imwrite(str(logo), badge())
    add_logo(root, "pkb", [logo])
    if face is not None and face.is_file():
        from screening.detect.faces.detector import FaceEngine
        from screening.registry.candidates import add_candidate
        from screening.registry.model import Candidate

        cand = Candidate(id="bench", name="Bench Candidate", office="dpr", election="pileg2024", party="pkb")
        add_candidate(root, cand, [face], FaceEngine.configured())
    return root


def screen(archive: Path, store: Path, workers: int, detectors: tuple[str, ...] | None, monitor: bool = False):
    """One batch run; returns (summary, photos/s overall, photos/s after start-up, monitor or None)."""
    store.unlink(missing_ok=True)
    with zipfile.ZipFile(archive) as z:
        total = len(z.infolist())
    mon = MemoryMonitor(store, total)
    mon.start()
    parent0 = os.times()
    opts = BatchOptions(
        [str(archive)],
        store=store,
        workers=workers,
        posting_date=DAY,
        quiet=True,
        detectors=detectors,
        rules=str(RULES) if RULES else None,
        registry=str(REGISTRY) if REGISTRY else None,
    )
    s = run_batch(opts)
    parent1 = os.times()
    mon.stop.set()
    mon.join()
    mon.parent_cpu = (parent1.user + parent1.system) - (parent0.user + parent0.system)
    c = s.counts
    n = c.allow + c.warn + c.error
    return s, n / s.elapsed_s, n / max(s.elapsed_s - s.startup_s, 1e-9), mon


def store_rows(store: Path) -> list[tuple]:
    """Every row of the store, without timestamps and timings."""
    with closing(ResultStore(store, readonly=True)) as rs:
        return rs.comparable_rows()


def resume_check(archive: Path, work: Path, workers: int, detectors: tuple[str, ...] | None, seed: int) -> bool:
    ref = work / "ref.sqlite"
    s, _, _, _ = screen(archive, ref, workers, detectors)
    store = work / "killed.sqlite"
    store.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "screening", "batch", str(archive), "--store", str(store), "--workers", str(workers),
           "--date", DAY.isoformat(), "--quiet", "--rules", str(RULES)]  # fmt: skip
    if REGISTRY:
        cmd += ["--registry", str(REGISTRY)]
    if detectors is not None:
        cmd += ["--detectors", ",".join(detectors)]
    delay = random.Random(seed).uniform(0.25, 0.75) * s.elapsed_s
    proc = subprocess.Popen(cmd, start_new_session=True)
    time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: parent and workers, like a power cut
    proc.wait()
    done_before = len(store_rows(store)) if store.exists() else 0
    print(f"  killed after {delay:.1f} s (of ~{s.elapsed_s:.1f} s): {done_before} rows were stored", flush=True)
    t0 = time.monotonic()
    rc = subprocess.run(cmd, check=False).returncode
    print(f"  resumed with the same command: exit {rc}, {time.monotonic() - t0:.1f} s", flush=True)
    a, b = store_rows(ref), store_rows(store)
    same = a == b
    print(f"  rows: uninterrupted {len(a)}, killed+resumed {len(b)}; identical row for row: {same}", flush=True)
    if not same:
        diff = [(x, y) for x, y in zip(a, b, strict=False) if x != y][:3]
        for x, y in diff:
            print(f"    differs: {x[:3]} vs {y[:3]}")
    return same and killed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=1000, help="files in the archive (memory run uses them all)")
    ap.add_argument("--throughput-photos", type=int, default=160, help="files per throughput run")
    ap.add_argument("--resume-photos", type=int, default=120, help="files in the resume check")
    ap.add_argument("--detectors", default=None, help="comma-separated subset; '' for none (default: all present)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the archive and stores here")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: throughput,memory,resume")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--registry", default="bench", help="'bench' (a logo, a face if --face), 'shipped', or a folder")
    ap.add_argument("--face", type=Path, default=FACE, help="a one-face photo to enrol in the bench registry")
    args = ap.parse_args()
    detectors = None if args.detectors is None else tuple(d for d in args.detectors.split(",") if d)
    skip = set(args.skip.split(","))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_batch_"))
    work.mkdir(parents=True, exist_ok=True)
    global RULES, REGISTRY
    RULES = work / "rules.toml"
    shutil.copyfile(rules_path(), RULES)
    if args.registry == "bench":
        REGISTRY = build_registry(work / "registry", args.face)
        if args.face is None or not args.face.is_file():
            # Without the candidate the face detector returns at once: throughput not comparable.
            print(f"note: no candidate enrolled: {args.face} not found (`bash scripts/test.sh` fetches it; or --face)")
    elif args.registry != "shipped":
        REGISTRY = Path(args.registry)
    print(f"registry: {REGISTRY or 'shipped'}")
    archive = work / f"archive_{args.photos}.zip"
    if not archive.exists():
        print(f"building {archive} ({args.photos} files of {SIZE[0]}x{SIZE[1]})...", file=sys.stderr, flush=True)
        stats = build_archive(archive, args.photos)
        print(f"  {stats}, {archive.stat().st_size / 1e6:.0f} MB", flush=True)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f} (shared machine: numbers are pessimistic)")
    ok = True

    if "throughput" not in skip:
        small = work / f"tp_{args.throughput_photos}.zip"
        subset_zip(archive, small, args.throughput_photos)
        rates = {}
        for w in (1, 2):
            s, overall, steady, mon = screen(small, work / f"tp{w}.sqlite", w, detectors)
            rates[w] = steady
            c = s.counts
            print(
                f"workers={w}: {c.allow + c.warn + c.error} photos (allow {c.allow}, warn {c.warn}, error {c.error},"
                f" skipped {c.skipped}, duplicates {c.duplicates}) in {s.elapsed_s:.1f} s"
                f" (start-up {s.startup_s:.1f} s): {overall:.2f} photos/s overall,"
                f" {steady:.2f} photos/s after start-up;"
                f" detectors {','.join(s.detectors) or '-'}",
                flush=True,
            )
            timings = _median_timings(work / f"tp{w}.sqlite")
            print(f"  median ms per photo: {timings}", flush=True)
            n = c.allow + c.warn + c.error
            wcpu = sum(mon.cpu.get(p, 0.0) for p in s.worker_pids) / max(n, 1) * 1000
            pcpu = mon.parent_cpu / max(n, 1) * 1000
            print(f"  CPU per photo: workers {wcpu:.0f} ms, parent {pcpu:.0f} ms (incl. start-up); on {w} free"
                  f" core(s) the CPU bound is {w * 1000 / (wcpu + pcpu):.2f} photos/s", flush=True)  # fmt: skip
        ratio = rates[2] / rates[1]
        print(f"throughput ratio 2 vs 1 workers: {ratio:.2f}x (target >= 1.8x); 2 workers {rates[2]:.2f} photos/s"
              f" (target >= 5)")  # fmt: skip

    if "memory" not in skip:
        s, overall, steady, mon = screen(archive, work / "mem.sqlite", 2, detectors, monitor=True)
        assert mon is not None
        print(f"memory run: {args.photos} files in {s.elapsed_s:.0f} s ({steady:.2f} photos/s after start-up)")
        for n, top, tot, k in mon.series:
            print(f"  after {n:>6} photos: largest worker RSS {top / 1024:.0f} MB, all {k} workers {tot / 1024:.0f} MB")
        if not mon.early_peak:
            print("  fewer than 500 photos: no early peak to compare (use --photos 10000)")
        else:
            growth = (mon.late_peak - mon.early_peak) / mon.early_peak * 100
            print(f"  peak RSS per worker: {mon.early_peak / 1024:.0f} MB after the first 500 photos,"
                  f" {mon.late_peak / 1024:.0f} MB in the last 20% of the run ({growth:+.1f}%, target within 10%);"
                  f" {len(s.worker_pids)} worker processes over the run (retired every"
                  f" {MAX_TASKS_PER_WORKER} photos)")  # fmt: skip
            ok &= growth <= 10
        parent = status_kb(os.getpid(), "VmHWM")
        print(f"  parent: peak RSS {mon.parent_at_mark / 1024:.0f} MB after 500 photos, {parent / 1024:.0f} MB now")

    if "resume" not in skip:
        small = work / f"resume_{args.resume_photos}.zip"
        subset_zip(archive, small, args.resume_photos)
        print(f"resume check (seed {args.seed}):", flush=True)
        ok &= resume_check(small, work, 2, detectors, args.seed)
    print(f"work files in {work}")
    return 0 if ok else 1


def _median_timings(store: Path) -> dict[str, float]:
    db = sqlite3.connect(store)
    per: dict[str, list[float]] = {}
    for (vj,) in db.execute("SELECT verdict_json FROM results WHERE verdict != 'error'"):
        for k, v in json.loads(vj).get("timings_ms", {}).items():
            per.setdefault(k, []).append(float(v))
    db.close()
    return {k: round(statistics.median(v), 1) for k, v in per.items()}


if __name__ == "__main__":
    raise SystemExit(main())
