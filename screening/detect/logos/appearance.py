"""How a candidate region looks next to a reference logo, pixel by pixel.

Verification (:mod:`verify`) and dense alignment (:mod:`dense`) warp the photo region a fit puts the
logo in back onto the reference's thumbnail and compare: edges (gradient alignment, sign ignored, so
a light-on-dark print of a dark-on-light logo still lines up), colours (hue-saturation histograms,
for coloured logos, standing aside for one-colour prints and black-and-white photos), how nearly a
print's colours are two (ink and cloth), and, for a logo partly in view, whether the rest looks
hidden or plainly missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import cv2
import numpy as np

from screening.detect.logos.features import ReferenceFeatures, colour_of

if TYPE_CHECKING:  # only its thresholds are read; verify imports this module
    from screening.detect.logos.verify import VerifyConfig


@dataclass(frozen=True)
class ColourView:
    """The colour photo appearance checks sample from: ``bgr`` at ``scale`` of its pixels per
    detection-image pixel (the working copy is used as it is, never resized to the detection size)."""

    bgr: np.ndarray
    scale: float = 1.0

    @property
    def detection_size(self) -> tuple[float, float]:
        """(width, height) in detection-image pixels."""
        return self.bgr.shape[1] / self.scale, self.bgr.shape[0] / self.scale


def thumbnail_frames(ref: ReferenceFeatures, colour: ColourView) -> tuple[np.ndarray, np.ndarray]:
    """(reference frame -> thumbnail, detection image -> colour photo) as 3x3 matrices: a model
    ``hmat`` maps the thumbnail into the colour photo as ``to_colour @ hmat @ inv(to_thumb)``."""
    th, tw = ref.thumb.shape[:2]
    return np.diag([tw / ref.width, th / ref.height, 1.0]), np.diag([colour.scale, colour.scale, 1.0])


def warped_back(ref: ReferenceFeatures, hmat: np.ndarray, colour: ColourView) -> np.ndarray:
    """The photo region of a candidate, warped back onto the reference thumbnail (BGR)."""
    th, tw = ref.thumb.shape[:2]
    to_thumb, to_colour = thumbnail_frames(ref, colour)
    warp = to_colour @ hmat @ np.linalg.inv(to_thumb)  # thumbnail -> colour photo
    return cv2.warpPerspective(
        colour.bgr, warp, (tw, th), flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )


class Look(NamedTuple):
    """How a warped-back region compares with a reference (see :func:`appearance`)."""

    edge: float  # edge alignment
    colour: float | None  # hue similarity for the colour check (None where it stands aside)
    similarity: float | None  # hue similarity of any coloured region (None: reference or region achromatic)
    foreign: float | None = None  # share of the region's colour in hues the logo lacks (with ``colour``)


def appearance(
    ref: ReferenceFeatures,
    patch: np.ndarray,
    gb: tuple[np.ndarray, np.ndarray],
    cfg: VerifyConfig,
    seen: np.ndarray | None = None,
) -> Look:
    """Compare the warped-back ``patch`` (gradients ``gb``) with the reference (see :class:`Look`).
    A coloured logo printed in one colour (a screen-printed shirt, a stencilled flag, a photocopy) or
    seen in a black-and-white photo keeps its shapes but not its colours: the colour check then stands
    aside. With a mask ``seen`` (uint8 0/255), both are compared only there: the part of a partly
    hidden logo that is in view."""
    ga, mask, ref_hist = ref.thumb_gradients, ref.mask, ref.hist
    if seen is not None:
        keep = (seen > 0).astype(np.float32)
        ga, gb = (ga[0] * keep, ga[1] * keep), (gb[0] * keep, gb[1] * keep)
        mask = cv2.bitwise_and(mask, seen)
        ref_hist, _ = colour_of(ref.thumb, mask)
    edge = edge_similarity(ga, gb)
    if ref.chroma < cfg.colour_min_chroma:
        return Look(edge, None, None)
    hist, chroma = colour_of(patch, mask)
    if chroma < cfg.print_max_chroma:
        return Look(edge, None, None)
    similarity = float(np.minimum(ref_hist, hist).sum())
    # One hue (the cloth) where the logo has several: printed in one colour on coloured cloth.
    if one_hue(hist) >= cfg.print_one_hue > one_hue(ref_hist):
        return Look(edge, None, similarity)
    return Look(edge, similarity, similarity, foreign_share(ref_hist, hist))


def foreign_share(ref_hist: np.ndarray, hist: np.ndarray) -> float:
    """Share of ``hist``'s colour in hues ``ref_hist`` lacks: hue bins holding under 2 % of the
    reference's colour, more than one bin (20 degrees of hue) from any it holds (light and white
    balance move hues a little). Saturation is ignored: a faded or shaded print keeps its hues."""
    ref_hues = ref_hist.sum(axis=1) >= 0.02
    allowed = ref_hues | np.roll(ref_hues, 1) | np.roll(ref_hues, -1)
    return float(hist.sum(axis=1)[~allowed].sum())


def visible_part(ref: ReferenceFeatures, hull: np.ndarray) -> np.ndarray:
    """The part of the thumbnail in view (uint8 0/255): the inliers' convex hull (canonical frame),
    grown by an eighth of the logo's side, since keypoints sit inside the shapes they describe."""
    th, tw = ref.thumb.shape[:2]
    pts = hull.reshape(-1, 2) * np.array([tw / ref.width, th / ref.height], np.float32)
    out = np.zeros((th, tw), np.uint8)
    cv2.fillConvexPoly(out, np.round(pts).astype(np.int32), 255)
    grow = max(1, round(max(th, tw) / 8))
    return cv2.dilate(out, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))


