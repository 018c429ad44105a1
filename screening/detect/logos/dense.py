"""Dense verification of a small logo that keypoints alone cannot verify.

A logo of 60-150 px on a waving flag or a blurred shirt leaves a few distinctive matches that agree on
its pose (a :class:`~screening.detect.logos.poses.Hypothesis`) but not the four or five inliers
verification needs, even when the closer look describes it enlarged. Its pixels still say plainly
what it is. So the pose the matches predict is refined by aligning the reference's thumbnail with the
photo over every pixel of the logo's silhouette (ECC, Evangelidis & Psarakis 2008: a homography
maximising the correlation coefficient, which ignores gain and offset), and the aligned region must
then look like the logo in both ways verification measures: its edges line up with the reference's
and its colours are the reference's.

Chance hypotheses are many (a dozen per busy photo) and alignment makes any region look a little
more like the logo, so both thresholds are strict and only coloured logos qualify: measured on the
hypotheses of 450 synthetic scenes and 146 devset photos without logos (scripts/eval_logos.py
calibration in rules.toml), chance regions that align with edges above 0.6 have colours unlike the
logo's, and an achromatic logo (chrome, black on white) has no colour to check. A region of one hue
where the logo has several, which the colour check takes for a one-colour print, is what blur makes
of a small logo's colours: its hue similarity is compared all the same.
"""

from __future__ import annotations

import cv2
import numpy as np

from screening.detect.logos.appearance import ColourView, appearance, thumbnail_frames, warped_back
from screening.detect.logos.features import ReferenceFeatures, gradients
from screening.detect.logos.index import LogoIndex, Matches
from screening.detect.logos.poses import Hypothesis
from screening.detect.logos.verify import Instance, VerifyConfig, outline

_ECC_ITERATIONS = 60
_ECC_EPS = 1e-4


def verify_densely(
    index: LogoIndex, hyp: Hypothesis, matches: Matches, photo_xy: np.ndarray, colour: ColourView,
    cfg: VerifyConfig,
) -> Instance | None:  # fmt: skip
    """The instance ``hyp`` predicts, if the reference aligned densely there looks like the logo;
    coordinates in the detection image."""
    ref = index.references[hyp.ref].features
    if ref.chroma < cfg.colour_min_chroma:
        return None  # no colours to tell a logo from a region that merely lines up with its edges
    refined = align(ref, _similarity(ref, hyp), colour)
    if refined is None:
        return None
    quad = outline(ref, refined, colour, cfg)
    if quad is None:
        return None
    patch = warped_back(ref, refined, colour)
    look = appearance(ref, patch, gradients(patch), cfg)
    edge = look.edge
    # Where the colour check stands aside for a region of one hue, its hue similarity still counts
    # (blur makes one hue of a small logo's colours; see the module docstring).
    hue = look.colour if look.colour is not None else look.similarity
    if edge < cfg.dense_min_edge or hue is None or hue < cfg.dense_min_colour:
        return None
    inliers = _agreeing(index, hyp, matches, photo_xy, refined)
    if inliers < cfg.dense_min_inliers:
        return None
    strength = 1.0 - np.exp(-inliers / 15.0)
    look = min(1.0, 0.5 * (edge + hue) / 0.7)
    # Fewer keypoints stand behind it than behind a keypoint-verified instance: scored lower.
    score = float(np.clip(0.4 * strength + 0.4 * look, 0.0, 1.0))
    return Instance(
        hyp.ref, refined, quad, inliers, 0.0, 0.0, 0.0, edge, hue, score, dense=True,
    )  # fmt: skip


