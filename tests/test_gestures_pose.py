"""The pose classifier on synthetic 21-point hands: every named pose, under rotation in 3D (palm or
back to the camera), mirroring (left and right hands), scale and translation. Pure numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from screening.detect.gestures.pose import POSE_LABELS, POSES, classify_pose

# Canonical right hand, palm facing the viewer, in palm units (wrist to middle knuckle = 1):
# x to the thumb side is negative, fingers point +y, the palm side faces +z (curling goes to +z).
_MCP = {"index": (-0.32, 0.95), "middle": (0.0, 1.0), "ring": (0.3, 0.93), "little": (0.55, 0.82)}
_LENGTHS = {
    "index": (0.42, 0.26, 0.2),
    "middle": (0.46, 0.29, 0.21),
    "ring": (0.43, 0.27, 0.2),
    "little": (0.34, 0.21, 0.18),
}
_BASE = {"index": 5, "middle": 9, "ring": 13, "little": 17}
_CURLED = (80.0, 100.0, 60.0)
_STRAIGHT = (5.0, 5.0, 3.0)


def _finger(points: np.ndarray, name: str, bends: tuple[float, float, float]) -> None:
    """Lay a finger from its knuckle, bending toward the palm side by ``bends`` at MCP, PIP, DIP."""
    x, y = _MCP[name]
    base = _BASE[name]
    points[base] = (x, y, 0.0)
    # Fingers fan out a little from the wrist.
    splay = math.atan2(x, y) * 0.5
    heading = 0.0
    pos = np.array([x, y, 0.0])
    for k, (length, bend) in enumerate(zip(_LENGTHS[name], bends, strict=True)):
        heading += math.radians(bend)
        direction = np.array(
            [math.sin(splay) * math.cos(heading), math.cos(splay) * math.cos(heading), math.sin(heading)]
        )
        pos = pos + length * direction
        points[base + k + 1] = pos


def _thumb(points: np.ndarray, mode: str) -> None:
    points[1] = (-0.3, 0.22, 0.05)
    if mode == "out":  # away from the palm, to the thumb side, straight
        points[2:5] = [(-0.55, 0.45, 0.08), (-0.78, 0.64, 0.1), (-0.97, 0.8, 0.11)]
    elif mode == "folded":  # across the palm, tip near the ring knuckle
        points[2:5] = [(-0.35, 0.48, 0.2), (-0.12, 0.62, 0.3), (0.12, 0.7, 0.3)]
    else:
        raise ValueError(mode)


def make_hand(
    raised: set[str],
    thumb: str = "folded",
    bends: dict[str, tuple[float, float, float]] | None = None,
) -> np.ndarray:
    """21 landmarks (21, 3) with the given fingers straight and the others curled."""
    p = np.zeros((21, 3))
    for name in _MCP:
        _finger(p, name, (bends or {}).get(name, _STRAIGHT if name in raised else _CURLED))
    _thumb(p, thumb)
    return p


def make_pose(pose: str) -> np.ndarray:
    if pose == "fist":
        return make_hand(set())
    if pose == "one":
        return make_hand({"index"})
    if pose == "two":
        return make_hand({"index", "middle"})
    if pose == "three":
        return make_hand({"index", "middle", "ring"})
    if pose == "metal":
        return make_hand({"index", "little"}, thumb="out")
    if pose == "four":
        return make_hand({"index", "middle", "ring", "little"})
    if pose == "open_palm":
        return make_hand({"index", "middle", "ring", "little"}, thumb="out")
    if pose == "phone":
        return make_hand({"little"}, thumb="out")
    if pose == "l_sign":
        return make_hand({"index"}, thumb="out")
    if pose in ("thumbs_up", "thumbs_down"):
        return make_hand(set(), thumb="out")
    if pose == "ok_three":
        p = make_hand({"middle", "ring", "little"}, bends={"index": (45.0, 70.0, 50.0)})
        tip = p[8]
        p[3] = (p[2] + tip) / 2 + np.array([0.0, 0.0, 0.05])
        p[4] = tip + np.array([0.02, 0.0, 0.03])
        return p
    if pose == "finger_heart":
        p = make_hand(set(), bends={"index": (60.0, 30.0, 15.0)})
        p[2] = (-0.5, 0.55, 0.25)
        p[3] = (-0.45, 0.85, 0.45)
        p[4] = (p[6] + p[7]) / 2 + np.array([-0.05, 0.0, 0.06])
        return p
    if pose == "other":
        return make_hand({"little"})  # the little finger alone
    raise ValueError(pose)


def rotation(ax: float, ay: float, az: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def to_image(p: np.ndarray, angle_deg: float = 0.0, scale: float = 80.0, mirror: bool = False) -> np.ndarray:
    """Canonical hand -> image pixels with y down, turned ``angle_deg`` in the image plane."""
    q = p.copy()
    if mirror:
        q[:, 0] = -q[:, 0]
    q[:, 1] = -q[:, 1]  # fingers up in the image
    a = math.radians(angle_deg)
    q = q @ rotation(0.0, 0.0, a).T
    return q * scale + np.array([320.0, 240.0, 0.0])


PLAIN_POSES = [p for p in POSES if p not in ("thumbs_up", "thumbs_down")]


def test_pose_names_and_labels_cover_each_other() -> None:
    assert set(POSE_LABELS) == set(POSES)
    assert len(POSES) == 14


@pytest.mark.parametrize("pose", PLAIN_POSES)
def test_each_pose_upright(pose: str) -> None:
    result = classify_pose(to_image(make_pose(pose)))
    assert result.pose == pose, result


@pytest.mark.parametrize("pose", PLAIN_POSES)
def test_poses_survive_3d_rotation_mirroring_and_scale(pose: str) -> None:
    rng = np.random.default_rng(sum(map(ord, pose)))
    base = make_pose(pose)
    for trial in range(24):
        angles = rng.uniform(-math.pi, math.pi, 3)
        q = base @ rotation(*angles).T  # any orientation: palm or back to the camera
        if trial % 2:
            q[:, 0] = -q[:, 0]  # a left hand
        q = q * rng.uniform(0.05, 300.0) + rng.uniform(-500, 500, 3)
        assert classify_pose(q).pose == pose, (trial, angles)


@pytest.mark.parametrize("pose", PLAIN_POSES)
def test_palm_and_back_views_agree(pose: str) -> None:
    front = to_image(make_pose(pose))
    back = make_pose(pose) @ rotation(0.0, math.pi, 0.0).T  # turned around: back of the hand
    assert classify_pose(front).pose == classify_pose(to_image(back)).pose == pose


def test_finger_counts() -> None:
    counts = {"fist": 0, "one": 1, "two": 2, "three": 3, "four": 4, "open_palm": 5, "l_sign": 2, "phone": 2, "metal": 3}
    for pose, n in counts.items():
        assert classify_pose(to_image(make_pose(pose))).fingers == n, pose


def test_thumb_counting_three_and_other_three() -> None:
    thumb_first = make_hand({"index", "middle"}, thumb="out")
    assert classify_pose(thumb_first).pose == "three"
    assert classify_pose(thumb_first).raised == ("thumb", "index", "middle")


@pytest.mark.parametrize("mirror", [False, True])
@pytest.mark.parametrize("turn", [-30.0, 0.0, 25.0])
def test_thumbs_up_and_down_follow_the_image_vertical(mirror: bool, turn: float) -> None:
    hand = make_pose("thumbs_up")
    img = to_image(hand, mirror=mirror)
    v = img[4, :2] - img[2, :2]
    thumb_angle = math.degrees(math.atan2(v[0], -v[1]))  # 0 = straight up
    up = to_image(hand, angle_deg=-thumb_angle + turn, mirror=mirror)
    down = to_image(hand, angle_deg=180.0 - thumb_angle + turn, mirror=mirror)
    assert classify_pose(up).pose == "thumbs_up"
    assert classify_pose(down).pose == "thumbs_down"
    sideways = to_image(hand, angle_deg=90.0 - thumb_angle, mirror=mirror)
    assert classify_pose(sideways).pose == "other"


def test_world_view_is_averaged_with_the_image_view() -> None:
    img = to_image(make_pose("two"))
    world = make_pose("two") * 0.09  # metres
    assert classify_pose(img, img[:, :2], also=[world]).pose == "two"


def test_o_shape_is_not_a_raised_thumb() -> None:
    p = make_hand(set(), bends={n: (40.0, 60.0, 40.0) for n in _MCP})
    p[2] = (-0.5, 0.5, 0.2)
    p[3] = (-0.55, 0.85, 0.45)
    p[4] = p[8] + np.array([0.0, -0.05, 0.0])
    result = classify_pose(p)
    assert "thumb" not in result.raised
    assert result.fingers == 0


def test_degenerate_input() -> None:
    assert classify_pose(np.zeros((21, 3))).pose == "other"
    with pytest.raises(ValueError):
        classify_pose(np.zeros((20, 3)))


def test_flat_hand_with_closed_fingers_is_not_a_number() -> None:
    # Four straight fingers held parallel (a hand resting on a lap or a shoulder).
    p = make_hand({"index", "middle", "ring", "little"})
    for name, base in _BASE.items():
        lengths = np.cumsum(_LENGTHS[name])
        p[base + 1 : base + 4] = p[base] + np.outer(lengths, [0.0, 1.0, 0.0])
    assert classify_pose(p).pose == "other"
    assert classify_pose(make_pose("four")).pose == "four"  # the same fingers spread


def test_o_shape_with_fingertips_at_the_thumb_is_not_a_finger_heart() -> None:
    p = make_hand(set(), bends={n: (40.0, 70.0, 50.0) for n in _MCP})
    p[2] = (-0.5, 0.5, 0.2)
    p[3] = (-0.5, 0.8, 0.4)
    p[4] = p[8] + np.array([0.02, -0.02, 0.0])
    p[12] = p[4] + np.array([0.1, 0.05, 0.0])  # the middle fingertip meets the thumb too
    assert classify_pose(p).pose != "finger_heart"
