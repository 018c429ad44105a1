"""Name the pose of one hand from its 21 landmarks.

Everything is measured on the hand itself, never on image axes: joint bend angles and distances
divided by the palm size (wrist to middle-finger knuckle). So the answer does not change when the hand
is rotated, mirrored (left or right hand) or seen from the palm or the back. The one exception is
thumbs up versus thumbs down, which is about gravity, so it reads the thumb's direction in the image.

Landmark order (MediaPipe): 0 wrist; thumb 1-4 (CMC, MCP, IP, tip); index 5-8, middle 9-12,
ring 13-16, little 17-20 (MCP, PIP, DIP, tip).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

POSES: tuple[str, ...] = (
    "fist",
    "one",
    "two",
    "three",
    "metal",
    "ok_three",
    "four",
    "open_palm",
    "thumbs_up",
    "thumbs_down",
    "finger_heart",
    "phone",
    "l_sign",
    "other",
)

POSE_LABELS: dict[str, str] = {
    "fist": "clenched fist",
    "one": "one finger",
    "two": "V sign",
    "three": "three fingers",
    "metal": "metal sign",
    "ok_three": "OK sign (three fingers)",
    "four": "four fingers",
    "open_palm": "open palm",
    "thumbs_up": "thumbs up",
    "thumbs_down": "thumbs down",
    "finger_heart": "finger heart",
    "phone": "phone sign",
    "l_sign": "L sign",
    "other": "other hand pose",
}

FINGERS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "little")
_CHAINS = {
    "index": (5, 6, 7, 8),
    "middle": (9, 10, 11, 12),
    "ring": (13, 14, 15, 16),
    "little": (17, 18, 19, 20),
}

# Raised-finger sets -> pose (thumb T, index I, middle M, ring R, little L).
_BY_FINGERS: dict[frozenset[str], str] = {
    frozenset(): "fist",
    frozenset({"index"}): "one",
    frozenset({"index", "middle"}): "two",
    frozenset({"index", "middle", "ring"}): "three",
    frozenset({"thumb", "index", "middle"}): "three",  # the thumb-first way of counting (and ASL 3)
    frozenset({"middle", "ring", "little"}): "three",
    frozenset({"index", "little"}): "metal",
    frozenset({"thumb", "index", "little"}): "metal",
    frozenset({"index", "middle", "ring", "little"}): "four",
    frozenset({"thumb", "index", "middle", "ring"}): "four",
    frozenset({"thumb", "index", "middle", "ring", "little"}): "open_palm",
    frozenset({"thumb", "little"}): "phone",
    frozenset({"thumb", "index"}): "l_sign",
}


@dataclass(frozen=True)
class PoseThresholds:
    """Geometry thresholds, in degrees and palm sizes (wrist to middle knuckle), calibrated on the
    devset with scripts/eval_gestures.py (raised fingers bend 10-70 degrees in sum, curled ones 120+).

    A finger is raised when its summed bend at MCP, PIP and DIP is below ``finger_bend_max``. The
    thumb is raised when its bend at MCP and IP is below ``thumb_bend_max``, its tip is at least
    ``thumb_reach_min`` from the middle knuckle (a thumb folded over the palm or the fingers is closer),
    and it does not touch the index or middle fingertip (the O of ASL 0). Tips closer than
    ``touch_max`` touch (OK sign, finger heart). Thumbs up/down needs the thumb within
    ``thumb_vertical_max`` degrees of the image vertical. Four raised fingers held together (index
    and little finger less than ``flat_spread_min`` degrees apart) are a flat hand resting on a lap
    or a shoulder, not four or five shown to the camera (devset: shown 21-43, resting 3-8).
    """

    finger_bend_max: float = 100.0
    thumb_bend_max: float = 65.0
    thumb_reach_min: float = 0.62
    touch_max: float = 0.35
    heart_index_reach_min: float = 0.55
    heart_middle_gap_min: float = 0.45
    thumb_vertical_max: float = 50.0
    flat_spread_min: float = 15.0


@dataclass(frozen=True)
class PoseResult:
    """The pose, the raised fingers and a confidence in [0, 1] (how far each finger's measurement
    is from its threshold: 0 means at least one finger is a coin toss)."""

    pose: str
    raised: tuple[str, ...]
    confidence: float

    @property
    def fingers(self) -> int:
        return len(self.raised)


def _bend(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """Bend at ``b`` in degrees: 0 when a-b-c is a straight line."""
    u, v = b - a, c - b
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu < 1e-9 or nv < 1e-9:
        return 0.0
    cos = float(np.clip(np.dot(u, v) / (nu * nv), -1.0, 1.0))
    return float(np.degrees(np.arccos(cos)))


def finger_bends(points: np.ndarray) -> dict[str, float]:
    """Summed bend (degrees) of each long finger at MCP (against the wrist->MCP line), PIP and DIP,
    and of the thumb at MCP and IP."""
    p = points
    out: dict[str, float] = {}
    for name, (mcp, pip, dip, tip) in _CHAINS.items():
        out[name] = _bend(p[0], p[mcp], p[pip]) + _bend(p[mcp], p[pip], p[dip]) + _bend(p[pip], p[dip], p[tip])
    out["thumb"] = _bend(p[1], p[2], p[3]) + _bend(p[2], p[3], p[4])
    return out


class _Measures:
    """Bends and palm-normalised distances, averaged over one or more views of the same hand (the
    landmark model's image-space points and its metric world points err differently)."""

    def __init__(self, views: Sequence[np.ndarray]) -> None:
        self.views: list[np.ndarray] = []
        for v in views:
            v = np.asarray(v, dtype=np.float64)
            if v.shape != (21, 3):
                raise ValueError(f"expected 21 landmarks with x, y, z, got shape {v.shape}")
            palm = float(np.linalg.norm(v[9] - v[0]))
            if palm > 1e-9:
                self.views.append(v / palm)
        bends = [finger_bends(v) for v in self.views]
        self.bends = {k: float(np.mean([b[k] for b in bends])) for k in FINGERS} if bends else {}

    def dist(self, i: int, j: int) -> float:
        return float(np.mean([np.linalg.norm(v[i] - v[j]) for v in self.views]))

    def angle(self, a: tuple[int, int], b: tuple[int, int]) -> float:
        """Mean angle (degrees) between the vectors a[0]->a[1] and b[0]->b[1]."""
        return float(np.mean([_bend(v[a[0]], v[a[1]], v[a[1]] + (v[b[1]] - v[b[0]])) for v in self.views]))

    def min_dist(self, i: int, j: int) -> float:
        return float(min(np.linalg.norm(v[i] - v[j]) for v in self.views))


def classify_pose(
    points: np.ndarray,
    image_xy: np.ndarray | None = None,
    thresholds: PoseThresholds | None = None,
    *,
    also: Sequence[np.ndarray] = (),
) -> PoseResult:
    """Classify 21 landmarks (21, 3): pixels with z, or world metres, any consistent units.

    ``also`` adds other views of the same hand (e.g. world landmarks next to image landmarks): bends
    and distances are averaged over the views. ``image_xy`` (21, 2), in image pixels with y down, is
    only used to tell thumbs up from thumbs down; without it the x, y of ``points`` stand in.
    """
    t = thresholds or PoseThresholds()
    m = _Measures([points, *also])
    if not m.views:
        return PoseResult("other", (), 0.0)
    margins: list[float] = []
    raised: list[str] = []
    for name in ("index", "middle", "ring", "little"):
        margins.append(abs(m.bends[name] - t.finger_bend_max) / t.finger_bend_max)
        if m.bends[name] < t.finger_bend_max:
            raised.append(name)

    thumb_reach = m.dist(4, 9)
    # Touch is judged on the closest view: the world points tend to open an O that the image shows shut.
    thumb_touch = min(m.min_dist(4, 8), m.min_dist(4, 12)) < t.touch_max
    thumb_up = m.bends["thumb"] < t.thumb_bend_max and thumb_reach >= t.thumb_reach_min and not thumb_touch
    margins.append(
        min(
            abs(thumb_reach - t.thumb_reach_min) / t.thumb_reach_min,
            abs(m.bends["thumb"] - t.thumb_bend_max) / t.thumb_bend_max,
        )
    )
    if thumb_up:
        raised.insert(0, "thumb")
    confidence = float(np.clip(min(margins) * 2.0, 0.0, 1.0))
    fingers = frozenset(raised)
    pose = _BY_FINGERS.get(fingers, "other")

    if fingers == frozenset({"middle", "ring", "little"}) and min(m.min_dist(4, 8), m.min_dist(4, 7)) < t.touch_max:
        pose = "ok_three"
    elif pose in ("four", "open_palm") and m.angle((5, 8), (17, 20)) < t.flat_spread_min:
        pose = "other"
    elif fingers <= {"thumb", "index"} and fingers != {"thumb", "index"} and _finger_heart(m, t):
        pose = "finger_heart"
    elif fingers == frozenset({"thumb"}):
        xy = np.asarray(points, np.float64)[:, :2] if image_xy is None else np.asarray(image_xy, np.float64)
        pose = _thumb_direction(xy, t)
    return PoseResult(pose=pose, raised=tuple(f for f in FINGERS if f in fingers), confidence=confidence)


def _finger_heart(m: _Measures, t: PoseThresholds) -> bool:
    """Index half raised with the thumb tip crossing its last joints, the other three curled into the
    palm (far from the thumb tip: in the O of ASL 0 every fingertip meets the thumb)."""
    crossing = min(m.min_dist(4, 6), m.min_dist(4, 7), m.min_dist(4, 8)) < t.touch_max
    index_out = m.dist(8, 5) >= t.heart_index_reach_min and m.dist(8, 0) > m.dist(6, 0)
    # Judged on the closest view, like touching: one view seeing a fingertip at the thumb is enough.
    others_away = min(m.min_dist(4, 12), m.min_dist(4, 16)) >= t.heart_middle_gap_min
    curled = all(m.bends[f] >= t.finger_bend_max for f in ("middle", "ring", "little"))
    return crossing and index_out and others_away and curled


def _thumb_direction(xy: np.ndarray, t: PoseThresholds) -> str:
    v = xy[4] - xy[2]
    norm = float(np.linalg.norm(v))
    if norm < 1e-9:
        return "other"
    # Angle from straight up (image y grows downwards).
    up = float(np.degrees(np.arccos(np.clip(-v[1] / norm, -1.0, 1.0))))
    if up <= t.thumb_vertical_max:
        return "thumbs_up"
    if up >= 180.0 - t.thumb_vertical_max:
        return "thumbs_down"
    return "other"
