"""Draw a verdict's findings onto a copy of the photo (boxes and labels, colour by kind; a logo's
outline as found, tilted or bent, where the detector gives one)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from screening.findings import FindingKind, Verdict, outline_of
from screening.image import LoadedImage

_COLORS = {  # BGR
    FindingKind.FACE: (0, 0, 255),
    FindingKind.LOGO: (0, 165, 255),
    FindingKind.TEXT: (255, 0, 255),
    FindingKind.GESTURE: (255, 128, 0),
}


def draw(bgr: np.ndarray, verdict: Verdict, scale: float) -> np.ndarray:
    """A copy of ``bgr`` (whose pixels are original / ``scale``) with every finding boxed and labelled."""
    out = bgr.copy()
    thick = max(2, round(max(out.shape[:2]) / 500))
    for f in verdict.findings:
        x, y, w, h = (round(v / scale) for v in (f.box.x, f.box.y, f.box.w, f.box.h))
        color = _COLORS.get(f.kind, (0, 255, 0))
        outline = outline_of(f.detail)
        if outline is not None:
            pts = np.round(np.array(outline) / scale).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(out, [pts], True, color, thick, cv2.LINE_AA)
        else:
            cv2.rectangle(out, (x, y), (x + w, y + h), color, thick)
        label = f"{f.kind.value}: {f.label} {f.score:.2f}"
        font_scale = max(0.5, thick / 3)
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, max(1, thick // 2))
        ty = y - 4 if y - th - 8 > 0 else y + h + th + 4
        cv2.rectangle(out, (x, ty - th - 4), (x + tw + 4, ty + base), color, -1)
        cv2.putText(out, label, (x + 2, ty - 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 255, 255),
                    max(1, thick // 2), cv2.LINE_AA)  # fmt: skip
    return out


def write_annotated(image: LoadedImage, verdict: Verdict, dest: Path) -> Path:
    """Write the working copy of ``image`` with the verdict drawn on it to ``dest`` (JPEG, PNG or WebP)."""
    annotated = draw(image.bgr, verdict, image.scale)
    ext = dest.suffix.lower() or ".jpg"
    ok, buf = cv2.imencode(ext if ext in (".jpg", ".jpeg", ".png", ".webp") else ".jpg", annotated)
    if not ok:
        raise OSError(f"cannot encode {dest}")
    dest.write_bytes(buf.tobytes())
    return dest
