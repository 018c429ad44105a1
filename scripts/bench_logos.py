"""Speed of the logo detector: median ms per 12-megapixel photo, at 10, 20 and 40 enrolled logo images.

The photo is decoded once (as the screener does; not part of the detector's time) and the detector
sees the 1600-pixel working copy. The detector reports where each call spent its time (keypoints and
index query, verification, closer look at small-logo windows: ``StageTimes``) so that the growth with
the number of logos is visible where it happens: only the index queries depend on it.

    python scripts/bench_logos.py [--runs 9] [--logos 10,20,40] [--devset PATH] [--set detect_side=1024]
    python scripts/bench_logos.py --against HEAD~1 [--rounds 4] [--runs 9] [--logos 40]
    python scripts/bench_logos.py --real [--every 2]

The bench photo is one synthetic scene; real photos are busier (thousands of keypoints on crowds,
grilles and jerseys, more pose hypotheses and closer looks). ``--real`` times the detector on the
devset's photos instead (every ``--every``-th; the decoded images, as the screener passes them): the
brand photos with the devset's brands enrolled, and every other photo with the 40 synthetic party
logos enrolled (none shows one). It prints mean, median, 90th percentile and maximum per photo.

``--against REV`` times this checkout and git revision REV (checked out in a temporary worktree)
in alternating runs of this script, the same photo for both: this shared machine's speed drifts by
20 % within the hour, so only interleaved runs compare two versions of the detector.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_logos as ev
import gen_logo_scenes as gen

from screening.detect.logos.detector import StageTimes
from screening.image import load_image


def twelve_megapixel_photo(devset: Path, logos: dict[str, list[np.ndarray]]) -> bytes:
    """A 4000x3000 JPEG: a devset photo (or a procedural scene) with two enrolled logos and distractors."""
    rng = np.random.default_rng(7)
    photos = gen.devset_backgrounds(devset) if devset.is_dir() else []
    bg = gen.photo_background(photos[0], rng) if photos else gen.procedural_background(rng)
    scene = gen.make_scene(rng, logos, gen.distractor_set(), bg, positives=2)
    big = cv2.resize(scene.bgr, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    _, buf = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return buf.tobytes()


def bench(n_logos: int, runs: int, devset: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "reg"
        logos = ev.synthetic_registry(root, n_logos)
        det = ev.detector_for(root)
        data = twelve_megapixel_photo(devset, logos)
        t = time.perf_counter()
        image = load_image(data)
        decode_ms = (time.perf_counter() - t) * 1000
        det.warmup()
        det.detect(image)
        total, describe, verify, zoom, cpu = [], [], [], [], []
        n_windows = 0
        found = 0
        for _ in range(runs):
            times = StageTimes()
            c0 = time.process_time()
            t0 = time.perf_counter()
            found = len(det.detect(image, times=times))
            total.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            describe.append(times.describe_ms)
            verify.append(times.verify_ms)
            zoom.append(times.closer_ms)
            n_windows = times.windows
        return {
            "logos": n_logos,
            "descriptors": len(det.index),
            "decode_ms": decode_ms,
            "detect_ms": statistics.median(total),
            "cpu_ms": statistics.median(cpu),
            "describe_ms": statistics.median(describe),
            "verify_ms": statistics.median(verify),
            "zoom_ms": statistics.median(zoom),
            "windows": n_windows,
            "found": found,
        }


def real_photos(devset: Path, every: int) -> None:
    """Per-photo detect time on the devset's real photos (see the module docstring)."""
    if not (devset / "logo").is_dir():
        print(f"--real: skipped ({devset} not found)")
        return
    brand_photos = sorted((devset / "logo" / "wild" / "brand").iterdir())[::every]
    others = ev.devset_photos(devset, ("face", "text", "gesture"))[::every]
    print("devset photos, one detect call each (decoded beforehand); ms per photo (machine shared: pessimistic)")
    print(f"{'':34} {'photos':>6} {'mean':>6} {'median':>6} {'p90':>6} {'max':>6} {'cpu':>6} {'windows':>7}")
    for label, photos, enrol in (
        ("brand photos, 2 brands enrolled", brand_photos, lambda root: ev.brand_registry(root, devset)),
        ("other photos, 40 party logos", others, lambda root: ev.synthetic_registry(root, 40)),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "reg"
            enrol(root)
            det = ev.detector_for(root)
            det.warmup()
            images = [load_image(p) for p in photos]
            det.detect(images[0])
            wall, cpu, windows = [], [], []
            for image in images:
                times = StageTimes()
                c0 = time.process_time()
                t0 = time.perf_counter()
                det.detect(image, times=times)
                wall.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
                windows.append(times.windows)
        p90 = float(np.percentile(wall, 90))
        print(
            f"{label:34} {len(wall):>6} {statistics.mean(wall):>6.0f} {statistics.median(wall):>6.0f} {p90:>6.0f} "
            f"{max(wall):>6.0f} {statistics.mean(cpu):>6.0f} {statistics.mean(windows):>7.2f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--logos", default="10,20,40")
    ap.add_argument("--devset", type=Path, default=ev.DEFAULT_DEVSET)
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a [detectors.logos] value"
    )
    ap.add_argument("--against", metavar="REV", help="compare with this git revision, runs interleaved")
    ap.add_argument("--rounds", type=int, default=4, help="with --against: alternations")
    ap.add_argument("--real", action="store_true", help="time the devset's photos instead (see above)")
    ap.add_argument("--every", type=int, default=2, help="with --real: every n-th photo")
    args = ap.parse_args()
    if args.real:
        real_photos(args.devset, args.every)
        return
    if args.against:
        compare(args.against, args.rounds, args.runs, args.logos.split(",")[-1], args.set)
        return
    for item in args.set:
        ev.set_override(item)
    print("12-megapixel JPEG, detector on the 1600-px working copy; medians (machine shared: pessimistic)")
    cols = ("descr", "decode", "detect", "cpu", "kp+match", "verify", "zoom")
    print(f"{'logos':>5} " + " ".join(f"{c:>7}" for c in cols) + " found")
    for n in (int(x) for x in args.logos.split(",")):
        r = bench(n, args.runs, args.devset)
        print(
            f"{r['logos']:>5} {r['descriptors']:>7} {r['decode_ms']:>7.0f} {r['detect_ms']:>7.0f} {r['cpu_ms']:>7.0f} "
            f"{r['describe_ms']:>8.0f} {r['verify_ms']:>7.0f} {r['zoom_ms']:>7.0f} {r['found']}"
            f" ({r['windows']} windows)"
        )