def absent_share(ref: ReferenceFeatures, patch: np.ndarray, seen: np.ndarray) -> float | None:
    """How plainly the part of a logo out of view (outside ``seen``, uint8 0/255) is missing rather
    than hidden: the share of its ink pixels that show the backdrop around the part in view, less
    that share for the ink in view (a faint print's ink is near its backdrop everywhere). A letter
    of a slogan taken for the letter in a party's emblem leaves the emblem's ring out of view, and
    its pixels show the banner; an arm or a person in front shows colours of its own. ``None``
    where too little ink is out of view, or too little backdrop or ink in view, to tell."""
    k = np.ones((3, 3), np.uint8)
    core = cv2.erode(ref.mask, k) > 0  # ink without its blended edges
    away = cv2.dilate(ref.mask, k) == 0  # no ink
    view = seen > 0
    out_ink, in_ink, backdrop = core & ~view, core & view, away & view
    if out_ink.sum() < 0.1 * core.sum() or backdrop.sum() < 20 or in_ink.sum() < 10:
        return None
    lab = cv2.cvtColor(patch, cv2.COLOR_BGR2LAB).astype(np.float32)
    bg = np.median(lab[backdrop], axis=0)
    # "Like the backdrop": within its own spread, 8-12 Lab units (a busy backdrop proves nothing missing).
    near = float(np.clip(np.percentile(np.linalg.norm(lab[backdrop] - bg, axis=1), 80), 8.0, 12.0))
    out_share = float((np.linalg.norm(lab[out_ink] - bg, axis=1) < near).mean())
    in_share = float((np.linalg.norm(lab[in_ink] - bg, axis=1) < near).mean())
    return max(0.0, out_share - in_share)


def print_tone(ref: ReferenceFeatures, patch: np.ndarray, seen: np.ndarray | None = None) -> float:
    """How nearly the colours inside the logo's silhouette (where ``seen``, when given) lie on one line
    in Lab (the largest eigenvalue's share of their covariance): ink on cloth, in any two colours, and
    the blends at its edges are mixtures of two colours, close to 1; a many-coloured logo or scene
    region is not."""
    where = ref.silhouette if seen is None else ref.silhouette & (seen > 0)
    lab = cv2.cvtColor(patch, cv2.COLOR_BGR2LAB).astype(np.float64)[where]
    if len(lab) < 16:
        return 0.0
    cov = np.cov(lab, rowvar=False)
    total = float(np.trace(cov))
    if total < 25.0:  # flat: no ink to speak of (a deviation under 5 Lab units)
        return 0.0
    return float(np.linalg.eigvalsh(cov)[-1] / total)


def one_hue(hist: np.ndarray) -> float:
    """Share of a hue-saturation histogram's mass within its strongest three neighbouring hues (0-1)."""
    hues = hist.sum(axis=1)
    total = float(hues.sum())
    if total <= 0:
        return 0.0
    window = hues + np.roll(hues, 1) + np.roll(hues, -1)
    return float(window.max() / total)


def edge_similarity(ga: tuple[np.ndarray, np.ndarray], gb: tuple[np.ndarray, np.ndarray]) -> float:
    """Normalised correlation of the reference's gradient field ``ga`` with the region's ``gb``, sign ignored:
    sum |ga . gb| / (|ga| |gb|).
    1 when every edge lines up in place and direction; unrelated regions measure 0.2-0.41 on real
    photos. Ignoring the sign keeps contrast inversion (a white-on-dark print of a dark-on-white
    logo) from lowering it; flat colour differences (shirt vs reference backdrop) do not enter."""
    dot = np.abs(ga[0] * gb[0] + ga[1] * gb[1])
    na = np.hypot(*ga)
    nb = np.hypot(*gb)
    denom = float(np.sqrt((na**2).sum() * (nb**2).sum()))
    if denom < 1e-6:
        return 0.0
    return float(dot.sum() / denom)
