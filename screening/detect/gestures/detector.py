"""Number hand gestures: find every hand, read its 21 landmarks, name the pose, and look the pose up
in the registry's gestures table (pose -> number per election).

Pipeline per photo (working copy, long side <= 1600):
1. palm model on the whole photo (192 letterbox, ~5 ms);
2. faces (YuNet, ~3-10 ms) decide whether people are too small for step 1; if so, and step 1 saw
   no hand near them, the palm model also runs on tiles around them (at most ``max_tiles``);
3. palms from all passes are merged (weighted NMS), and each becomes a rotated hand region for the
   landmark model (~4 ms; again through the landmarks' own region when the first fit is poor);
   hands whose presence is low are dropped;
4. if the whole-photo pass found hands, it runs once more with them painted out, for a hand hidden
   behind another; hands read twice (same joints) are merged;
5. if no hand was found, the landmark model also reads the whole photo as one hand region, for
   hands that fill the frame (the palm model misses those) and for tight hand crops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Self

import cv2
import numpy as np

from screening.detect.base import reject_unknown
from screening.detect.faces.locate import FaceLocator
from screening.detect.gestures.landmarks import Hand, HandLandmarker, HandRoi, roi_from_landmarks, roi_from_palm
from screening.detect.gestures.palm import INPUT_SIZE, Palm, PalmDetector, Region, box_iou, weighted_nms
from screening.detect.gestures.pose import POSE_LABELS, POSES, PoseResult, PoseThresholds, classify_pose
from screening.detect.gestures.search import FACE_INPUT, find_faces, plan_tiles
from screening.errors import ScreeningError
from screening.findings import Box, Finding, FindingKind
from screening.image import LoadedImage
from screening.registry import Registry


@dataclass(frozen=True)
class GestureConfig:
    """Settings from ``[detectors.gestures]`` in rules.toml (see the comments there)."""

    palm_score: float = 0.4  # palm detector score to read a palm (MediaPipe: 0.5; small palms need less)
    palm_nms_iou: float = 0.3  # IoU above which palm candidates are one palm (MediaPipe's value)
    presence_min: float = 0.7  # landmark model hand presence to keep a hand (devset hands >= 0.87)
    max_hands: int = 16  # hands per photo at most (each costs one or two ~4 ms landmark runs)
    refine: bool = True  # re-read a poorly fitting hand through its landmarks' own region
    refine_below: float = 0.9  # ... when its presence is below this
    refine_moved: float = 0.5  # ... or that region moved/turned/grew by more than this (see _roi_moved)
    frame_gate_score: float = 0.2  # a weak palm at least this sure lets the whole-frame pass run
    frame_small_side: int = 480  # photos this small (hand crops) always get the whole-frame pass
    frame_pass: bool = True  # read the whole photo as one hand when no palm was found
    tiles: bool = True  # search tiles around people too small for the whole-photo pass
    face_score: float = 0.6  # YuNet score for a face that guides the tiles
    tile_face_px: float = 40.0  # faces narrower than this (model pixels) get tiles that zoom them to it
    max_tiles: int = 12  # tiles per photo at most (each ~5 ms); tiles grow to fit
    occlusion_pass: bool = True  # look again with the found hands painted out (a hand behind a hand)
    occlusion_grow: float = 1.25  # how far beyond its joints a found hand is painted out
    same_hand_dist: float = 0.15  # median joint distance (palm sizes) under which two readings are one hand
    same_hand_inside: float = 0.7  # share of joints inside another hand's outline that makes a copy
    report_other: bool = False  # also report hands whose pose has no name
    max_finger_tilt: float = 110.0  # raised fingers pointing further from up than this read as resting
    min_score: float = 0.0  # findings scoring below this are dropped
    pose: PoseThresholds = field(default_factory=PoseThresholds)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> GestureConfig:
        """Build from a rules.toml table; a ``pose`` sub-table sets :class:`PoseThresholds`."""
        raw = dict(raw)
        pose_raw = raw.pop("pose", {}) or {}
        reject_unknown("gestures", raw, {f.name for f in fields(cls)} - {"pose"})
        reject_unknown("gestures.pose", pose_raw, {f.name for f in fields(PoseThresholds)})
        return cls(**raw, pose=PoseThresholds(**pose_raw))


@dataclass(frozen=True)
class HandReading:
    """One hand as the pipeline saw it: landmarks and the named pose (for scripts and reports)."""

    hand: Hand
    pose: PoseResult
    source: str  # which pass found it: "photo", "tile", "occluded" or "frame"

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.hand.box


class GestureDetector:
    """Detects number hand gestures. Thread-safe: read-only state, models through the Runtime."""

    name = "gestures"

    def __init__(self, runtime: Any, registry: Registry, config: GestureConfig | None = None) -> None:
        self.runtime = runtime
        self.registry = registry
        self.config = config or GestureConfig()
        self.palms = PalmDetector(runtime, min_score=self.config.palm_score, nms_iou=self.config.palm_nms_iou)
        self._faces: FaceLocator | None = None
        self.landmarker = HandLandmarker(runtime)
        partisan = {g.pose for g in registry.gestures}
        unknown = partisan - set(POSES)
        if unknown:
            names = ", ".join(sorted(unknown))
            raise ScreeningError(f"the registry names hand pose(s) the detector does not know: {names}")
        self.partisan_poses = frozenset(partisan)

    @classmethod
    def from_config(cls, runtime: Any, registry: Registry, config: dict[str, Any]) -> Self:
        """Build from the ``[detectors.gestures]`` table (``enabled`` already removed)."""
        return cls(runtime, registry, GestureConfig.from_dict(config))

    def warmup(self) -> None:
        """Load the three models for this thread."""
        self.runtime.litert_interpreter(self.palms.model)
        self.runtime.litert_interpreter(self.landmarker.model)
        if self.config.tiles:
            self._face_locator()

    def _face_locator(self) -> FaceLocator:
        """YuNet through the same free-size session the face detector uses (created once; a race
        only builds a second, identical locator around the shared session)."""
        if self._faces is None:
            session = self.runtime.onnx("face_detector", free_spatial=True)
            self._faces = FaceLocator(session, threshold=self.config.face_score, min_face=0)
        return self._faces

    def detect(self, image: LoadedImage) -> list[Finding]:
        """One finding per hand whose pose is recognised; boxes in original pixels."""
        findings: list[Finding] = []
        for reading in self.read_hands(image):
            pose = reading.pose.pose
            if pose == "other" and not self.config.report_other:
                continue
            finding = self._finding(reading, image.scale, *image.work_size)
            if finding.score >= self.config.min_score:
                findings.append(finding)
        return findings

    def read_hands(self, image: LoadedImage) -> list[HandReading]:
        """Every hand found in ``image`` with its landmarks and pose (working-copy pixels)."""
        bgr = image.bgr
        h, w = bgr.shape[:2]
        cfg = self.config
        # One area-averaged 640 copy feeds the face pass and every smaller copy (resizing the full
        # working image costs more than a palm pass).
        f_base = min(1.0, FACE_INPUT / max(w, h))
        base = _resized(bgr, f_base)
        f_whole = min(1.0, INPUT_SIZE / max(w, h))
        small = _resized(base, f_whole / f_base)
        whole = Region(0, 0, small.shape[1], small.shape[0])
        candidates = self.palms.run(small, whole, 1.0 / f_whole, min_score=min(cfg.palm_score, cfg.frame_gate_score))
        photo_palms = [p for p in candidates if p.score >= cfg.palm_score]
        tile_palms: list[Palm] = []
        if cfg.tiles and max(w, h) > 2 * INPUT_SIZE:
            faces = [f.scaled(1.0 / f_base) for f in find_faces(self._face_locator(), base)]
            # People whose hands the whole-photo pass already saw need no zoom.
            boxes = [p.box for p in photo_palms]
            faces = [f for f in faces if not f.has_hand_near(boxes, w, h)]
            tiles, side = plan_tiles(w, h, faces, face_px=cfg.tile_face_px, max_tiles=cfg.max_tiles)
            if tiles:
                f_tile = INPUT_SIZE / side
                scaled = _resized(base, f_tile / f_base) if f_tile <= f_base else _resized(bgr, f_tile)
                for t in tiles:
                    x0, y0 = int(t.x0 * f_tile), int(t.y0 * f_tile)
                    x1, y1 = min(scaled.shape[1], x0 + INPUT_SIZE), min(scaled.shape[0], y0 + INPUT_SIZE)
                    region = Region(x0, y0, x1, y1)
                    tile_palms.extend(self.palms.run(scaled, region, 1.0 / f_tile))
        palms = weighted_nms(photo_palms + tile_palms, cfg.palm_nms_iou)
        readings = self._read_palms(bgr, palms, [p.box for p in photo_palms])
        if cfg.occlusion_pass and any(r.source == "photo" for r in readings):
            # A hand half hidden behind another (two thumbs up side by side) merges into the front
            # hand's palm; with the hands already read painted out, the palm model sees it.
            masked = small.copy()
            for r in readings:
                # Landmarks sit on the joints: grow the hull so the skin around them goes too.
                xy = r.hand.landmarks[:, :2]
                centre = xy.mean(axis=0)
                grown = (centre + (xy - centre) * cfg.occlusion_grow) * f_whole
                cv2.fillConvexPoly(masked, cv2.convexHull(grown.astype(np.int32)), (0, 0, 0))
            hidden = self.palms.run(masked, whole, 1.0 / f_whole)
            readings += self._read_palms(bgr, hidden, [p.box for p in hidden], source="occluded")
        readings = self._merge(readings)
        frame_cue = max(w, h) <= cfg.frame_small_side or bool(candidates)
        if not readings and cfg.frame_pass and frame_cue:
            # Hands that fill the frame (the palm model scores them low) and tight hand crops: the
            # whole photo as one hand region, upright, then turned as the best weak palm points.
            angles = [0.0]
            if candidates:
                turn = roi_from_palm(max(candidates, key=lambda p: p.score)).angle
                if abs(turn) > math.radians(30):
                    angles.append(turn)
            for angle in angles:
                hand = self._landmarks(bgr, HandRoi(w / 2, h / 2, float(max(w, h)), angle), always_refine=True)
                if hand is not None:
                    readings.append(self._reading(hand, "frame"))
                    break
        return readings[: cfg.max_hands]

    def _read_palms(
        self, bgr: np.ndarray, palms: list[Palm], whole: list[np.ndarray], source: str | None = None
    ) -> list[HandReading]:
        readings: list[HandReading] = []
        for palm in palms[: self.config.max_hands * 2]:
            hand = self._landmarks(bgr, roi_from_palm(palm))
            if hand is None:
                continue
            where = source or ("photo" if any(_overlap(palm.box, b) > 0.5 for b in whole) else "tile")
            readings.append(self._reading(hand, where))
        return readings

    def _landmarks(self, bgr: np.ndarray, roi: HandRoi, *, always_refine: bool = False) -> Hand | None:
        cfg = self.config
        hand = self.landmarker.run(bgr, roi)
        if cfg.refine and hand.presence >= cfg.presence_min * 0.5:
            # A second look through the region the landmarks themselves define (MediaPipe's
            # tracking step) when the first region was rough: low presence or a poor fit.
            better_roi = roi_from_landmarks(hand.landmarks)
            if always_refine or hand.presence < cfg.refine_below or _roi_moved(roi, better_roi, cfg.refine_moved):
                better = self.landmarker.run(bgr, better_roi)
                if better.presence >= hand.presence or better.presence >= cfg.presence_min:
                    hand = better
        return hand if hand.presence >= cfg.presence_min else None

    def _reading(self, hand: Hand, source: str) -> HandReading:
        pose = classify_pose(hand.landmarks, hand.landmarks[:, :2], self.config.pose, also=[hand.world])
        tilt = _finger_tilt(hand.landmarks, pose.raised)
        if tilt is not None and tilt > self.config.max_finger_tilt:
            # Raised fingers pointing at the floor: a hand hanging or resting (clasped over a bag,
            # on the lap), not a number held up for the camera.
            pose = PoseResult("other", pose.raised, pose.confidence)
        return HandReading(hand=hand, pose=pose, source=source)

    def _merge(self, readings: list[HandReading]) -> list[HandReading]:
        # The same hand read from two palms (photo and tile, or a palm split at a tile edge): keep the
        # surer reading. Two hands can overlap a lot (one behind the other), so sameness is judged on
        # the landmarks, not on boxes: the joints must nearly coincide.
        kept: list[HandReading] = []
        for r in sorted(readings, key=lambda r: -r.hand.presence):
            cfg = self.config
            if not any(_same_hand(r.hand, k.hand, cfg.same_hand_dist, cfg.same_hand_inside) for k in kept):
                kept.append(r)
        return kept

    def _finding(self, reading: HandReading, scale: float, width: int, height: int) -> Finding:
        pose = reading.pose.pose
        meanings = self.registry.gesture_meanings(pose)
        first = meanings[0] if meanings else None
        x0, y0, x1, y1 = reading.box
        x0, y0 = max(0.0, x0), max(0.0, y0)
        x1, y1 = min(float(width), x1), min(float(height), y1)
        detail: dict[str, Any] = {
            "pose": pose,
            "partisan": pose in self.partisan_poses,
            "handedness": "right" if reading.hand.right_score >= 0.5 else "left",
            "fingers": reading.pose.fingers,
            "raised": "+".join(reading.pose.raised) or "none",
            "presence": round(reading.hand.presence, 3),
            "pose_confidence": round(reading.pose.confidence, 3),
            "source": reading.source,
        }
        if len(meanings) > 1:
            detail["meanings"] = "; ".join(f"{m.election}:{m.number}" for m in meanings)
        score = reading.hand.presence * (0.6 + 0.4 * reading.pose.confidence)
        return Finding(
            kind=FindingKind.GESTURE,
            label=POSE_LABELS[pose],
            score=float(score),
            box=Box(x0, y0, x1 - x0, y1 - y0).scaled(scale),
            number=first.number if first else None,
            election=first.election if first else None,
            detail=detail,
        )


_TIPS = {"index": 8, "middle": 12, "ring": 16, "little": 20}


def _finger_tilt(landmarks: np.ndarray, raised: tuple[str, ...]) -> float | None:
    """Angle (degrees) between the raised long fingers' mean direction (knuckle to tip) and the
    image's up; None when only the thumb or nothing is raised."""
    tips = [_TIPS[f] for f in raised if f in _TIPS]
    if not tips:
        return None
    xy = landmarks[:, :2]
    v = np.mean([xy[t] - xy[t - 3] for t in tips], axis=0)
    norm = float(np.linalg.norm(v))
    if norm < 1e-9:
        return None
    return float(np.degrees(np.arccos(np.clip(-v[1] / norm, -1.0, 1.0))))


