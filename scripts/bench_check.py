"""Latency and memory of `screening check` on a 12-megapixel JPEG with 50 enrolled candidates.

Builds (in a temporary folder, from ../shared/devset photos read at run time) a registry of 50
candidates enrolled through the normal path, and a 4000x3000 JPEG of a group photo. Prints the
median per stage and end to end for the warm library, the median wall time of the whole CLI process
(start-up included), and peak resident memory of each.

    python scripts/bench_check.py [--devset PATH] [--runs 15] [--detectors faces,logos,text,gestures|all]
                                  [--logos 40]   # also enrol 40 synthetic party logo images
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _devset import DEFAULT_DEVSET, manifest

from screening.detect.faces.detector import FaceEngine
from screening.errors import EnrollmentError
from screening.registry import init_registry
from screening.registry.candidates import add_candidate
from screening.registry.model import Candidate

GROUP = "face/group/face_recognition_obama_and_biden.jpg"


def enrol_logos(reg: Path, total: int) -> None:
    """``total`` procedurally drawn party logo images (as scripts/eval_logos.py enrols them)."""
    import eval_logos  # beside this script, on sys.path (see the top)

    eval_logos.enrol_synthetic_logos(reg, total)
    print(f"registry: {total} logo images enrolled")


def build(devset: Path, work: Path, n_candidates: int) -> tuple[Path, Path]:
    from PIL import Image

    photo = work / "group_12mp.jpg"
    Image.open(devset / GROUP).convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS).save(photo, quality=90)
    reg = work / "registry"
    init_registry(reg)
    engine = FaceEngine.configured()
    enrolled = 0
    for f in manifest(devset):
        if enrolled >= n_candidates or "/identity/" not in f.rel:
            continue
        cid = f"c{enrolled:02d}-" + Path(f.rel).stem.lower().replace("_", "-")[:20]
        try:
            add_candidate(reg, Candidate(id=cid, name=cid, office="dpr", election="pileg2024"), [f.path], engine)
            enrolled += 1
        except EnrollmentError:
            continue
    print(f"registry: {enrolled} candidates enrolled from devset photos; photo: {photo.stat().st_size / 1e6:.1f} MB")
    return reg, photo


def library_bench(reg: Path, photo: Path, runs: int, detectors: list[str]) -> None:
    from screening import Screener

    t = time.perf_counter()
    screener = Screener(reg, detectors=detectors)
    screener.warmup()
    print(f"library: build + warm-up {1000 * (time.perf_counter() - t):.0f} ms (models load once per process)")
    data = photo.read_bytes()  # read once: the figure is decode + detect + rules, not the disk
    stages: dict[str, list[float]] = {}
    totals = []
    verdict = None
    for _ in range(runs):
        t = time.perf_counter()
        verdict = screener.screen(data)
        totals.append(1000 * (time.perf_counter() - t))
        for k, v in verdict.timings_ms.items():
            stages.setdefault(k, []).append(v)
    assert verdict is not None
    print(f"library: verdict {verdict.verdict}, {len(verdict.findings)} finding(s) over {runs} runs")
    for k, v in stages.items():
        print(f"  median {k:10} {statistics.median(v):7.1f} ms")
    print(f"  median end-to-end {statistics.median(totals):7.1f} ms (target <= 300 ms)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS {peak:.0f} MB (target <= 600 MB)")


def cli_bench(reg: Path, photo: Path, runs: int) -> None:
    exe = [sys.executable, "-m", "screening", "check", str(photo), "-r", str(reg), "--json"]
    walls = []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run(exe, capture_output=True, text=True, env=os.environ)
        walls.append(time.perf_counter() - t)
        if proc.returncode not in (0, 1):
            print(proc.stderr)
            raise SystemExit("CLI failed")
    doc = json.loads(proc.stdout)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"CLI process: verdict {doc['verdict']}; median wall {statistics.median(walls):.2f} s over {runs} runs "
          f"(target <= 1.5 s); peak RSS {peak:.0f} MB")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devset", type=Path, default=DEFAULT_DEVSET)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--cli-runs", type=int, default=5)
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--detectors", default="faces", help="comma-separated; 'all' for every detector")
    ap.add_argument("--logos", type=int, default=0, help="also enrol this many synthetic party logo images")
    ap.add_argument("--mode", choices=["all", "library", "cli"], default="all")
    ap.add_argument("--reuse", nargs=2, type=Path, metavar=("REGISTRY", "PHOTO"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    detectors = ["faces", "logos", "text", "gestures"] if args.detectors == "all" else args.detectors.split(",")
    if args.reuse:  # the library run, in its own process
        library_bench(args.reuse[0], args.reuse[1], args.runs, detectors)
        return
    if not (args.devset / GROUP).is_file():
        print(f"devset not found at {args.devset}; nothing to benchmark")
        return
    print(f"machine: {os.cpu_count()} cores; detectors: {','.join(detectors)}")
    with tempfile.TemporaryDirectory() as tmp:
        reg, photo = build(args.devset, Path(tmp), args.candidates)
        if args.logos:
            enrol_logos(reg, args.logos)
        if args.mode in ("all", "library"):
            # A child process, so its peak memory is its own and not the enrollment's.
            subprocess.run([sys.executable, __file__, "--devset", str(args.devset), "--runs", str(args.runs),
                            "--detectors", args.detectors, "--mode", "library", "--reuse", str(reg), str(photo)],
                           check=True)  # fmt: skip
        if args.mode in ("all", "cli"):
            cli_bench(reg, photo, args.cli_runs)


if __name__ == "__main__":
    if "--reuse" in sys.argv:
        i = sys.argv.index("--reuse")
        reg_path, photo_path = Path(sys.argv[i + 1]), Path(sys.argv[i + 2])
        runs = int(sys.argv[sys.argv.index("--runs") + 1])
        det = sys.argv[sys.argv.index("--detectors") + 1]
        library_bench(
            reg_path, photo_path, runs, ["faces", "logos", "text", "gestures"] if det == "all" else det.split(",")
        )
    else:
        main()
