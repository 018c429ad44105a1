"""The gesture detector's plumbing: registry pose -> number, findings, config, palm decoding, hand
regions and the tile planner (no model files), plus one model test on a photo without hands."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest

from screening.detect.gestures.detector import GestureConfig, GestureDetector, HandReading
from screening.detect.gestures.landmarks import INPUT_SIZE as LM_SIZE
from screening.detect.gestures.landmarks import Hand, HandRoi, roi_from_landmarks, roi_from_palm, roi_matrix
from screening.detect.gestures.palm import Palm, decode, palm_anchors, weighted_nms
from screening.detect.gestures.pose import POSES, PoseResult
from screening.detect.gestures.search import Face, plan_tiles
from screening.errors import ModelMissingError, ScreeningError
from screening.findings import FindingKind
from screening.image import load_image
from screening.registry import GestureMeaning, load_registry
from screening.runtime.sessions import Runtime


@pytest.fixture(scope="module")
def registry():
    return load_registry(None)


def _reading(pose: str, raised: tuple[str, ...] = ("index", "middle")) -> HandReading:
    lm = np.zeros((21, 3))
    lm[:, 0] = np.linspace(100, 200, 21)
    lm[:, 1] = np.linspace(300, 150, 21)
    hand = Hand(landmarks=lm, world=lm / 1000, presence=0.95, right_score=0.8, roi=HandRoi(150, 225, 200, 0.0))
    return HandReading(hand=hand, pose=PoseResult(pose, raised, 1.0), source="photo")


# --- registry mapping ---------------------------------------------------------------------------


def test_registry_poses_are_known_to_the_classifier(registry) -> None:
    assert {g.pose for g in registry.gestures} <= set(POSES)


@pytest.mark.parametrize(
    ("pose", "number"),
    [
        ("one", 1),
        ("two", 2),
        ("finger_heart", 2),
        ("phone", 2),
        ("l_sign", 2),
        ("three", 3),
        ("metal", 3),
        ("ok_three", 3),
    ],
)
def test_registry_maps_pose_to_number(registry, pose: str, number: int) -> None:
    meanings = registry.gesture_meanings(pose)
    assert [m.number for m in meanings if m.election == "pilpres2024"] == [number]


@pytest.mark.parametrize(("pose", "number"), [("four", 4), ("open_palm", 5)])
def test_numbers_beyond_the_tickets_are_party_numbers(registry, pose: str, number: int) -> None:
    # 2024 had three presidential tickets; 4 and 5 are ballot numbers of parties (Golkar, NasDem).
    meanings = registry.gesture_meanings(pose)
    assert [(m.election, m.number) for m in meanings] == [("pileg2024", number)]


@pytest.mark.parametrize("pose", ["fist", "other"])
def test_safe_poses_have_no_meaning(registry, pose: str) -> None:
    assert registry.gesture_meanings(pose) == []


def test_finding_carries_registry_number_and_partisan_flag(registry) -> None:
    det = GestureDetector(Runtime(), registry)
    f = det._finding(_reading("two"), scale=2.0, width=1000, height=1000)
    assert f.kind is FindingKind.GESTURE
    assert f.label == "V sign"
    assert (f.number, f.election) == (2, "pilpres2024")
    assert f.detail["pose"] == "two" and f.detail["partisan"] is True
    assert f.detail["fingers"] == 2 and f.detail["handedness"] == "right"
    # Box in original pixels: the working-copy box times the scale.
    assert f.box.x == pytest.approx(2 * (100 - 0.12 * 150), abs=1e-6)
    assert f.box.w > 200


def test_fist_is_reported_safe(registry) -> None:
    det = GestureDetector(Runtime(), registry)
    f = det._finding(_reading("fist", ()), scale=1.0, width=1000, height=1000)
    assert f.number is None and f.election is None and f.detail["partisan"] is False


def test_operator_registry_decides_the_number(registry) -> None:
    # A Pilkada where the V sign means ticket 4: the number comes from data, not code.
    custom = dataclasses.replace(registry, gestures=(GestureMeaning("pilkada_x", "two", 4),))
    det = GestureDetector(Runtime(), custom)
    f = det._finding(_reading("two"), scale=1.0, width=1000, height=1000)
    assert (f.number, f.election) == (4, "pilkada_x")
    assert det._finding(_reading("one", ("index",)), 1.0, 1000, 1000).detail["partisan"] is False


def test_unknown_registry_pose_is_refused(registry) -> None:
    custom = dataclasses.replace(registry, gestures=(GestureMeaning("pilpres2024", "shaka", 6),))
    with pytest.raises(ScreeningError, match="shaka"):
        GestureDetector(Runtime(), custom)


# --- config --------------------------------------------------------------------------------------


def test_config_from_rules_table() -> None:
    cfg = GestureConfig.from_dict({"palm_score": 0.3, "max_tiles": 4, "pose": {"finger_bend_max": 90.0}})
    assert cfg.palm_score == 0.3 and cfg.max_tiles == 4 and cfg.pose.finger_bend_max == 90.0
    with pytest.raises(ScreeningError, match="bogus"):
        GestureConfig.from_dict({"bogus": 1})
    with pytest.raises(ScreeningError, match=r"gestures\.pose\].*nope"):
        GestureConfig.from_dict({"pose": {"nope": 1}})


def test_shipped_rules_table_builds() -> None:
    from screening.rules import load_rules

    raw = load_rules(None).detector_config("gestures")
    raw.pop("enabled", None)
    cfg = GestureConfig.from_dict(raw)
    assert 0 < cfg.presence_min < 1


# --- palm decoding -------------------------------------------------------------------------------


def test_anchor_layout() -> None:
    a = palm_anchors()
    assert a.shape == (2016, 2)
    assert np.allclose(a[0], [0.5 / 24, 0.5 / 24]) and np.allclose(a[1], a[0])  # 2 per 8-stride cell
    assert np.allclose(a[1152], [0.5 / 12, 0.5 / 12]) and np.allclose(a[1157], a[1152])  # 6 per 16-stride cell
    assert np.allclose(a[-1], [11.5 / 12, 11.5 / 12])


def test_decode_offsets_from_anchors() -> None:
    raw = np.zeros((1, 2016, 18), np.float32)
    scores = np.full((1, 2016, 1), -10.0, np.float32)
    i = 1200
    raw[0, i, :4] = [19.2, -9.6, 48.0, 96.0]  # dx, dy, w, h in input pixels
    raw[0, i, 4:6] = [9.6, 0.0]  # first keypoint offset
    scores[0, i, 0] = 3.0
    s, boxes, kps = decode(raw, scores, 0.5)
    assert len(s) == 1 and s[0] == pytest.approx(1 / (1 + math.exp(-3)))
    cx, cy = palm_anchors()[i] + [0.1, -0.05]
    assert np.allclose(boxes[0], [cx - 0.125, cy - 0.25, cx + 0.125, cy + 0.25], atol=1e-6)
    assert np.allclose(kps[0, 0], palm_anchors()[i] + [0.05, 0.0], atol=1e-6)


def test_weighted_nms_averages_a_cluster() -> None:
    kp = np.zeros((7, 2))
    a = Palm(0.9, np.array([0.0, 0, 10, 10]), kp)
    b = Palm(0.6, np.array([1.0, 1, 11, 11]), kp + 1)
    c = Palm(0.7, np.array([50.0, 50, 60, 60]), kp)
    out = weighted_nms([b, c, a], 0.3)
    assert len(out) == 2 and out[0].score == 0.9
    assert np.allclose(out[0].box, [0.4, 0.4, 10.4, 10.4])


# --- hand regions --------------------------------------------------------------------------------


def test_upright_palm_region_points_up_and_grows() -> None:
    kp = np.zeros((7, 2))
    kp[0] = (100, 200)  # wrist below
    kp[2] = (100, 150)  # middle knuckle above
    roi = roi_from_palm(Palm(0.9, np.array([75.0, 150, 125, 200]), kp))
    assert roi.angle == pytest.approx(0.0, abs=1e-9)
    assert roi.size == pytest.approx(2.6 * 50)
    assert roi.cy == pytest.approx(175 - 25) and roi.cx == pytest.approx(100)


def test_sideways_palm_region_turns() -> None:
    kp = np.zeros((7, 2))
    kp[0] = (100, 100)
    kp[2] = (150, 100)  # fingers to the right
    roi = roi_from_palm(Palm(0.9, np.array([100.0, 75, 150, 125]), kp))
    assert roi.angle == pytest.approx(math.pi / 2)
    assert roi.cx > 125  # shifted toward the fingers
    m = roi_matrix(roi)
    top_centre = m @ np.array([LM_SIZE / 2, 0.0, 1.0])
    assert top_centre[0] > roi.cx  # the crop's "up" is the image's right


def test_landmark_region_is_rotation_equivariant() -> None:
    rng = np.random.default_rng(0)
    lm = np.zeros((21, 3))
    lm[:, :2] = rng.uniform(-40, 40, (21, 2))
    lm[0, :2] = (0, 60)
    lm[9, :2] = (0, -30)
    offset = np.array([200.0, 200.0, 0.0])
    a = roi_from_landmarks(lm + offset)
    t = math.radians(37)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    turned = lm.copy()
    turned[:, :2] = lm[:, :2] @ rot.T
    b = roi_from_landmarks(turned + offset)
    assert b.size == pytest.approx(a.size, rel=1e-6)
    assert (b.angle - a.angle) % (2 * math.pi) == pytest.approx(t, abs=1e-6)
    centre = rot @ np.array([a.cx - 200, a.cy - 200]) + 200
    assert np.allclose([b.cx, b.cy], centre, atol=1e-6)


# --- tile planner --------------------------------------------------------------------------------


def test_no_people_no_tiles() -> None:
    assert plan_tiles(1600, 1200, []) == ([], 0.0)


def test_big_faces_need_no_tiles() -> None:
    assert plan_tiles(1600, 1200, [Face(600, 300, 1000, 700, 0.9)])[0] == []


def test_small_faces_get_tiles_around_them() -> None:
    faces = [Face(x, 500, x + 40, 540, 0.9) for x in (200, 700, 1200)]
    tiles, side = plan_tiles(1600, 1200, faces, face_px=36, max_tiles=12)
    assert tiles and len(tiles) <= 12
    assert side == pytest.approx(40 * 192 / 36, rel=0.3) or side > 40 * 192 / 36
    for f in faces:
        cx, cy = (f.x0 + f.x1) / 2, (f.y0 + f.y1) / 2
        assert any(t.x0 <= cx <= t.x1 and t.y0 <= cy <= t.y1 for t in tiles)
    assert all(0 <= t.x0 < t.x1 <= 1600 and 0 <= t.y0 < t.y1 <= 1200 for t in tiles)


def test_crowds_respect_the_tile_budget() -> None:
    faces = [Face(x, y, x + 20, y + 20, 0.9) for x in range(50, 1550, 100) for y in range(100, 1100, 150)]
    tiles, _ = plan_tiles(1600, 1200, faces, max_tiles=6)
    assert 0 < len(tiles) <= 6


# --- with the models -----------------------------------------------------------------------------


def _runtime_or_skip() -> Runtime:
    rt = Runtime()
    try:
        for name in ("hand_detector", "hand_landmarks", "face_detector"):
            rt.path(name)
    except ModelMissingError:
        pytest.skip("hand models not fetched (screening models fetch)")
    return rt


@pytest.mark.models
def test_photo_without_hands_gives_nothing_quickly(registry) -> None:
    det = GestureDetector(_runtime_or_skip(), registry)
    det.warmup()
    # A 12 MP-sized scene of smooth gradients and coloured blocks: no skin, no person.
    yy, xx = np.mgrid[0:1200, 0:1600]
    rgb = np.stack([(xx * 255 // 1600), (yy * 255 // 1200), np.full_like(xx, 90)], axis=-1).astype(np.uint8)
    rgb[200:500, 300:700] = (20, 120, 200)
    rgb[700:900, 900:1400] = (230, 230, 40)
    image = load_image(rgb)
    det.detect(image)
    t0 = time.perf_counter()
    findings = det.detect(image)
    elapsed = time.perf_counter() - t0
    assert findings == []
    assert elapsed < 1.0  # ~10-20 ms on a quiet 2-core machine; generous for a loaded CI box


# --- hand bookkeeping ----------------------------------------------------------------------------


def _hand_at(dx: float, dy: float, turn_deg: float = 0.0) -> Hand:
    from test_gestures_pose import make_pose, to_image

    lm = to_image(make_pose("two"), angle_deg=turn_deg) + np.array([dx, dy, 0.0])
    return Hand(landmarks=lm, world=lm / 1000, presence=0.99, right_score=0.5, roi=HandRoi(0, 0, 100, 0.0))


def test_same_hand_read_twice_merges_but_neighbours_do_not() -> None:
    from screening.detect.gestures.detector import _same_hand

    a = _hand_at(0, 0)
    assert _same_hand(_hand_at(3, -2), a, 0.15, 0.7)
    assert not _same_hand(_hand_at(200, 0), a, 0.15, 0.7)  # the next person's hand, 2.5 palms away


def test_finger_tilt_tells_raised_from_hanging() -> None:
    from screening.detect.gestures.detector import _finger_tilt

    assert _finger_tilt(_hand_at(0, 0).landmarks, ("index", "middle")) < 20
    assert _finger_tilt(_hand_at(0, 0, 180.0).landmarks, ("index", "middle")) > 160
    assert _finger_tilt(_hand_at(0, 0).landmarks, ("thumb",)) is None


def test_hanging_v_is_not_reported(registry) -> None:
    det = GestureDetector(Runtime(), registry)
    assert det._reading(_hand_at(300, 300), "photo").pose.pose == "two"
    assert det._reading(_hand_at(300, 300, 180.0), "photo").pose.pose == "other"


def test_weighted_nms_survives_a_degenerate_box() -> None:
    kp = np.zeros((7, 2))
    out = weighted_nms([Palm(0.9, np.array([5.0, 5, 5, 5]), kp), Palm(0.8, np.array([0.0, 0, 10, 10]), kp)], 0.3)
    assert len(out) == 2


@pytest.mark.models
@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 500, 3), (2000, 20, 3), (64, 64, 3)])
def test_tiny_and_thin_photos_are_handled(registry, shape: tuple[int, int, int]) -> None:
    det = GestureDetector(_runtime_or_skip(), registry)
    assert det.detect(load_image(np.full(shape, 128, np.uint8))) == []


def test_thumbs_up_is_partisan_without_a_number(registry) -> None:
    det = GestureDetector(Runtime(), registry)
    f = det._finding(_reading("thumbs_up", ("thumb",)), 1.0, 1000, 1000)
    assert f.detail["partisan"] is True and f.number is None and f.election == "pilpres2024"