def compare(rev: str, rounds: int, runs: int, logos: str, settings: list[str]) -> None:
    """Detect time of this checkout and of ``rev``, alternating; medians and their ratio."""
    here = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "-C", str(here), "worktree", "add", "--detach", "-q", str(other), rev], check=True)
        try:
            times: dict[str, list[tuple[float, float]]] = {"this": [], rev: []}
            for i in range(rounds):
                pair = [("this", here), (rev, other)]
                for label, tree in pair if i % 2 == 0 else pair[::-1]:  # neither always runs first
                    # Each tree's own copy of this script, with its own package: the stage timings use the
                    # detector's internals, which change between revisions (the photo and the detect
                    # and CPU columns are the same in both).
                    script = tree / "scripts" / "bench_logos.py"
                    cmd = [sys.executable, str(script), "--runs", str(runs), "--logos", logos]
                    cmd += [f"--set={item}" for item in settings]
                    env = {**os.environ, "PYTHONPATH": str(tree)}
                    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
                    cols = out.strip().splitlines()[-1].split()
                    times[label].append((float(cols[3]), float(cols[4])))
                    print(f"{label:>12}: detect {cols[3]:>4} ms, CPU {cols[4]:>4} ms", flush=True)
        finally:
            subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(other)], check=False)
    med = {k: (statistics.median(d for d, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
    print(
        f"medians: this {med['this'][0]:.0f} ms ({med['this'][1]:.0f} CPU), {rev} {med[rev][0]:.0f} ms "
        f"({med[rev][1]:.0f} CPU); this / {rev} = {med['this'][0] / med[rev][0]:.2f}"
    )


if __name__ == "__main__":
    main()
