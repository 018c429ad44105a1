"""Median ms per photo of the gesture detector on a 12 MP-sized working copy (long side 1600):
a photo with no person, one hand, four hands (a devset hand photo tiled 2x2), and a crowd of small
hands (the same photo tiled 4x3, so only the face-guided tiles can see them). Also times the
devset's group photos (people, mostly no gestures) and animal photos (no person).

    python scripts/bench_gestures.py [--devset PATH] [--repeat N]

Timings on the shared 2-core machine are pessimistic.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

DEFAULT_DEVSET = Path(__file__).resolve().parents[2] / "shared" / "devset"
LONG_SIDE = 1600


def _canvas(tile: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """``tile`` repeated cols x rows into a 1600x1200 RGB canvas, each copy scaled to fit its cell
    (aspect kept, centred on the photo's mean colour)."""
    w, h = LONG_SIDE, LONG_SIDE * 3 // 4
    cw, ch = w // cols, h // rows
    f = min(cw / tile.shape[1], ch / tile.shape[0])
    small = cv2.resize(
        tile,
        (round(tile.shape[1] * f), round(tile.shape[0] * f)),
        interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR,
    )
    cell = np.empty((ch, cw, 3), np.uint8)
    cell[:] = tile.reshape(-1, 3).mean(axis=0).astype(np.uint8)
    y, x = (ch - small.shape[0]) // 2, (cw - small.shape[1]) // 2
    cell[y : y + small.shape[0], x : x + small.shape[1]] = small
    return np.ascontiguousarray(np.tile(cell, (rows, cols, 1)))


def _no_person(seed: int = 0) -> np.ndarray:
    """A smooth synthetic scene (sky, wall, shapes) at 1600x1200: nothing hand- or face-like."""
    rng = np.random.default_rng(seed)
    noise = cv2.resize(
        rng.integers(0, 255, (12, 16, 3), dtype=np.uint8), (LONG_SIDE, 1200), interpolation=cv2.INTER_CUBIC
    )
    for _ in range(12):
        x, y = (int(v) for v in rng.integers(0, 1400, 2))
        cv2.rectangle(noise, (x, y), (x + 200, y + 120), tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
    return noise


def _count_model_calls(detector: object) -> dict[str, int]:
    """Count model runs per photo by wrapping the detector's model-calling methods (bench only)."""
    from screening.detect.gestures import detector as gestures

    calls: dict[str, int] = {}

    def counted(fn: Callable[..., Any], key: str) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            calls[key] = calls.get(key, 0) + 1
            return fn(*a, **k)

        return wrapper

    detector.palms.run = counted(detector.palms.run, "palm")  # type: ignore[attr-defined]
    detector.landmarker.run = counted(detector.landmarker.run, "landmarks")  # type: ignore[attr-defined]
    gestures.find_faces = counted(gestures.find_faces, "faces")  # type: ignore[assignment]
    return calls


def _per_run_costs(detector: Any) -> str:
    """Median ms of one run of each model right now, so a reader can tell a loaded machine."""
    from screening.detect.gestures.landmarks import HandRoi
    from screening.detect.gestures.palm import Region
    from screening.detect.gestures.search import find_faces

    img = np.zeros((192, 192, 3), np.uint8)
    face_img = np.zeros((480, 640, 3), np.uint8)
    jobs = {
        "palm": lambda: detector.palms.run(img, Region(0, 0, 192, 192)),
        "landmarks": lambda: detector.landmarker.run(img, HandRoi(96, 96, 192, 0.0)),
        "faces": lambda: find_faces(detector._face_locator(), face_img),
    }
    out = []
    for name, job in jobs.items():
        times = []
        for _ in range(15):
            t0 = time.perf_counter()
            job()
            times.append((time.perf_counter() - t0) * 1000)
        out.append(f"{name} {statistics.median(times):.1f} ms")
    return "one model run now: " + ", ".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devset", type=Path, default=DEFAULT_DEVSET)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--threads", type=int, default=0, help="Runtime threads (0: onnxruntime chooses; batch workers use 1)"
    )
    args = parser.parse_args()

    from screening.detect.gestures.detector import GestureDetector
    from screening.image import LoadOptions, load_image
    from screening.registry import load_registry
    from screening.runtime.sessions import Runtime

    detector = GestureDetector(Runtime(threads=args.threads), load_registry(None))
    detector.warmup()
    calls = _count_model_calls(detector)
    opts = LoadOptions(work_side=LONG_SIDE)
    cases: dict[str, list[np.ndarray]] = {"no person (synthetic)": [_no_person(0), _no_person(1)]}
    gesture = args.devset / "gesture" / "clean"
    hand_photo = gesture / "mediapipe_victory.jpg"
    if hand_photo.exists():
        rgb = load_image(hand_photo).rgb
        cases["1 hand (photo upscaled)"] = [_canvas(rgb, 1, 1)]
        cases["4 hands (photo tiled 2x2)"] = [_canvas(rgb, 2, 2)]
        cases["12 small hands (photo tiled 4x3)"] = [_canvas(rgb, 4, 3)]
    else:
        print(f"devset not found at {args.devset}; timing the synthetic case only")
    for folder, name in (("face/noface", "no person (devset animals)"), ("face/group", "group photos (devset)")):
        files = sorted((args.devset / folder).glob("*")) if (args.devset / folder).is_dir() else []
        if files:
            cases[name] = [load_image(f).rgb for f in files]

    for name, images in cases.items():
        loaded = [load_image(img, opts) for img in images]
        times: list[float] = []
        cpu: list[float] = []
        hands: list[int] = []
        for _ in range(args.repeat):
            for img in loaded:
                calls.clear()
                t0, c0 = time.perf_counter(), time.process_time()
                found = detector.read_hands(img)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
                hands.append(len(found))
        per_photo = hands[: len(loaded)]
        runs = " ".join(f"{k}={v}" for k, v in sorted(calls.items()))
        print(
            f"{name:34s} median {statistics.median(times):6.1f} ms wall, {statistics.median(cpu):6.1f} ms cpu "
            f"(n={len(times)}; hands per photo {per_photo}; model runs, last photo: {runs})"
        )
    print(_per_run_costs(detector))
    print(
        "shared 2-core machine: timings are pessimistic (compare the per-run costs above with an idle "
        "machine's: palm ~4.7 ms, landmarks ~4.2 ms, faces ~2.5 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
