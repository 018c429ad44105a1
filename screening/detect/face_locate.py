"""Find faces with YuNet (OpenCV Zoo, 2023mar) at more than one scale.

The ONNX model has a fixed 640x640 input. Measured on real photos, YuNet misses faces larger than
about 350 px when a photo is searched at 1280 px but finds them at 640, and misses small faces at
640. So we search twice: the whole photo letterboxed into 640 (large faces), then overlapping
640x640 tiles of the working copy (small faces), and merge with NMS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

INPUT = 640
_STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class FaceBox:
    """A detected face in working-copy pixels: box (x, y, w, h), 5 landmarks (right eye, left eye,
    nose tip, right and left mouth corners, as YuNet orders them) and the detection score."""

    box: np.ndarray  # (4,) float32
    landmarks: np.ndarray  # (5, 2) float32
    score: float


def _grid(stride: int) -> tuple[np.ndarray, np.ndarray]:
    n = INPUT // stride
    rows, cols = np.divmod(np.arange(n * n, dtype=np.float32), n)
    return cols, rows


_GRIDS = {s: _grid(s) for s in _STRIDES}


def decode(outputs: dict[str, np.ndarray], threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YuNet's raw outputs -> boxes [N,4] (x,y,w,h), landmarks [N,5,2], scores [N] in input pixels."""
    boxes, kps, scores = [], [], []
    for s in _STRIDES:
        cls = np.clip(outputs[f"cls_{s}"][0, :, 0], 0, 1)
        obj = np.clip(outputs[f"obj_{s}"][0, :, 0], 0, 1)
        score = np.sqrt(cls * obj)
        keep = score >= threshold
        if not keep.any():
            continue
        cols, rows = (g[keep] for g in _GRIDS[s])
        bb = outputs[f"bbox_{s}"][0][keep]
        kp = outputs[f"kps_{s}"][0][keep].reshape(-1, 5, 2)
        cx = (cols + bb[:, 0]) * s
        cy = (rows + bb[:, 1]) * s
        w = np.exp(bb[:, 2]) * s
        h = np.exp(bb[:, 3]) * s
        boxes.append(np.stack([cx - w / 2, cy - h / 2, w, h], axis=1))
        lx = (cols[:, None] + kp[:, :, 0]) * s
        ly = (rows[:, None] + kp[:, :, 1]) * s
        kps.append(np.stack([lx, ly], axis=2))
        scores.append(score[keep])
    if not boxes:
        return np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32), np.zeros((0,), np.float32)
    return np.concatenate(boxes), np.concatenate(kps), np.concatenate(scores)


def _tiles(length: int, tile: int, min_overlap: int) -> list[int]:
    """Start offsets of tiles covering ``length`` with at least ``min_overlap`` between neighbours."""
    if length <= tile:
        return [0]
    n = math.ceil((length - min_overlap) / (tile - min_overlap))
    step = (length - tile) / (n - 1)
    return [round(i * step) for i in range(n)]


class FaceLocator:
    """Runs YuNet through a shared onnxruntime session; stateless between calls (thread-safe)."""

    def __init__(self, session: object, *, threshold: float = 0.6, nms_iou: float = 0.3, min_face: int = 20,
                 tile_overlap: int = 200) -> None:  # fmt: skip
        self.session = session
        self.threshold = threshold
        self.nms_iou = nms_iou
        self.min_face = min_face
        self.tile_overlap = tile_overlap

    def _run(self, canvas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        blob = canvas.transpose(2, 0, 1)[None].astype(np.float32)
        names = [o.name for o in self.session.get_outputs()]  # type: ignore[attr-defined]
        raw = self.session.run(names, {"input": blob})  # type: ignore[attr-defined]
        return decode(dict(zip(names, raw, strict=True)), self.threshold)

    def locate(self, bgr: np.ndarray) -> list[FaceBox]:
        """All faces in ``bgr`` (the working copy), in its pixel coordinates."""
        h, w = bgr.shape[:2]
        all_boxes, all_kps, all_scores = [], [], []

        # Pass 1: the whole photo in one 640 canvas (large faces, and small photos at native size).
        f = min(INPUT / max(w, h), 2.0)
        sw, sh = max(1, round(w * f)), max(1, round(h * f))
        canvas = np.zeros((INPUT, INPUT, 3), np.uint8)
        canvas[:sh, :sw] = cv2.resize(bgr, (sw, sh), interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
        b, k, s = self._run(canvas)
        all_boxes.append(b / f)
        all_kps.append(k / f)
        all_scores.append(s)

        # Pass 2: overlapping tiles of the working copy at full resolution (small faces).
        if max(w, h) > INPUT * 1.25:
            for y0 in _tiles(h, INPUT, self.tile_overlap):
                for x0 in _tiles(w, INPUT, self.tile_overlap):
                    tile = np.zeros((INPUT, INPUT, 3), np.uint8)
                    crop = bgr[y0 : y0 + INPUT, x0 : x0 + INPUT]
                    tile[: crop.shape[0], : crop.shape[1]] = crop
                    b, k, s = self._run(tile)
                    # Large faces are pass 1's job; tiles cut them and YuNet is weak on them here.
                    keep = np.maximum(b[:, 2], b[:, 3]) < INPUT * 0.5
                    b, k, s = b[keep], k[keep], s[keep]
                    b[:, 0] += x0
                    b[:, 1] += y0
                    k[:, :, 0] += x0
                    k[:, :, 1] += y0
                    all_boxes.append(b)
                    all_kps.append(k)
                    all_scores.append(s)

        boxes = np.concatenate(all_boxes)
        kps = np.concatenate(all_kps)
        scores = np.concatenate(all_scores)
        if len(scores) == 0:
            return []
        keep_idx = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), self.threshold, self.nms_iou)
        out = []
        for i in np.asarray(keep_idx).reshape(-1):
            bx = boxes[i]
            if min(bx[2], bx[3]) < self.min_face:
                continue
            out.append(FaceBox(box=bx.astype(np.float32), landmarks=kps[i].astype(np.float32), score=float(scores[i])))
        out.sort(key=lambda fb: -fb.score)
        return out
