"""Open-set identification on ../shared/devset/face: TPIR and FPIR at the shipped threshold.

Protocol: enrol one photo per identity (the first that is not flagged as a near-duplicate), probe
with the identity's other photos (never the enrolled photo's twin). Mated search: a hit when the
true identity is the best candidate at or above the threshold. Non-mated searches: every probe photo
searched against a gallery without its own identity (leave-one-identity-out), every face of the
group photos of people nobody enrolled, and the no-face photos; a false alarm is any face at or
above the threshold. Prints a threshold sweep as well.

    python scripts/eval_faces.py [--devset PATH] [--threshold T]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _devset import DEFAULT_DEVSET, DevFile, manifest

from screening.detect.faces.detector import FaceConfig, FaceEngine
from screening.image import load_image
from screening.rules import load_rules

# Group photos whose people are enrolled identities: mated, so not used as non-mated searches.
KNOWN_GROUPS = ("face_recognition_", "mediapipe_samples_two_children")


def identity_of(f: DevFile) -> str | None:
    parts = f.rel.split("/")
    return parts[3] if len(parts) == 5 and parts[1] == "identity" else None


def twins(a: DevFile, b: DevFile) -> bool:
    """True when either label says one is a near-duplicate or crop of the other."""

    def names(label: str) -> set[str]:
        return set(re.findall(r"[\w\-]+\.(?:jpe?g|png)", label, re.I))

    return Path(b.rel).name in names(a.label) or Path(a.rel).name in names(b.label)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devset", type=Path, default=DEFAULT_DEVSET)
    ap.add_argument("--threshold", type=float, default=None, help="default: rules.toml [detectors.faces]")
    args = ap.parse_args()
    cfg = load_rules().detector_config("faces")
    cfg.pop("enabled", None)
    threshold = args.threshold if args.threshold is not None else FaceConfig.from_dict(cfg).match_threshold
    files = [f for f in manifest(args.devset) if f.category == "face"]
    engine = FaceEngine.configured()

    by_id: dict[str, list[DevFile]] = defaultdict(list)
    for f in files:
        if (ident := identity_of(f)) is not None:
            by_id[ident].append(f)

    t0 = time.perf_counter()
    faces_cache: dict[str, list[np.ndarray]] = {}
    largest_cache: dict[str, np.ndarray | None] = {}
    for f in files:
        img = load_image(f.path)
        boxes = engine.locate(img.bgr)
        faces_cache[f.rel] = [engine.embed(img.bgr, b) for b in boxes]
        largest_cache[f.rel] = engine.embed(img.bgr, max(boxes, key=lambda b: b.box[2] * b.box[3])) if boxes else None
    elapsed = time.perf_counter() - t0

    gallery: dict[str, np.ndarray] = {}
    probes: list[tuple[str, DevFile]] = []
    for ident, fs in sorted(by_id.items()):
        fs = sorted(fs, key=lambda f: f.rel)
        enrol = next((f for f in fs if "near-duplicate" not in f.label and largest_cache[f.rel] is not None), None)
        if enrol is None:
            continue
        gallery[ident] = largest_cache[enrol.rel]  # type: ignore[assignment]
        probes += [(ident, f) for f in fs if f is not enrol and not twins(f, enrol)]

    names = sorted(gallery)
    g = np.stack([gallery[n] for n in names])

    def best(emb: np.ndarray, exclude: str | None = None) -> tuple[str, float]:
        sims = g @ emb
        if exclude is not None:
            sims = np.where(np.array(names) == exclude, -1.0, sims)
        i = int(np.argmax(sims))
        return names[i], float(sims[i])

    mated = [(ident, [best(e) for e in faces_cache[f.rel]]) for ident, f in probes]
    nonmated: list[list[float]] = []
    for ident, f in probes:  # leave-one-identity-out
        nonmated.append([best(e, exclude=ident)[1] for e in faces_cache[f.rel]])
    stranger_faces = 0
    for f in files:
        if ("/group/" in f.rel and not Path(f.rel).name.startswith(KNOWN_GROUPS)) or "/noface/" in f.rel:
            for e in faces_cache[f.rel]:
                nonmated.append([best(e)[1]])
                stranger_faces += 1
            if not faces_cache[f.rel]:
                nonmated.append([])

    def rates(t: float) -> tuple[float, float]:
        tp = sum(any(c == ident and s >= t for c, s in res) for ident, res in mated)
        fp = sum(any(s >= t for s in sims) for sims in nonmated)
        return tp / max(len(mated), 1), fp / max(len(nonmated), 1)

    print(f"devset: {args.devset}")
    print(
        f"gallery: {len(gallery)} identities (one photo each); mated searches: {len(mated)}; "
        f"non-mated searches: {len(nonmated)} ({len(probes)} leave-one-out photos, {stranger_faces} stranger faces)"
    )
    print(f"face pipeline: {len(files)} photos in {elapsed:.1f} s")
    print("threshold  TPIR     FPIR")
    for t in (0.30, 0.33, 0.363, 0.38, 0.40, 0.42, 0.45, 0.50):
        tpir, fpir = rates(t)
        print(f"{t:9.3f}  {tpir:6.1%}  {fpir:6.1%}")
    genuine = [max((s for c, s in res if c == ident), default=-1.0) for ident, res in mated]
    impostor = [max(sims, default=-1.0) for sims in nonmated]
    print(f"lowest genuine similarity {min(genuine):.3f}; highest impostor similarity {max(impostor):.3f}")
    tpir, fpir = rates(threshold)
    print(
        f"default threshold {threshold}: TPIR {tpir:.1%} FPIR {fpir:.1%} "
        f"(targets: TPIR >= 98%, FPIR <= 1%) -> {'PASS' if tpir >= 0.98 and fpir <= 0.01 else 'FAIL'}"
    )
    misses = [
        (f.rel, res)
        for (ident, res), (_, f) in zip(mated, probes, strict=True)
        if not any(c == ident and s >= threshold for c, s in res)
    ]
    for rel, res in misses:
        print(f"  miss: {rel} best={[(c, round(s, 3)) for c, s in res]}")


if __name__ == "__main__":
    main()
