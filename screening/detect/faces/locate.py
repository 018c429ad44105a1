"""Find faces with YuNet (OpenCV Zoo, 2023mar) at two scales.

Measured on real photos, YuNet misses faces larger than about 350 px when a photo is searched at
1280 px but finds them at 640, and misses small faces at 640. So we search twice: the whole photo
fitted into 640 px (large faces), then the working copy at its own resolution (small faces), and
merge with NMS. The model file pins a 640x640 input but its graph accepts any size that is a
multiple of 32, so the session is created with a free input size (``Runtime.onnx(free_spatial=True)``)
and the second pass is one inference instead of a dozen overlapping tiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SMALL_SIDE = 640  # pass 1: large faces
_STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class FaceBox:
    """A detected face in working-copy pixels: box (x, y, w, h), 5 landmarks (right eye, left eye,
    nose tip, right and left mouth corners, as YuNet orders them) and the detection score."""

    box: np.ndarray  # (4,) float32
    landmarks: np.ndarray  # (5, 2) float32
    score: float


def decode(
    outputs: dict[str, np.ndarray], height: int, width: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YuNet's raw outputs for an input of ``height`` x ``width`` -> boxes [N,4] (x,y,w,h),
    landmarks [N,5,2] and scores [N], in input pixels."""
    boxes, kps, scores = [], [], []
    for s in _STRIDES:
        cls = np.clip(outputs[f"cls_{s}"][0, :, 0], 0, 1)
        obj = np.clip(outputs[f"obj_{s}"][0, :, 0], 0, 1)
        score = np.sqrt(cls * obj)
        keep = np.flatnonzero(score >= threshold)
        if not len(keep):
            continue
        rows, cols = np.divmod(keep, width // s)
        rows, cols = rows.astype(np.float32), cols.astype(np.float32)
        bb = outputs[f"bbox_{s}"][0][keep]
        kp = outputs[f"kps_{s}"][0][keep].reshape(-1, 5, 2)
        cx = (cols + bb[:, 0]) * s
        cy = (rows + bb[:, 1]) * s
        w = np.exp(bb[:, 2]) * s
        h = np.exp(bb[:, 3]) * s
        boxes.append(np.stack([cx - w / 2, cy - h / 2, w, h], axis=1))
        kps.append(np.stack([(cols[:, None] + kp[:, :, 0]) * s, (rows[:, None] + kp[:, :, 1]) * s], axis=2))
        scores.append(score[keep])
    if not boxes:
        return np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32), np.zeros((0,), np.float32)
    return np.concatenate(boxes), np.concatenate(kps), np.concatenate(scores)


def _pad32(n: int) -> int:
    return (n + 31) // 32 * 32


class FaceLocator:
    """Runs YuNet through a shared onnxruntime session with a free input size; keeps no per-call
    state, so one instance serves every thread."""

    def __init__(self, session: object, *, threshold: float = 0.6, nms_iou: float = 0.3, min_face: int = 20) -> None:
        self.session = session
        self.threshold = threshold
        self.nms_iou = nms_iou
        self.min_face = min_face
        self._outputs = [o.name for o in session.get_outputs()]  # type: ignore[attr-defined]

    def _run(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Detect in ``bgr`` (any size), padded at the bottom-right to a multiple of 32."""
        h, w = bgr.shape[:2]
        blob = np.zeros((1, 3, _pad32(h), _pad32(w)), np.float32)
        blob[0, :, :h, :w] = bgr.transpose(2, 0, 1)
        raw = self.session.run(self._outputs, {"input": blob})  # type: ignore[attr-defined]
        return decode(dict(zip(self._outputs, raw, strict=True)), blob.shape[2], blob.shape[3], self.threshold)

    def locate(self, bgr: np.ndarray) -> list[FaceBox]:
        """All faces in ``bgr`` (the working copy), in its pixel coordinates."""
        h, w = bgr.shape[:2]
        f = min(SMALL_SIDE / max(w, h), 2.0)
        small = cv2.resize(bgr, (max(1, round(w * f)), max(1, round(h * f))),
                           interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)  # fmt: skip
        b, k, s = self._run(small)
        parts = [(b / f, k / f, s)]
        if max(w, h) > SMALL_SIDE * 1.25:
            b, k, s = self._run(bgr)
            # Large faces are pass 1's: at full resolution YuNet is unreliable on them.
            keep = np.maximum(b[:, 2], b[:, 3]) < SMALL_SIDE * 0.55
            parts.append((b[keep], k[keep], s[keep]))
        boxes = np.concatenate([p[0] for p in parts])
        kps = np.concatenate([p[1] for p in parts])
        scores = np.concatenate([p[2] for p in parts])
        if not len(scores):
            return []
        keep_idx = np.asarray(cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), self.threshold, self.nms_iou))
        out = [
            FaceBox(box=boxes[i].astype(np.float32), landmarks=kps[i].astype(np.float32), score=float(scores[i]))
            for i in keep_idx.reshape(-1)
            if min(boxes[i][2], boxes[i][3]) >= self.min_face
        ]
        out.sort(key=lambda fb: -fb.score)
        return out
