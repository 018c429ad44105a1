"""Measure the gesture detector on ../shared/devset/gesture: hand recall, pose accuracy on the labelled
photos (clean/), finger-count accuracy on the hand crops (asl_digits/<n>/), and median ms per photo.

    python scripts/eval_gestures.py [--devset PATH] [--verbose]

Labels come from MANIFEST.tsv (clean/) and folder names (asl_digits/). Every hand the detector sees
is listed with --verbose. Timings on a shared 2-core machine are pessimistic.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_DEVSET = Path(__file__).resolve().parents[2] / "shared" / "devset"

# MANIFEST label text -> the poses it allows (a pose equivalent for the rules counts as right),
# and the number of hands in the photo.
CLEAN_LABELS: dict[str, tuple[frozenset[str], int]] = {
    "mediapipe_pointing_up.jpg": (frozenset({"one"}), 1),
    "mediapipe_samples_hand_thumb_up.jpg": (frozenset({"thumbs_up"}), 1),
    "mediapipe_samples_hand_victory.jpg": (frozenset({"two"}), 1),
    "mediapipe_samples_two_thumbs_up.jpg": (frozenset({"thumbs_up"}), 2),
    "mediapipe_thumbs_down.jpg": (frozenset({"thumbs_down"}), 1),
    "mediapipe_thumbs_up.jpg": (frozenset({"thumbs_up"}), 1),
    "mediapipe_victory.jpg": (frozenset({"two"}), 1),
    "mediapipe_woman_hands.jpg": (frozenset({"open_palm", "four"}), 2),
}


@dataclass
class Tally:
    hands: int = 0
    found: int = 0
    right: int = 0
    extra: int = 0

    def line(self, what: str) -> str:
        recall = self.found / self.hands if self.hands else 0.0
        acc = self.right / self.hands if self.hands else 0.0
        return (
            f"{what}: hands found {self.found}/{self.hands} ({recall:.0%}), "
            f"correct {self.right}/{self.hands} ({acc:.0%}), extra hands reported {self.extra}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devset", type=Path, default=DEFAULT_DEVSET)
    parser.add_argument("--verbose", "-v", action="store_true")
    parser.add_argument("--no-refine", action="store_true", help="one landmark pass per hand")
    parser.add_argument("--mirror", action="store_true", help="flip every photo left-right first")
    parser.add_argument(
        "--signed",
        action="store_true",
        help="feed the palm model [-1, 1] instead of [0, 1] (to check the normalisation)",
    )
    parser.add_argument("--rotate", action="store_true", help="turn every photo a quarter clockwise first")
    args = parser.parse_args()
    root = args.devset / "gesture"
    if not root.is_dir():
        print(f"devset not found at {root}; skipping")
        return 0

    from screening.detect.gestures.detector import GestureConfig, GestureDetector
    from screening.image import load_image
    from screening.registry import load_registry
    from screening.runtime.sessions import Runtime

    detector = GestureDetector(Runtime(), load_registry(None), GestureConfig(refine=not args.no_refine))
    if args.signed:
        from screening.detect.gestures.palm import PalmDetector

        cfg = detector.config
        detector.palms = PalmDetector(
            detector.runtime, min_score=cfg.palm_score, nms_iou=cfg.palm_nms_iou, signed_input=True
        )
    detector.warmup()
    timings: list[float] = []

    def read(path: Path) -> list:
        image = load_image(path)
        if args.mirror:
            # Left and right swap: every pose and count must stay the same.
            image = load_image(np.ascontiguousarray(image.rgb[:, ::-1]))
        if args.rotate:
            # A quarter turn: finger counts must survive; thumbs up/down become sideways ("other").
            image = load_image(np.ascontiguousarray(np.rot90(image.rgb, k=-1)))
        t0 = time.perf_counter()
        readings = detector.read_hands(image)
        timings.append((time.perf_counter() - t0) * 1000)
        return readings

    clean = Tally()
    for name, (poses, n_hands) in sorted(CLEAN_LABELS.items()):
        if args.rotate and poses & {"thumbs_up", "thumbs_down"}:
            poses = poses | {"other"}
        path = root / "clean" / name
        if not path.exists():
            continue
        readings = read(path)
        clean.hands += n_hands
        clean.found += min(n_hands, len(readings))
        clean.right += min(n_hands, sum(r.pose.pose in poses for r in readings))
        clean.extra += max(0, len(readings) - n_hands)
        if args.verbose or sum(r.pose.pose in poses for r in readings) < n_hands or len(readings) > n_hands:
            seen = ", ".join(
                f"{r.pose.pose}[{'+'.join(r.pose.raised)}] p={r.hand.presence:.2f} {r.source}" for r in readings
            )
            print(f"  clean/{name}: want {'/'.join(sorted(poses))} x{n_hands}; saw {seen or 'nothing'}")

    crops = Tally()
    per_digit: dict[int, Tally] = {}
    for digit_dir in sorted((root / "asl_digits").glob("[0-9]")):
        digit = int(digit_dir.name)
        for path in sorted(digit_dir.iterdir()):
            readings = read(path)
            tally = per_digit.setdefault(digit, Tally())
            for t in (crops, tally):
                t.hands += 1
                t.found += bool(readings)
            best = max(readings, key=lambda r: r.hand.presence) if readings else None
            # The count must match, and a zero must not read as a partisan zero-finger pose (finger heart).
            ok = best is not None and best.pose.fingers == digit and (digit > 0 or best.pose.pose in ("fist", "other"))
            for t in (crops, tally):
                t.right += ok
                t.extra += max(0, len(readings) - 1)
            if args.verbose or not ok or len(readings) > 1:
                seen = (
                    f"{best.pose.pose}[{'+'.join(best.pose.raised)}] p={best.hand.presence:.2f} {best.source}"
                    if best
                    else "nothing"
                )
                print(f"  asl_digits/{digit}/{path.name}: want {digit} fingers; saw {seen}")

    # Photos with people (or animals) but no labelled gesture: every partisan finding there is a false
    # alarm unless someone really waves (face/group has two photos of people waving).
    alarms: list[str] = []
    quiet = 0
    for folder in ("face/group", "face/noface"):
        for path in sorted((args.devset / folder).glob("*")) if (args.devset / folder).is_dir() else []:
            image = load_image(path)
            t0 = time.perf_counter()
            findings = detector.detect(image)
            timings.append((time.perf_counter() - t0) * 1000)
            quiet += 1
            alarms += [f"{folder}/{path.name}: {f.detail['pose']}" for f in findings if f.detail["partisan"]]
    for a in alarms:
        print(f"  partisan finding on a photo without a labelled gesture: {a}")

    print(clean.line("labelled photos (pose)"))
    print(crops.line("hand crops (finger count)"))
    for digit, t in sorted(per_digit.items()):
        print("   ", t.line(f"{digit} fingers"))
    total = Tally(
        clean.hands + crops.hands, clean.found + crops.found, clean.right + crops.right, clean.extra + crops.extra
    )
    print(total.line("all"))
    print(f"photos without a labelled gesture: {len(alarms)} partisan findings on {quiet} photos")
    print(
        f"median ms per photo: {statistics.median(timings):.1f} (n={len(timings)}, max {max(timings):.1f}; "
        "shared 2-core machine, pessimistic)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