def _resized(bgr: np.ndarray, factor: float) -> np.ndarray:
    """``bgr`` scaled down by ``factor``: exact halvings by area averaging (OpenCV's fast path, 10x
    cheaper than a fractional area resize), then one linear step of less than 2x."""
    if factor >= 1.0:
        return bgr
    h, w = bgr.shape[:2]
    target = (max(1, round(w * factor)), max(1, round(h * factor)))
    out = bgr
    while out.shape[1] >= 2 * target[0] and out.shape[0] >= 2 * target[1] and out.shape[1] >= 2:
        out = cv2.resize(out, (out.shape[1] // 2, out.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if (out.shape[1], out.shape[0]) != target:
        out = cv2.resize(out, target, interpolation=cv2.INTER_LINEAR)
    return out


def _roi_moved(a: HandRoi, b: HandRoi, tolerance: float) -> bool:
    """True when region ``b`` differs from ``a`` by more than ``tolerance`` of ``a``'s side in
    centre, size, or (scaled to the same measure) angle."""
    shift = float(np.hypot(a.cx - b.cx, a.cy - b.cy)) / a.size
    size = abs(np.log(b.size / a.size))
    turn = abs((a.angle - b.angle + np.pi) % (2 * np.pi) - np.pi) / np.pi * 2
    return max(shift, size, turn) > tolerance


def _same_hand(a: Hand, b: Hand, max_dist: float, max_inside: float, max_iou: float = 0.55) -> bool:
    """True when ``a`` is a second reading of hand ``b``: the median joint distance is under
    ``max_dist`` palm sizes (the larger palm), or at least ``max_inside`` of ``a``'s joints lie inside
    the outline (convex hull) of ``b``'s joints (a misread copy of the same hand; a real hand behind
    another keeps about half its joints outside, measured 0.52 against 0.81 for a copy), or their
    boxes overlap by more than ``max_iou`` (a copy misread from a tile edge: 0.63; two thumbs up side
    by side: 0.47)."""
    if float(box_iou(np.asarray(a.box), np.asarray(b.box)[None])[0]) > max_iou:
        return True
    pa, pb = a.landmarks[:, :2], b.landmarks[:, :2]
    palm = max(float(np.linalg.norm(pa[9] - pa[0])), float(np.linalg.norm(pb[9] - pb[0])), 1e-6)
    if float(np.median(np.linalg.norm(pa - pb, axis=1))) < max_dist * palm:
        return True
    hull = cv2.convexHull(pb.astype(np.float32))
    inside = sum(cv2.pointPolygonTest(hull, (float(x), float(y)), False) >= 0 for x, y in pa)
    return inside >= max_inside * len(pa)


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over the smaller box's area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0
