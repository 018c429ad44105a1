"""Where to look for hands that the whole-photo pass is too coarse to see.

The palm model sees the photo as a 192x192 letterbox, so in a 1600-pixel group photo a 60-pixel hand
shrinks to 7 pixels and is lost. People's hands are about as big as their faces and near them, so a
cheap face pass (YuNet, ~3-10 ms) tells both where people are and how far to zoom: each small face
asks for a square around it, and the squares are tiled so that a face comes out about
``face_px`` model pixels wide. A photo without people gets no tiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from screening.detect.gestures.palm import INPUT_SIZE, Region

FACE_INPUT = 640
_STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class Face:
    """A face box in working pixels (x0, y0, x1, y1) and its score."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    def person_area(self, width: int, height: int) -> tuple[float, float, float, float]:
        """Where this person's hands can be (x0, y0, x1, y1), clipped to the photo: about two and a
        half face widths up and sideways, four down."""
        w = self.width
        return (
            max(0.0, self.x0 - 2.5 * w),
            max(0.0, self.y0 - 2.0 * w),
            min(float(width), self.x1 + 2.5 * w),
            min(float(height), self.y1 + 4.0 * w),
        )

    def has_hand_near(self, palm_boxes: list[np.ndarray], width: int, height: int) -> bool:
        """True when one of ``palm_boxes`` (x0, y0, x1, y1) is centred in this person's area."""
        x0, y0, x1, y1 = self.person_area(width, height)
        return any(x0 <= (b[0] + b[2]) / 2 <= x1 and y0 <= (b[1] + b[3]) / 2 <= y1 for b in palm_boxes)

    def scaled(self, factor: float) -> Face:
        return Face(self.x0 * factor, self.y0 * factor, self.x1 * factor, self.y1 * factor, self.score)


def find_faces(runtime: Any, bgr: np.ndarray, *, model: str = "face_detector", min_score: float = 0.6) -> list[Face]:
    """Faces (no landmarks, no suppression beyond a greedy IoU 0.3) from YuNet on a 640 letterbox
    (top-left aligned, BGR 0-255, as OpenCV's FaceDetectorYN feeds it)."""
    h, w = bgr.shape[:2]
    scale = FACE_INPUT / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = np.zeros((FACE_INPUT, FACE_INPUT, 3), np.uint8)
    if (nw, nh) == (w, h):
        canvas[:nh, :nw] = bgr
    else:
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        canvas[:nh, :nw] = cv2.resize(bgr, (nw, nh), interpolation=interp)
    session = runtime.onnx(model)
    blob = canvas.transpose(2, 0, 1)[None].astype(np.float32)
    outs = dict(
        zip(
            [o.name for o in session.get_outputs()],
            session.run(None, {session.get_inputs()[0].name: blob}),
            strict=True,
        )
    )
    boxes: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    for s in _STRIDES:
        cls = np.clip(outs[f"cls_{s}"].reshape(-1), 0, 1)
        obj = np.clip(outs[f"obj_{s}"].reshape(-1), 0, 1)
        score = np.sqrt(cls * obj)
        keep = np.flatnonzero(score >= min_score)
        if keep.size == 0:
            continue
        cols = FACE_INPUT // s
        raw = outs[f"bbox_{s}"].reshape(-1, 4)[keep]
        cx = (keep % cols + raw[:, 0]) * s
        cy = (keep // cols + raw[:, 1]) * s
        bw, bh = np.exp(raw[:, 2]) * s, np.exp(raw[:, 3]) * s
        boxes.append(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1) / scale)
        scores.append(score[keep])
    if not boxes:
        return []
    all_boxes = np.concatenate(boxes)
    all_scores = np.concatenate(scores)
    faces: list[Face] = []
    for i in np.argsort(-all_scores):
        b = all_boxes[i]
        if any(_iou(b, np.array([f.x0, f.y0, f.x1, f.y1])) > 0.3 for f in faces):
            continue
        faces.append(Face(*(float(v) for v in b), score=float(all_scores[i])))
    return faces


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def plan_tiles(
    width: int,
    height: int,
    faces: list[Face],
    *,
    face_px: float = 40.0,
    max_tiles: int = 12,
    overlap: float = 0.25,
    max_side: float = 0.5,
) -> tuple[list[Region], float]:
    """Square tiles covering the space around every face too small for the whole-photo pass.

    A face is small when, in the whole-photo letterbox, it is narrower than ``face_px`` model pixels.
    Tiles are sized so the median small face is ``face_px`` wide in them, laid on a grid with
    ``overlap`` over the union of the people's areas (``max_side`` of the photo's long side at most),
    and only tiles touching a person's area are kept (duplicates dropped); if more than ``max_tiles``
    are needed, tiles grow until they fit. Returns the tiles and their side (tiles at the photo's edge
    may be cut shorter).
    """
    long_side = max(width, height)
    small = [f for f in faces if f.width * INPUT_SIZE / long_side < face_px]
    if not small:
        return [], 0.0
    side = float(np.median([f.width for f in small])) * INPUT_SIZE / face_px
    # Tiles zoom at least 2x over the whole-photo pass: a face detector that calls a fist a face (or a
    # face much larger than the hands) must not leave the tiles as coarse as the pass they extend.
    side = min(side, long_side * max_side)
    # A person's area: hands reach about two face widths up and sideways and four down.
    areas = [f.person_area(width, height) for f in small]
    ux0, uy0 = min(a[0] for a in areas), min(a[1] for a in areas)
    ux1, uy1 = max(a[2] for a in areas), max(a[3] for a in areas)
    while True:
        tiles = _grid(ux0, uy0, ux1, uy1, side, overlap, width, height)
        tiles = list(dict.fromkeys(t for t in tiles if any(_touches(t, a) for a in areas)))
        if len(tiles) <= max_tiles or side >= long_side:
            return tiles[:max_tiles], side
        side *= 1.25


def _grid(
    x0: float, y0: float, x1: float, y1: float, side: float, overlap: float, width: int, height: int
) -> list[Region]:
    step = side * (1.0 - overlap)

    def starts(lo: float, hi: float, limit: int) -> list[float]:
        span = hi - lo
        if span <= side:
            centre = (lo + hi) / 2
            return [min(max(0.0, centre - side / 2), max(0.0, limit - side))]
        n = math.ceil((span - side) / step) + 1
        real_step = (span - side) / (n - 1)
        return [lo + i * real_step for i in range(n)]

    out: list[Region] = []
    for ty in starts(y0, y1, height):
        for tx in starts(x0, x1, width):
            rx0, ry0 = int(max(0, tx)), int(max(0, ty))
            rx1, ry1 = int(min(width, tx + side)), int(min(height, ty + side))
            if rx1 - rx0 >= 8 and ry1 - ry0 >= 8:
                out.append(Region(rx0, ry0, rx1, ry1))
    return out


def _touches(t: Region, a: tuple[float, float, float, float]) -> bool:
    ix = min(t.x1, a[2]) - max(t.x0, a[0])
    iy = min(t.y1, a[3]) - max(t.y0, a[1])
    return ix > 0 and iy > 0
