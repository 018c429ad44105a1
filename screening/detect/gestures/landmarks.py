"""MediaPipe's 21-point hand landmark model (``hand_landmarks_detector.tflite``) on a rotated hand
region: the region from a palm (MediaPipe's DetectionsToRects + RectTransformation settings), the
affine crop to 224x224, and landmarks mapped back to working-image pixels.

Landmark order: 0 wrist; thumb 1-4 (CMC, MCP, IP, tip); index 5-8, middle 9-12, ring 13-16,
little 17-20 (MCP, PIP, DIP, tip).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from screening.detect.gestures.interpreter import ThreadInterpreter
from screening.detect.gestures.palm import Palm

INPUT_SIZE = 224

# MediaPipe hand_landmarker: palm -> hand region is rotated so that wrist -> middle MCP points up,
# scaled 2.6x around the palm box (square on the long side) and shifted half a box towards the fingers.
PALM_SCALE = 2.6
PALM_SHIFT_Y = -0.5
# Landmarks -> region (used to refine a region once the landmarks are known): 2.0x, shift -0.1.
LANDMARK_SCALE = 2.0
LANDMARK_SHIFT_Y = -0.1
_ROI_LANDMARKS = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18]


@dataclass(frozen=True)
class HandRoi:
    """A square, rotated hand region in working pixels: centre, side and rotation (radians, the
    angle by which the image is turned so the hand points up)."""

    cx: float
    cy: float
    size: float
    angle: float


@dataclass(frozen=True)
class Hand:
    """Landmarks (21, 3) in working pixels (z in the same scale as x, relative to the wrist),
    ``world`` (21, 3) in metres around the hand centre, the presence score, and the model's
    handedness score (probability of a right hand, as MediaPipe reports it)."""

    landmarks: np.ndarray
    world: np.ndarray
    presence: float
    right_score: float
    roi: HandRoi

    @property
    def box(self) -> tuple[float, float, float, float]:
        xy = self.landmarks[:, :2]
        x0, y0 = xy.min(axis=0)
        x1, y1 = xy.max(axis=0)
        # Landmarks sit on joint centres; widen by a little so the box covers the skin.
        pad = 0.12 * max(x1 - x0, y1 - y0)
        return float(x0 - pad), float(y0 - pad), float(x1 + pad), float(y1 + pad)


def _normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def _rotation(p0: np.ndarray, p1: np.ndarray) -> float:
    # MediaPipe: target angle 90 degrees minus the angle of the wrist -> middle-MCP vector (y up).
    return _normalize_radians(math.pi / 2 - math.atan2(-(p1[1] - p0[1]), p1[0] - p0[0]))


def _transform(cx: float, cy: float, w: float, h: float, angle: float, scale: float, shift_y: float) -> HandRoi:
    # RectTransformationCalculator in pixels: shift along the rotated y axis, square on the long side.
    dx = -h * shift_y * math.sin(angle)
    dy = h * shift_y * math.cos(angle)
    return HandRoi(cx=cx + dx, cy=cy + dy, size=max(w, h) * scale, angle=angle)


def roi_from_palm(palm: Palm) -> HandRoi:
    """The hand region MediaPipe derives from a palm detection."""
    x0, y0, x1, y1 = (float(v) for v in palm.box)
    angle = _rotation(palm.keypoints[0], palm.keypoints[2])
    return _transform((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, angle, PALM_SCALE, PALM_SHIFT_Y)


def roi_from_landmarks(landmarks: np.ndarray) -> HandRoi:
    """The hand region MediaPipe derives from landmarks (to refine a region or track a hand)."""
    pts = landmarks[_ROI_LANDMARKS, :2].astype(np.float64)
    angle = _rotation(landmarks[0, :2], landmarks[9, :2])
    c, s = math.cos(angle), math.sin(angle)
    # Box of the points in the hand's rotated frame, centred back in the image frame.
    centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
    rel = pts - centre
    rx = rel[:, 0] * c + rel[:, 1] * s
    ry = -rel[:, 0] * s + rel[:, 1] * c
    w, h = rx.max() - rx.min(), ry.max() - ry.min()
    mx, my = (rx.max() + rx.min()) / 2, (ry.max() + ry.min()) / 2
    cx, cy = centre[0] + mx * c - my * s, centre[1] + mx * s + my * c
    return _transform(float(cx), float(cy), float(w), float(h), angle, LANDMARK_SCALE, LANDMARK_SHIFT_Y)


def roi_matrix(roi: HandRoi) -> np.ndarray:
    """2x3 affine matrix mapping model-input pixels (224x224) to working-image pixels."""
    k = roi.size / INPUT_SIZE
    c, s = math.cos(roi.angle), math.sin(roi.angle)
    half = INPUT_SIZE / 2
    return np.array(
        [[c * k, -s * k, roi.cx - (c * half - s * half) * k], [s * k, c * k, roi.cy - (s * half + c * half) * k]],
        dtype=np.float64,
    )


def crop_roi(rgb: np.ndarray, roi: HandRoi) -> np.ndarray:
    """The 224x224 crop of ``roi`` (same channel order as the input, zero outside the image). Large
    regions are shrunk with area averaging first: a plain affine warp aliases when it downsamples a lot."""
    m = roi_matrix(roi)
    factor = roi.size / INPUT_SIZE
    if factor > 1.6:
        # Downsample the region's bounding square once, then warp at ~1:1.
        half = roi.size * 0.75
        x0, y0 = max(0, int(roi.cx - half)), max(0, int(roi.cy - half))
        x1, y1 = min(rgb.shape[1], int(roi.cx + half) + 1), min(rgb.shape[0], int(roi.cy + half) + 1)
        if x1 > x0 and y1 > y0:
            f = 1.0 / factor
            patch = rgb[y0:y1, x0:x1]
            small = cv2.resize(
                patch, (max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f))), interpolation=cv2.INTER_AREA
            )
            sx, sy = small.shape[1] / (x1 - x0), small.shape[0] / (y1 - y0)
            to_small = np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy], [0, 0, 1]], np.float64)
            m = (to_small @ np.vstack([m, [0, 0, 1]]))[:2]
            rgb = small
    return cv2.warpAffine(
        rgb,
        m,
        (INPUT_SIZE, INPUT_SIZE),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )


class HandLandmarker:
    """Runs the landmark model on hand regions of a BGR image (thread-safe via the Runtime)."""

    def __init__(self, runtime: Any, *, model: str = "hand_landmarks") -> None:
        self.runtime = runtime
        self.model = model
        self._interp = ThreadInterpreter(runtime, model, _landmark_tensors)

    def run(self, bgr: np.ndarray, roi: HandRoi) -> Hand:
        """Landmarks for the hand in ``roi`` of a BGR image."""
        crop = crop_roi(bgr, roi)[:, :, ::-1]  # the model wants RGB
        interp, (inp, screen_out, presence_out, hand_out, world_out) = self._interp.get()
        interp.set_tensor(inp, (crop.astype(np.float32) / 255.0)[None])
        interp.invoke()
        raw = interp.get_tensor(screen_out).reshape(21, 3).astype(np.float64)
        presence = float(interp.get_tensor(presence_out).reshape(-1)[0])
        right = float(interp.get_tensor(hand_out).reshape(-1)[0])
        world = interp.get_tensor(world_out).reshape(21, 3).astype(np.float64)
        m = roi_matrix(roi)
        xy = raw[:, :2] @ m[:, :2].T + m[:, 2]
        z = raw[:, 2:3] * (roi.size / INPUT_SIZE)
        return Hand(landmarks=np.hstack([xy, z]), world=world, presence=presence, right_score=right, roi=roi)


def _landmark_tensors(interp: Any) -> tuple[int, int, int, int, int]:
    """(input, screen landmarks, presence, handedness, world landmarks) tensor indices.

    Outputs by name: Identity: 63 screen landmarks; Identity_1: presence; Identity_2: handedness;
    Identity_3: 63 world landmarks (metres).
    """
    outs = {o["name"]: int(o["index"]) for o in interp.get_output_details()}
    inp = int(interp.get_input_details()[0]["index"])
    return inp, outs["Identity"], outs["Identity_1"], outs["Identity_2"], outs["Identity_3"]
