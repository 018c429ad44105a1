"""MediaPipe's palm detector (``hand_detector.tflite``) decoded by hand: SSD anchors, box and keypoint
decoding, weighted non-maximum suppression, and a search over the whole photo plus tiles for the
small hands of group photos.

The model sees a 192x192 RGB letterbox. It returns 2016 candidates: a box (centre, size) and 7
keypoints (0 wrist, 1 index MCP, 2 middle MCP, 3 ring MCP, 4 little MCP, 5 and 6 thumb joints) as
offsets from fixed-size anchors, and one logit each.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from screening.detect.gestures.interpreter import ThreadInterpreter

INPUT_SIZE = 192
NUM_KEYPOINTS = 7


@dataclass(frozen=True)
class Palm:
    """One palm in working-image pixels: ``box`` is (x0, y0, x1, y1), ``keypoints`` is (7, 2)."""

    score: float
    box: np.ndarray
    keypoints: np.ndarray

    @property
    def size(self) -> float:
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))


@lru_cache(maxsize=1)
def palm_anchors() -> np.ndarray:
    """The 2016 anchor centres (x, y), normalised to [0, 1], in the model's output order.

    MediaPipe's SsdAnchorsCalculator with strides 8, 16, 16, 16 on a 192x192 input, two anchors per
    cell and layer (aspect ratio 1 plus the interpolated scale), ``fixed_anchor_size``: consecutive
    layers with the same stride share one grid, so the 16-stride grid has 6 anchors per cell.
    """
    out: list[np.ndarray] = []
    for stride, per_cell in ((8, 2), (16, 6)):
        n = INPUT_SIZE // stride
        ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        centres = np.stack([(xs + 0.5) / n, (ys + 0.5) / n], axis=-1).reshape(-1, 2)
        out.append(np.repeat(centres, per_cell, axis=0))
    anchors = np.concatenate(out).astype(np.float32)
    assert anchors.shape == (2016, 2)
    return anchors


def decode(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, min_score: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode raw outputs into (scores (N,), boxes (N,4) x0y0x1y1, keypoints (N,7,2)), all in the
    model's normalised [0, 1] input frame, keeping candidates scoring at least ``min_score``."""
    logits = np.clip(np.nan_to_num(raw_scores.reshape(-1).astype(np.float64), nan=-100.0), -100.0, 100.0)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        empty = np.zeros((0,), np.float32)
        return empty, np.zeros((0, 4), np.float32), np.zeros((0, NUM_KEYPOINTS, 2), np.float32)
    raw = raw_boxes.reshape(-1, 18)[keep] / INPUT_SIZE
    anchors = palm_anchors()[keep]
    cx = raw[:, 0] + anchors[:, 0]
    cy = raw[:, 1] + anchors[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = raw[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + anchors[:, None, :]
    finite = np.isfinite(boxes).all(axis=1) & np.isfinite(kps).all(axis=(1, 2))
    return scores[keep][finite].astype(np.float32), boxes[finite].astype(np.float32), kps[finite].astype(np.float32)


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one x0y0x1y1 box against many."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(palms: list[Palm], iou_threshold: float) -> list[Palm]:
    """MediaPipe's WEIGHTED suppression: each cluster of overlapping candidates becomes one palm whose
    box and keypoints are the score-weighted mean of the cluster and whose score is the best one."""
    if not palms:
        return []
    order = sorted(palms, key=lambda p: -p.score)
    boxes = np.stack([p.box for p in order])
    alive = np.ones(len(order), dtype=bool)
    out: list[Palm] = []
    for i, lead in enumerate(order):
        if not alive[i]:
            continue
        overlap = box_iou(lead.box, boxes) > iou_threshold
        overlap[i] = True  # a degenerate box (zero area) does not overlap itself
        members = np.flatnonzero(overlap & alive)
        alive[members] = False
        weights = np.array([order[m].score for m in members], dtype=np.float32)
        weights /= weights.sum()
        box = np.einsum("i,ij->j", weights, boxes[members])
        kps = np.einsum("i,ijk->jk", weights, np.stack([order[m].keypoints for m in members]))
        out.append(Palm(score=lead.score, box=box, keypoints=kps))
    return out


@dataclass(frozen=True)
class Region:
    """A rectangle of the working image (x0, y0, x1, y1) searched at the model's input size."""

    x0: int
    y0: int
    x1: int
    y1: int


class PalmDetector:
    """Runs the palm model on letterboxed regions of an RGB image. Thread-safe: the interpreter comes
    from the Runtime per thread; everything else is read-only."""

    def __init__(
        self,
        runtime: Any,
        *,
        model: str = "hand_detector",
        min_score: float = 0.5,
        nms_iou: float = 0.3,
        signed_input: bool = False,
    ) -> None:
        self.runtime = runtime
        self.model = model
        self._interp = ThreadInterpreter(runtime, model, _palm_tensors)
        self.min_score = min_score
        self.nms_iou = nms_iou
        # MediaPipe's hand_landmarker graph feeds the palm model [0, 1]; kept switchable because the
        # older palm_detection graph used [-1, 1] (scripts/eval_gestures.py --signed measures both).
        self.signed_input = signed_input

    def letterbox(self, image: np.ndarray, region: Region) -> tuple[np.ndarray, float, float, float]:
        """Region of a BGR image -> (192x192x3 RGB float tensor, scale, pad_x, pad_y), where
        model pixel = (image pixel - region origin) * scale + pad. A region no larger than the input
        is padded, not resized (tiles are cut from an image already scaled for them)."""
        crop = image[region.y0 : region.y1, region.x0 : region.x1]
        h, w = crop.shape[:2]
        scale = min(1.0, INPUT_SIZE / max(w, h))
        if scale < 1.0:
            nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
            crop = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA)
        nh, nw = crop.shape[:2]
        pad_x, pad_y = (INPUT_SIZE - nw) // 2, (INPUT_SIZE - nh) // 2
        canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.float32)
        pixels = crop[:, :, ::-1].astype(np.float32)  # BGR -> RGB
        if self.signed_input:
            canvas[:] = -1.0
            canvas[pad_y : pad_y + nh, pad_x : pad_x + nw] = pixels / 127.5 - 1.0
        else:
            canvas[pad_y : pad_y + nh, pad_x : pad_x + nw] = pixels / 255.0
        return canvas, scale, float(pad_x), float(pad_y)

    def run(
        self, image: np.ndarray, region: Region, to_work: float = 1.0, min_score: float | None = None
    ) -> list[Palm]:
        """Palms in one region of a BGR ``image``, suppressed within the region, in working pixels:
        ``to_work`` maps ``image`` pixels to working pixels (``image`` may be a scaled copy)."""
        tensor, scale, pad_x, pad_y = self.letterbox(image, region)
        interp, (inp, boxes_out, scores_out) = self._interp.get()
        interp.set_tensor(inp, tensor[None])
        interp.invoke()
        raw_boxes = interp.get_tensor(boxes_out)
        raw_scores = interp.get_tensor(scores_out)
        scores, boxes, kps = decode(raw_boxes, raw_scores, self.min_score if min_score is None else min_score)
        palms: list[Palm] = []
        origin = np.array([region.x0, region.y0], np.float32)
        pad = np.array([pad_x, pad_y], np.float32)
        for s, b, k in zip(scores, boxes, kps, strict=True):
            b_img = ((b.reshape(2, 2) * INPUT_SIZE - pad) / scale + origin) * to_work
            k_img = ((k * INPUT_SIZE - pad) / scale + origin) * to_work
            palms.append(Palm(score=float(s), box=b_img.reshape(4), keypoints=k_img))
        return weighted_nms(palms, self.nms_iou)


def _palm_tensors(interp: Any) -> tuple[int, int, int]:
    """(input, raw boxes, raw scores) tensor indices; the outputs are told apart by their sizes."""
    by_size = {int(np.prod(o["shape"])): o["index"] for o in interp.get_output_details()}
    return int(interp.get_input_details()[0]["index"]), by_size[2016 * 18], by_size[2016]