def align(ref: ReferenceFeatures, hmat: np.ndarray, colour: ColourView) -> np.ndarray | None:
    """``hmat`` (canonical reference frame -> detection image) refined by ECC alignment of the
    reference thumbnail with the photo inside the logo's silhouette; ``None`` if it does not converge."""
    th, tw = ref.thumb.shape[:2]
    to_thumb, to_colour = thumbnail_frames(ref, colour)
    warp = to_colour @ hmat @ np.linalg.inv(to_thumb)  # thumbnail -> colour photo
    corners = np.array([[0, 0], [tw, 0], [tw, th], [0, th]], np.float64).reshape(-1, 1, 2)
    quad = cv2.perspectiveTransform(corners, warp).reshape(-1, 2)
    # Room around the predicted outline for the prediction's error (a third of the logo's side).
    pad = 0.3 * float(np.ptp(quad, axis=0).max())
    h, w = colour.bgr.shape[:2]
    x0, y0 = (int(max(0.0, np.floor(v - pad))) for v in quad.min(axis=0))
    x1 = int(min(w, np.ceil(quad[:, 0].max() + pad)))
    y1 = int(min(h, np.ceil(quad[:, 1].max() + pad)))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    crop = cv2.cvtColor(colour.bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    # ECC samples the region at the thumbnail's pixels: a bigger region is first reduced to about that
    # size (area-averaged), else its detail aliases into the comparison.
    reduce = min(1.0, 1.5 * max(tw, th) / max(float(np.ptp(quad, axis=0).max()), 1.0))
    if reduce < 1.0:
        size = (max(8, round(crop.shape[1] * reduce)), max(8, round(crop.shape[0] * reduce)))
        sx, sy = size[0] / crop.shape[1], size[1] / crop.shape[0]
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        shift = np.diag([sx, sy, 1.0]) @ shift
    start = shift @ warp
    start = (start / start[2, 2]).astype(np.float32)
    template = cv2.cvtColor(ref.thumb, cv2.COLOR_BGR2GRAY)
    try:
        _, found = cv2.findTransformECCWithMask(
            template, crop, ref.silhouette.astype(np.uint8) * 255, np.full(crop.shape, 255, np.uint8), start,
            cv2.MOTION_HOMOGRAPHY, (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, _ECC_ITERATIONS, _ECC_EPS), 3,
        )  # fmt: skip
    except cv2.error:  # did not converge, or a singular step
        return None
    refined = np.linalg.inv(to_colour) @ np.linalg.inv(shift) @ found.astype(np.float64) @ to_thumb
    if not np.all(np.isfinite(refined)) or abs(refined[2, 2]) < 1e-9:
        return None
    return refined / refined[2, 2]


def _similarity(ref: ReferenceFeatures, hyp: Hypothesis) -> np.ndarray:
    """The hypothesis' pose as a homography: scale and rotation about the reference's centre, moved to
    the predicted centre."""
    scale = hyp.size / max(ref.width, ref.height)
    c, s = np.cos(hyp.angle) * scale, np.sin(hyp.angle) * scale
    to_origin = np.array([[1.0, 0.0, -ref.width / 2], [0.0, 1.0, -ref.height / 2], [0.0, 0.0, 1.0]])
    turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    to_centre = np.array([[1.0, 0.0, hyp.centre[0]], [0.0, 1.0, hyp.centre[1]], [0.0, 0.0, 1.0]])
    return to_centre @ turn @ to_origin


def _agreeing(index: LogoIndex, hyp: Hypothesis, matches: Matches, photo_xy: np.ndarray, hmat: np.ndarray) -> int:
    """Distinct photo keypoints matched to the reference that the aligned model explains (within a
    tenth of the logo's size)."""
    sel = np.nonzero(matches.ref == hyp.ref)[0]
    if len(sel) == 0:
        return 0
    rxy = index.xy[matches.r[sel]].astype(np.float64).reshape(-1, 1, 2)
    qxy = photo_xy[matches.q[sel]].astype(np.float64)
    proj = cv2.perspectiveTransform(rxy, hmat).reshape(-1, 2)
    near = np.linalg.norm(proj - qxy, axis=1) < max(2.5, 0.1 * hyp.size)
    return len(np.unique(matches.q[sel][near]))
