"""Measure the campaign-text detector: keyword recall and false hits on synthetic scenes, false hits
on the development photos (``../shared/devset/text``, which hold no campaign text), and time.

    python scripts/eval_text.py                      # 70 synthetic scenes, 40 stacked-letter ones, devset
    python scripts/eval_text.py --count 140 --stacked 120 --verbose
    python scripts/eval_text.py --bench              # ms per 12-megapixel photo (see --help)

What "expected" means: the lexicon matcher run on the lines as drawn (a perfect reader) says which
entries a scene shows; recall is the share of those the detector reports from the pixels. Every
finding on a neutral scene or a devset photo is a false hit.
Timings on a shared 2-core machine are pessimistic.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_text_scenes import STACKED, Scene, generate

from screening.detect.text.detector import TextDetector
from screening.detect.text.ocr import TextLine
from screening.findings import Finding
from screening.image import LoadedImage, load_image
from screening.registry import load_registry
from screening.rules import load_rules
from screening.runtime.sessions import Runtime

DEVSET = Path(__file__).resolve().parents[2] / "shared" / "devset"


def subjects(findings: list[Finding]) -> set[str]:
    """What findings point at: candidates, parties and ballot numbers."""
    out: set[str] = set()
    for f in findings:
        if f.candidate:
            out.add(f"candidate:{f.candidate}")
        if f.party:
            out.add(f"party:{f.party}")
        if f.number is not None:
            out.add(f"number:{f.number}")
    return out


def entries(findings: list[Finding]) -> set[str]:
    """Lexicon entries reported, plus "number N" for every ballot number (alone or next to a name)."""
    out = {str(f.detail["entry"]) for f in findings if f.detail.get("source") != "number"}
    out |= {f"number {f.number}" for f in findings if f.number is not None}
    return out


def perfect_reading(det: TextDetector, lines: list[str]) -> list[Finding]:
    """Findings a perfect reader would give: the drawn lines stacked one under the other."""
    tl = []
    for i, text in enumerate(lines):
        n = max(1, len(text))
        quad = np.array([[0, i * 50], [n * 24, i * 50], [n * 24, i * 50 + 40], [0, i * 50 + 40]], np.float32)
        tl.append(TextLine(quad, text, 1.0, 1.0, tuple((k + 0.5) / n for k in range(n))))
    return det.findings(det.matcher.match(tl), 1.0)


class RapidocrBaseline:
    """rapidocr 3.10 with its default settings (its packaged models, nothing fetched) reading the
    lines, our lexicon matching them: what the pipeline in detect/text/ocr.py is measured against."""

    def __init__(self, det: TextDetector) -> None:
        from rapidocr import RapidOCR

        self.det = det
        self.engine = RapidOCR(params={"Global.log_level": "error"})

    def read(self, image: LoadedImage) -> list[TextLine]:
        out = self.engine(image.bgr)
        if out.boxes is None:
            return []
        lines = []
        for box, text, score in zip(out.boxes, out.txts, out.scores, strict=True):
            n = max(1, len(text))
            lines.append(
                TextLine(np.asarray(box, np.float32), text, float(score), 1.0, tuple((k + 0.5) / n for k in range(n)))
            )
        return lines

    def detect(self, image: LoadedImage) -> list[Finding]:
        lines = self.read(image)
        return self.det.findings(self.det.matcher.match(lines), image.scale) if lines else []


def build(args: argparse.Namespace) -> TextDetector:
    registry = load_registry(None)
    config = load_rules(args.rules).detector_config("text") if args.rules else load_rules(None).detector_config("text")
    config.pop("enabled", None)
    det = TextDetector.from_config(Runtime(threads=args.threads), registry, config)
    det.warmup()
    return det


def run_synthetic(
    det: TextDetector | RapidocrBaseline, scenes: list[Scene], verbose: bool, name: str = "synthetic"
) -> dict[str, float]:
    shown = found = 0
    subj_shown = subj_found = 0
    false_hits = neutral = 0
    times: list[float] = []
    cpu: list[float] = []
    by_style: dict[str, list[int]] = {}
    for i, sc in enumerate(scenes):
        img = load_image(sc.image)
        t, c = time.perf_counter(), time.process_time()
        got = det.detect(img)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        want = perfect_reading(det if isinstance(det, TextDetector) else det.det, sc.lines)
        if sc.category == "neutral":
            neutral += 1
            false_hits += len(got)
            if got or verbose:
                print(f"  [{i:03d} neutral {sc.style}] {sc.lines} -> {[f.label for f in got]}")
            continue
        w, g = entries(want), entries(got)
        ws, gs = subjects(want), subjects(got)
        shown += len(w)
        found += len(w & g)
        subj_shown += len(ws)
        subj_found += len(ws & gs)
        stat = by_style.setdefault(sc.style, [0, 0])
        stat[0] += len(w)
        stat[1] += len(w & g)
        if verbose or (w - g) or (ws - gs):
            lines = [(ln.text, round(ln.score, 2)) for ln in det.read(img)] if (w - g) else []
            print(
                f"  [{i:03d} campaign {sc.style}] drawn={sc.lines} missed={sorted(w - g)} "
                f"missed_subjects={sorted(ws - gs)} "
                f"extra={sorted(g - w)} read={lines}"
            )
    print(
        f"{name}: {len(scenes)} scenes ({neutral} neutral); "
        f"entry recall {found}/{shown} = {found / max(1, shown):.1%}; "
        f"subject recall {subj_found}/{subj_shown} = {subj_found / max(1, subj_shown):.1%}; "
        f"false hits on neutral scenes: {false_hits}"
    )
    print("  recall by style: " + ", ".join(f"{k} {v[1]}/{v[0]}" for k, v in sorted(by_style.items())))
    print(
        f"  median {statistics.median(times):.0f} ms wall per 1600x1200 scene (max {max(times):.0f}); "
        f"median {statistics.median(cpu):.0f} ms CPU (all threads)"
    )
    return {"recall": found / max(1, shown), "false_hits": false_hits}


def run_devset(det: TextDetector | RapidocrBaseline, devset: Path, verbose: bool) -> None:
    folder = devset / "text"
    if not folder.is_dir():
        print(f"devset: {folder} not found, skipped")
        return
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    hits = 0
    times: list[float] = []
    cpu: list[float] = []
    for p in files:
        img = load_image(p)
        t, c = time.perf_counter(), time.process_time()
        got = det.detect(img)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        hits += len(got)
        if got or verbose:
            print(f"  {p.relative_to(devset)}: {[(f.label, f.detail.get('text')) for f in got]}")
    print(
        f"devset text: {len(files)} photos, false hits {hits}; median {statistics.median(times):.0f} ms wall, "
        f"{statistics.median(cpu):.0f} ms CPU per photo"
    )


def run_bench(det: TextDetector, repeats: int) -> None:
    """ms per 12-megapixel photo (4000x3000, decoded to the 1600 working copy) with no text, little
    text (one small sign) and several banners; decode time is excluded."""
    import cv2
    from gen_text_scenes import background, find_fonts, paste, text_panel

    rng = np.random.default_rng(7)
    fonts = find_fonts()
    registry = load_registry(None)
    from gen_text_scenes import campaign_lines

    cases: dict[str, np.ndarray] = {}
    wall = np.clip(rng.normal(150, 4, (3000, 4000, 3)), 0, 255).astype(np.uint8)
    cases["no text (wall)"] = cv2.GaussianBlur(wall, (0, 0), 2)
    # Flat colour fields and blurred shapes: the text detector fires on such blobs (as on people).
    cases["no text (busy)"] = background(rng, (4000, 3000))
    little = background(rng, (4000, 3000))
    panel, _ = text_panel(["APOTEK SEHAT"], fonts, rng, 60)
    paste(little, panel, rng, 5, 0.05, 900)
    cases["little text"] = little
    many = background(rng, (4000, 3000))
    for _ in range(4):
        panel, _ = text_panel(campaign_lines(registry, rng), fonts, rng, 70)
        paste(many, panel, rng, 10, 0.1, 1500)
    cases["several banners"] = many
    # A fixed reference operation, to read the numbers on a loaded machine: one detector pass at
    # 960x704 took 115 ms wall on this machine when idle (Nov 2026).
    session = det.ocr.runtime.onnx("text_detector")
    x = np.zeros((1, 3, 704, 960), np.float32)
    session.run(None, {"x": x})
    ref = []
    for _ in range(3):
        t = time.perf_counter()
        session.run(None, {"x": x})
        ref.append((time.perf_counter() - t) * 1000)
    print(f"reference: detector pass at 960x704 {statistics.median(ref):.0f} ms wall (115 ms when the machine is idle)")
    for name, arr in cases.items():
        _ok, enc = cv2.imencode(".jpg", arr[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        img: LoadedImage = load_image(enc.tobytes())
        det.detect(img)
        ts = []
        cs = []
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            found = det.detect(img)
            ts.append((time.perf_counter() - t) * 1000)
            cs.append((time.process_time() - c) * 1000)
        print(
            f"bench {name:16s}: median {statistics.median(ts):6.0f} ms wall (min {min(ts):.0f}), "
            f"{statistics.median(cs):.0f} ms CPU, over {repeats}; "
            f"{len(found)} findings"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description="Evaluate the campaign-text detector.")
    ap.add_argument("--count", type=int, default=70, help="synthetic scenes")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument(
        "--stacked", type=int, default=40, help="synthetic scenes with letters one under another (own set, same seed)"
    )
    ap.add_argument("--devset", type=Path, default=DEVSET)
    ap.add_argument("--rules", type=Path, default=None, help="rules.toml (default: the repository's)")
    ap.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0 = all cores)")
    ap.add_argument("--bench", action="store_true", help="only time 12-megapixel photos")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--baseline", action="store_true", help="read with rapidocr's defaults instead (comparison)")
    args = ap.parse_args()
    det: TextDetector | RapidocrBaseline = build(args)
    if args.baseline:
        det = RapidocrBaseline(det)
    if args.bench and isinstance(det, TextDetector):
        run_bench(det, args.repeats)
        return
    run_synthetic(det, generate(args.count, args.seed), args.verbose)
    if args.stacked:
        stacked = generate(args.stacked, args.seed, styles=STACKED)
        run_synthetic(det, stacked, args.verbose, "synthetic, stacked letters")
    run_devset(det, args.devset, args.verbose)


if __name__ == "__main__":
    main()
