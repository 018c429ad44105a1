"""From tentative matches to verified logo instances.

RANSAC over all of a reference's matches fails on real photos in both directions: a logo that covers
2 % of a busy photo contributes 8 true matches among hundreds of chance ones (RANSAC never samples
them together), and a handful of repeated scene points yields a homography that RANSAC happily
accepts. So, as in Lowe (2004):

1. every match predicts a similarity (scale, rotation, logo centre) from its two keypoints; a Hough
   vote over those predictions groups consistent matches, one cluster per candidate instance;
2. each cluster seeds an affine fit, which recruits the reference's other matches, and a homography
   is fitted to those by RANSAC (threshold relative to the instance size, loose enough for cloth);
   where it fails, a RANSAC affine map (a waving print's matches bunch where the cloth faces the
   camera, and a homography fitted to them extrapolates into an impossible perspective);
3. the fit must then pass every check below: enough distinct inliers spread over the logo, a
   well-conditioned model whose projected outline is convex, not tiny, not mirrored and not
   wildly foreshortened, keypoint scales that agree with it, a large share of the photo's keypoints
   inside the outline explained by it, and an appearance check of the photo region warped back onto
   the reference (edge alignment, plus colour for coloured logos) or, for a one-colour print, onto
   its prints (edge alignment, and colours that are two: ink and cloth; see :mod:`appearance`);
4. a fit whose edges line up (a print's: with its print's edges) but that fails for too few or
   bunched inliers (an arm across the logo, a fold: the ratio test keeps few matches of what is in
   view) is re-matched where it puts each of the logo's keypoints, or its print's (guided matching,
   :mod:`guided`: position, size, orientation and descriptor, no ratio test), refitted, and judged on
   the part in view, colours (or a print's two tones) included;
5. accepted inliers are removed and the next cluster is tried, so several instances are found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from screening.detect.logos.appearance import (
    ColourView,
    absent_share,
    appearance,
    edge_similarity,
    print_tone,
    visible_part,
    warped_back,
)
from screening.detect.logos.features import Features, ReferenceFeatures, gradients
from screening.detect.logos.guided import guided
from screening.detect.logos.index import (
    AS_ENROLLED,
    MIRRORED,
    LogoIndex,
    Matches,
)
from screening.detect.logos.poses import Votes, hough, inside_quad, local_scale


@dataclass(frozen=True)
class VerifyConfig:
    """Thresholds of geometric and appearance verification (documented in rules.toml)."""

    min_votes: int = 4  # matches a Hough bin needs before a fit is tried
    min_inliers: int = 5  # distinct photo keypoints the fitted model must explain ...
    strong_min_inliers: int = 4  # ... or this many when the edges line up strongly (strong_edge_similarity)
    min_inlier_ratio: float = 0.5  # inliers / the reference's matches inside the projected outline
    min_coverage: float = 0.04  # inliers / all photo keypoints inside the outline
    min_spread: float = 0.04  # convex hull of the inliers / reference area
    min_side_px: float = 14.0  # shortest side of the projected outline, detection pixels
    max_aspect_change: float = 3.0  # projected aspect ratio vs the reference's, either way
    max_perspective: float = 2.5  # max / min homogeneous depth over the outline corners
    max_scale_disagreement: float = 1.35  # median keypoint-scale factor vs the homography's local scale
    reproj_fraction: float = 0.06  # RANSAC threshold as a fraction of the instance size
    min_edge_similarity: float = 0.33  # gradient alignment of the warped region with the reference
    strong_edge_similarity: float = 0.55  # ... above which a bent print may have fewer inliers:
    bent_inlier_ratio: float = 0.30  # ... this inlier ratio suffices,
    strong_min_spread: float = 0.02  # ... and these spread
    strong_min_coverage: float = 0.025  # ... and coverage
    min_colour_similarity: float = 0.28  # hue-saturation histogram intersection (coloured logos only)
    min_print_tone: float = 0.75  # a print's region: share of its colour variance along one line (two colours)
    min_print_edge: float = 0.45  # ... and its edges' alignment with the print (no colour to check)
    colour_min_chroma: float = 0.25  # mean saturation from which a reference counts as coloured
    print_max_chroma: float = 0.12  # ... and below which the photo's logo region is a one-colour print
    print_one_hue: float = 0.85  # ... as it is when this share of its colour is one hue, the logo's not
    # The logo in another colourway (a jersey's white ring for a yellow one): colours unlike the
    # reference's pass when the keypoints are overwhelming and no colour is foreign to the logo.
    colourway_min_inliers: int = 15
    colourway_min_spread: float = 0.2
    colourway_min_edge: float = 0.5
    colourway_max_foreign: float = 0.35  # share of the region's colour in hues the logo lacks
    candidate_ratio: float = 0.8  # a reference is verified only with min_distinctive matches below this ratio
    min_distinctive: int = 3
    max_clusters: int = 12  # Hough bins tried per reference (largest first)
    max_instances_per_reference: int = 6
    guided: bool = True  # a fit that looks right but is held up by too few spread inliers is re-matched ...
    guided_max_distance: float = 0.5  # ... against the logo's keypoints where the fit puts them (RootSIFT L2)
    guided_max_angle: float = 30.0  # ... with orientations agreeing within this many degrees
    guided_min_inliers: int = 10  # distinct inliers of a re-matched fit ...
    guided_min_coverage: float = 0.10  # ... and the share of the photo's keypoints in the part in view they are
    guided_rival_ratio: float = 0.9  # a print's guided match: closer than this times any other party's row
    guided_max_absent: float = 0.5  # ink out of view showing the backdrop, beyond the ink in view (1 = off)
    dense: bool = True  # a closer-look hypothesis nothing verified is aligned densely (see dense.py) ...
    dense_min_edge: float = 0.6  # ... and must then line up with the reference's edges this well
    dense_min_colour: float = 0.4  # ... and have its colours (hue-saturation histogram intersection)
    dense_min_inliers: int = 2  # ... with this many of its matches explained by the aligned model

    @property
    def fewest_inliers(self) -> int:
        """The fewest inliers any accepted instance can have (below it, nothing is worth fitting)."""
        return min(self.min_inliers, self.strong_min_inliers)


@dataclass(frozen=True)
class Instance:
    """One verified occurrence of a reference logo in the detection image."""

    ref: int
    homography: np.ndarray  # canonical reference frame -> detection image
    quad: np.ndarray  # (4,2) projected outline in detection-image pixels
    inliers: int
    inlier_ratio: float
    coverage: float
    spread: float
    edge_similarity: float
    colour_similarity: float | None
    score: float
    printed: bool = False  # verified as printed in one colour (edges of a print, colours of one ink)
    print_tone: float | None = None  # ... and then how nearly its colours are two (see print_tone)
    guided: bool = False  # verified after guided matching, on the part in view (see guided)
    dense: bool = False  # verified by dense alignment of its pixels (see dense.py), few keypoints
    colourway: bool = False  # its colours are not the reference's, but none is foreign to it (see accept)

    def box(self) -> tuple[float, float, float, float]:
        x0, y0 = self.quad.min(axis=0)
        x1, y1 = self.quad.max(axis=0)
        return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def candidate_references(matches: Matches, cfg: VerifyConfig, groups: int = 1) -> list[list[int]]:
    """The references with enough matches to verify, dealt into ``groups`` lists of about equal work
    (verification of different references is independent, so the lists can run on parallel threads)."""
    refs, counts = np.unique(matches.ref, return_counts=True)
    distinctive = np.bincount(matches.ref[matches.ratio < cfg.candidate_ratio], minlength=int(refs.max(initial=0)) + 1)
    # A reference needs min_inliers matches, and min_distinctive of them well below the ratio cut: a
    # photo's chance matches crowd just under it, a true logo's spread well below.
    keep = (counts >= cfg.fewest_inliers) & (distinctive[refs] >= cfg.min_distinctive)
    refs, counts = refs[keep], counts[keep]
    out: list[list[int]] = [[] for _ in range(max(1, groups))]
    load = np.zeros(len(out))
    for i in np.argsort(-counts, kind="stable"):  # largest first, each to the least loaded list
        g = int(np.argmin(load))
        out[g].append(int(refs[i]))
        load[g] += counts[i]
    return [g for g in out if g]


def find_instances(
    index: LogoIndex, matches: Matches, photo: Features, colour: ColourView, cfg: VerifyConfig,
    refs: list[int] | None = None,
) -> list[Instance]:  # fmt: skip
    """Every verified instance of the given references (default: all candidates), before
    cross-reference suppression."""
    found: list[Instance] = []
    if len(matches.q) < cfg.fewest_inliers:
        return found
    if refs is None:
        refs = [r for group in candidate_references(matches, cfg) for r in group]
    kind = index.kind[matches.r]
    for ref_id in sorted(refs):
        sel = np.nonzero(matches.ref == ref_id)[0]
        if index.references[ref_id].swapped:  # light-ink prints' matches only
            found += _instances_of(index, ref_id, matches, sel, photo, colour, cfg, printed=True)
            continue
        # The logo as enrolled is verified on its own matches, with the colour check; a dark-ink print of
        # it on those and its prints' matches, with the print's looks (see the index's docstring).
        own = sel[(kind[sel] == AS_ENROLLED) | (kind[sel] == MIRRORED)]  # a mirrored reference's are mirrored
        found += _instances_of(index, ref_id, matches, own, photo, colour, cfg, printed=False)
        if len(sel) - len(own) >= cfg.min_distinctive:  # as many print matches as a candidate needs
            found += _instances_of(index, ref_id, matches, sel, photo, colour, cfg, printed=True)
    return found


def suppress(instances: list[Instance], iou: float = 0.3) -> list[Instance]:
    """Keep the best-scoring instance where boxes overlap (another image of the same party, or a
    weaker claim by another party on the same spot)."""
    kept: list[Instance] = []
    for inst in sorted(instances, key=lambda i: i.score, reverse=True):
        if all(_overlap(inst.box(), k.box()) < iou for k in kept):
            kept.append(inst)
    return kept


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    small = min(a[2] * a[3], b[2] * b[3])
    union = a[2] * a[3] + b[2] * b[3] - inter
    # Intersection over the smaller box too: a small duplicate inside a big one is still a duplicate.
    return max(inter / union if union > 0 else 0.0, 0.7 * inter / small if small > 0 else 0.0)


# --- per reference ---------------------------------------------------------------------------------


def _instances_of(
    index: LogoIndex,
    ref_id: int,
    m: Matches,
    sel: np.ndarray,
    photo: Features,
    colour: ColourView,
    cfg: VerifyConfig,
    *,
    printed: bool,
) -> list[Instance]:
    ref = index.references[ref_id].features
    votes = Votes.of(index, ref_id, m, sel, photo)
    rxy, qxy, scale = votes.rxy, votes.qxy, votes.scale
    clusters = hough(votes, cfg.min_votes, cfg.max_clusters)
    used = np.zeros(len(sel), bool)
    tried: set[tuple[bytes, bool]] = set()
    out: list[Instance] = []

    def possible(model: np.ndarray) -> bool:
        return outline(ref, model, colour, cfg) is not None

    for members in clusters:
        if len(out) >= cfg.max_instances_per_reference:
            break
        members = members[~used[members]]
        # Votes count distinct points: a bin filled by one scene blob matched to several logo points
        # (or the reverse) is a chance agreement, and fitting it is most of verification's time.
        if len(members) < cfg.min_votes or _distinct_points(rxy[members], qxy[members]) < cfg.min_votes:
            continue
        size = float(np.median(scale[members])) * votes.side
        thr = float(np.clip(cfg.reproj_fraction * size, 2.5, 24.0))
        for hmat, inl in _fits(rxy, qxy, members, ~used, thr, cfg.fewest_inliers, possible):
            key = (np.packbits(inl).tobytes(), bool(hmat[2, 0] == 0 and hmat[2, 1] == 0))
            if key in tried:  # neighbouring Hough bins often recruit the very same inliers
                continue
            tried.add(key)
            inst = _verify(index, ref_id, printed, ref, hmat, inl, rxy, qxy, scale, photo, colour, cfg, thr)
            if inst is not None:
                out.append(inst)
                used |= inl
                break
    return out


def _fits(
    rxy: np.ndarray, qxy: np.ndarray, members: np.ndarray, free: np.ndarray, thr: float, min_inliers: int,
    possible: Callable[[np.ndarray], bool],
) -> Iterator[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """Models to verify for one cluster, best first, each with its inliers among the free matches.

    An affine seed from the cluster recruits the reference's other free matches; a RANSAC homography
    is fitted to those, and, only if the caller asks for another model, a RANSAC affine map. A
    homography fitted to matches bunched on part of a bent or waving print extrapolates into an
    impossible perspective over the whole logo, where the affine map stays sane; a print seen
    truly obliquely needs the homography. A seed whose outline is already impossible for a printed
    logo (``possible``: mirrored, tiny, off the photo) is a chance cluster and fits nothing.
    """
    a, _ = cv2.estimateAffine2D(
        rxy[members], qxy[members], method=cv2.RANSAC, ransacReprojThreshold=thr * 1.5, maxIters=200
    )
    if a is None or not np.all(np.isfinite(a)):
        return
    # The models are fitted to the matches the seed recruits, so they agree with it: on the devset's
    # brand photos, 1890 of the 1974 clusters whose seed was impossible gave only impossible models,
    # and the rest changed no finding (the two RANSAC fits were a sixth of the detector's time there).
    if not possible(np.vstack([a, [0.0, 0.0, 1.0]])):
        return
    pred = rxy @ a[:, :2].T + a[:, 2]
    recruited = free & (np.linalg.norm(pred - qxy, axis=1) < thr * 2.5)
    idx = np.nonzero(recruited)[0]
    # No model fitted to these could explain enough distinct points. Chance clusters mostly fail here,
    # on the reference side (several photo blobs matched to one logo point): RANSAC need not run.
    if _distinct_points(rxy[idx], qxy[idx]) < min_inliers:
        return
    hmat, _ = cv2.findHomography(rxy[idx], qxy[idx], cv2.RANSAC, thr, maxIters=500, confidence=0.995)
    if hmat is not None and np.all(np.isfinite(hmat)) and abs(hmat[2, 2]) > 1e-9:
        yield _with_inliers(hmat / hmat[2, 2], rxy, qxy, free, thr)
    aff, _ = cv2.estimateAffine2D(rxy[idx], qxy[idx], method=cv2.RANSAC, ransacReprojThreshold=thr, maxIters=500)
    if aff is not None and np.all(np.isfinite(aff)):
        yield _with_inliers(np.vstack([aff, [0.0, 0.0, 1.0]]), rxy, qxy, free, thr)


def _with_inliers(
    model: np.ndarray, rxy: np.ndarray, qxy: np.ndarray, free: np.ndarray, thr: float
) -> tuple[np.ndarray, np.ndarray]:
    proj = cv2.perspectiveTransform(rxy.reshape(-1, 1, 2), model).reshape(-1, 2)
    return model, free & (np.linalg.norm(proj - qxy, axis=1) < thr)


def _distinct(points: np.ndarray, cell: float) -> int:
    if len(points) == 0:
        return 0
    k = np.round(points / cell).astype(np.int64)
    # One int64 per cell: a 1-D unique is several times faster than unique rows (called ~100 times a photo).
    return len(np.unique((k[:, 0] << 32) | (k[:, 1] & 0xFFFFFFFF)))


def _distinct_points(rxy: np.ndarray, qxy: np.ndarray) -> int:
    """How many distinct points matches pair, counted on both sides: one scene blob matched by several
    reference levels is one point, as are several scene blobs matched to one logo point."""
    return min(_distinct(rxy, 3.0), _distinct(qxy, 1.5))


@dataclass(frozen=True)
class Measures:
    """Evidence for one fitted candidate, before thresholds."""

    inliers: int
    quad: np.ndarray
    scale_disagreement: float
    spread: float
    inlier_ratio: float
    coverage: float
    edge: float
    colour: float | None
    tone: float | None = None  # prints only: see print_tone
    printed: bool = False  # measured as a one-colour print
    foreign: float | None = None  # share of the region's colour in hues the logo lacks (see foreign_share)
    absent: float | None = None  # partly in view: how plainly the rest is missing, not hidden (see absent_share)


def outline(ref: ReferenceFeatures, hmat: np.ndarray, colour: ColourView, cfg: VerifyConfig) -> np.ndarray | None:
    """The reference's outline projected by ``hmat`` (4x2, detection image), or ``None`` where that is
    impossible for a printed logo: across the horizon, foreshortened beyond any real print, not a
    sane convex quad (:func:`_good_quad`), or centred off the photo."""
    w, h = ref.width, ref.height
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    ws = corners @ hmat[2, :2] + hmat[2, 2]
    if np.any(ws <= 0) or ws.max() / ws.min() > cfg.max_perspective:
        return None
    quad = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), hmat).reshape(-1, 2)
    if not _good_quad(quad, w / h, cfg):
        return None
    img_w, img_h = colour.detection_size
    cx, cy = quad.mean(axis=0)
    return quad if 0 <= cx < img_w and 0 <= cy < img_h else None


def measure(
    ref: ReferenceFeatures, hmat: np.ndarray, inl: np.ndarray, rxy: np.ndarray, qxy: np.ndarray, scale: np.ndarray,
    photo: Features, colour: ColourView, cfg: VerifyConfig, printed: bool = False, visible: bool = False,
) -> Measures | None:  # fmt: skip
    """Measure a fitted candidate, its appearance compared with the logo as enrolled or, ``printed``,
    with its one-colour prints; ``None`` when its geometry is impossible for a printed logo. With
    ``visible``, appearance and coverage are measured only where the inliers are (see :func:`visible_part`)."""
    w, h = ref.width, ref.height
    inliers = _distinct_points(rxy[inl], qxy[inl])
    if inliers < 4:
        return None
    quad = outline(ref, hmat, colour, cfg)
    if quad is None:
        return None
    # Keypoint scales must agree with the homography's local scale at each inlier.
    local = local_scale(hmat, rxy[inl])
    disagreement = float(np.exp(np.median(np.abs(np.log(np.maximum(scale[inl], 1e-6) / np.maximum(local, 1e-6))))))
    hull = cv2.convexHull(rxy[inl].astype(np.float32))
    spread = float(cv2.contourArea(hull)) / float(w * h)
    inside_matches = int(inside_quad(quad, qxy).sum())
    inlier_ratio = inliers / max(inside_matches, inliers)
    inside = inside_quad(quad, photo.xy.astype(np.float64))
    seen = visible_part(ref, hull) if visible else None
    if seen is not None:  # a partly hidden logo: the keypoints on what hides it are no logo's to explain
        inside[inside] = _in_mask(ref, seen, hmat, photo.xy[inside])
    coverage = inliers / max(int(inside.sum()), inliers)
    m = Measures(inliers, quad, disagreement, spread, inlier_ratio, coverage, 0.0, None)
    if printed:
        return as_printed(m, ref, hmat, colour, cfg, seen)
    return as_enrolled(m, ref, hmat, colour, cfg, seen)


def _in_mask(ref: ReferenceFeatures, mask: np.ndarray, hmat: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Which photo points ``pts`` the fit ``hmat`` puts inside the thumbnail mask ``mask``."""
    if len(pts) == 0:
        return np.zeros(0, bool)
    th, tw = mask.shape
    canon = cv2.perspectiveTransform(pts.astype(np.float64).reshape(-1, 1, 2), np.linalg.inv(hmat)).reshape(-1, 2)
    ix = np.clip(np.round(canon[:, 0] * tw / ref.width), 0, tw - 1).astype(int)
    iy = np.clip(np.round(canon[:, 1] * th / ref.height), 0, th - 1).astype(int)
    return mask[iy, ix] > 0


def as_enrolled(
    m: Measures, ref: ReferenceFeatures, hmat: np.ndarray, colour: ColourView, cfg: VerifyConfig,
    seen: np.ndarray | None = None,
) -> Measures:  # fmt: skip
    """``m`` with the appearance of the logo as enrolled: edges, and colour where both have some;
    only inside the thumbnail mask ``seen`` when given."""
    patch = warped_back(ref, hmat, colour)
    look = appearance(ref, patch, gradients(patch), cfg, seen)
    absent = None if seen is None else absent_share(ref, patch, seen)
    return dataclasses.replace(m, edge=look.edge, colour=look.colour, tone=None, foreign=look.foreign, absent=absent)


def as_printed(
    m: Measures, ref: ReferenceFeatures, hmat: np.ndarray, colour: ColourView, cfg: VerifyConfig,
    seen: np.ndarray | None = None,
) -> Measures:  # fmt: skip
    """``m`` with the appearance of a one-colour print: edges of the best-aligned print, and how nearly
    the region's colours are two (there are no logo colours to compare). A coloured region in the
    logo's own colours is no print: it is measured as the logo as enrolled (its prints' matches then
    helped the fit), colour check included. Only inside the thumbnail mask ``seen`` when given."""
    patch = warped_back(ref, hmat, colour)
    gb = gradients(patch)
    look = appearance(ref, patch, gb, cfg, seen)
    m = dataclasses.replace(m, absent=None if seen is None else absent_share(ref, patch, seen))
    if look.similarity is not None and look.similarity >= cfg.min_colour_similarity:
        return dataclasses.replace(m, edge=look.edge, colour=look.colour, tone=None, printed=False)
    if seen is not None:
        keep = (seen > 0).astype(np.float32)
        gb = (gb[0] * keep, gb[1] * keep)
    edge = max((edge_similarity(ga, gb) for ga in ref.print_gradients), default=0.0)
    return dataclasses.replace(m, edge=edge, colour=None, tone=print_tone(ref, patch, seen), printed=True)


def accept(m: Measures, cfg: VerifyConfig) -> bool:
    """The thresholds (rules.toml ``[detectors.logos]``)."""
    # A logo whose texture sits in one emblem (a sun in a plain shield), or a small one, gives few
    # inliers or inliers on a small part of it: the whole outline lining up with the reference's
    # edges is then the evidence that counts.
    strong = m.edge >= cfg.strong_edge_similarity
    if m.inliers < (cfg.strong_min_inliers if strong else cfg.min_inliers):
        return False
    if m.scale_disagreement > cfg.max_scale_disagreement:
        return False
    if not _colour_passes(m, cfg):
        return False
    if m.tone is not None and (m.tone < cfg.min_print_tone or m.edge < cfg.min_print_edge):
        return False
    if m.spread < (cfg.strong_min_spread if strong else cfg.min_spread):
        return False
    if m.coverage < (cfg.strong_min_coverage if strong else cfg.min_coverage):
        return False
    # Two ways to be convincing: most matches in the outline agree with the fit and the edges line up,
    # or the edges line up very well (a bent print leaves more of its matches off one homography).
    if m.inlier_ratio >= cfg.min_inlier_ratio and m.edge >= cfg.min_edge_similarity:
        return True
    return m.inlier_ratio >= cfg.bent_inlier_ratio and m.edge >= cfg.strong_edge_similarity


def _colours_agree(m: Measures, cfg: VerifyConfig) -> bool:
    """The region has the reference's colours, or colour stands aside (achromatic logo, print)."""
    return m.colour is None or m.colour >= cfg.min_colour_similarity


def _colour_passes(m: Measures, cfg: VerifyConfig) -> bool:
    """The colour check: the reference's colours, or the logo in another colourway."""
    return _colours_agree(m, cfg) or colourway(m, cfg)


def colourway(m: Measures, cfg: VerifyConfig) -> bool:
    """The logo in colours other than the enrolled ones (a jersey's variant with a white ring where
    the reference's is yellow, arena light turning yellow to orange): the keypoints are overwhelming
    (many, most matches in the outline, spread over the logo), the edges line up, and the region has
    no colour the logo lacks, so that another party's emblem of like shape in its own colours stays out."""
    return (
        m.foreign is not None
        and m.foreign <= cfg.colourway_max_foreign
        and m.inliers >= cfg.colourway_min_inliers
        and m.inlier_ratio >= cfg.min_inlier_ratio
        and m.spread >= cfg.colourway_min_spread
        and m.edge >= cfg.colourway_min_edge
    )


def accept_guided(m: Measures, cfg: VerifyConfig) -> bool:
    """The thresholds for a fit re-matched by :func:`guided`: every match is then an inlier by
    construction, so instead of the share of tentative matches the fit explains, it must explain many
    of the photo's keypoints inside the outline, spread over the logo; and the part out of view must
    look hidden, not missing (:func:`absent_share`)."""
    return (
        _looks_right(m, cfg)
        and m.inliers >= cfg.guided_min_inliers
        and m.coverage >= cfg.guided_min_coverage
        and m.spread >= cfg.min_spread
        and (m.absent is None or m.absent <= cfg.guided_max_absent)
    )


def score(m: Measures) -> float:
    strength = 1.0 - np.exp(-m.inliers / 15.0)
    look = m.edge if m.colour is None else 0.5 * (m.edge + m.colour)
    return float(np.clip(0.4 * strength + 0.3 * min(1.0, m.inlier_ratio / 0.7) + 0.3 * min(1.0, look / 0.7), 0, 1))


def _verify(
    index: LogoIndex, ref_id: int, printed: bool, ref: ReferenceFeatures, hmat: np.ndarray, inl: np.ndarray,
    rxy: np.ndarray, qxy: np.ndarray, scale: np.ndarray, photo: Features, colour: ColourView, cfg: VerifyConfig,
    thr: float,
) -> Instance | None:  # fmt: skip
    m = measure(ref, hmat, inl, rxy, qxy, scale, photo, colour, cfg, printed)
    if m is None:
        return None
    if accept(m, cfg):
        return _instance(ref_id, hmat, m, cfg)
    # A fit that looks right but has too few or bunched inliers (part of the logo hidden, or its true
    # matches thinned out by the ratio test) is re-matched where it puts the logo's keypoints. Colour,
    # and a print's two tones, wait for the re-measure: an arm or a person in front brings colours of
    # its own.
    if not cfg.guided or not _looks_right(dataclasses.replace(m, colour=None, tone=None), cfg):
        return None
    g_rxy, g_qxy, g_scale = guided(index, ref_id, hmat, m.quad, photo, thr, cfg, printed=printed)
    if len(g_rxy) == 0:
        return None
    rxy = np.concatenate([rxy[inl], g_rxy])
    qxy = np.concatenate([qxy[inl], g_qxy])
    scale = np.concatenate([scale[inl], g_scale])
    hmat, inl = _refit(hmat, rxy, qxy, thr)
    m = measure(ref, hmat, inl, rxy, qxy, scale, photo, colour, cfg, printed=printed, visible=True)
    if m is None or not accept_guided(m, cfg):
        return None
    return _instance(ref_id, hmat, m, cfg, guided=True)


def _instance(ref_id: int, hmat: np.ndarray, m: Measures, cfg: VerifyConfig, *, guided: bool = False) -> Instance:
    return Instance(
        ref_id, hmat, m.quad, m.inliers, m.inlier_ratio, m.coverage, m.spread, m.edge, m.colour, score(m),
        m.printed, m.tone, guided, colourway=not _colours_agree(m, cfg),
    )  # fmt: skip


def _looks_right(m: Measures, cfg: VerifyConfig) -> bool:
    """The appearance of a fit passes (edges, colour or a print's two tones, keypoint scales): worth
    re-matching where it says the logo's keypoints are, when its matches alone were too few or bunched
    (part of the logo hidden by an arm, a fold or a person in front, or matches thinned out by the
    ratio test)."""
    if m.scale_disagreement > cfg.max_scale_disagreement or m.edge < cfg.min_edge_similarity:
        return False
    if m.tone is not None:
        return m.tone >= cfg.min_print_tone and m.edge >= cfg.min_print_edge
    return _colour_passes(m, cfg)


def _refit(hmat: np.ndarray, rxy: np.ndarray, qxy: np.ndarray, thr: float) -> tuple[np.ndarray, np.ndarray]:
    """A homography refitted to ``rxy`` -> ``qxy`` (RANSAC), with its inliers; ``hmat`` where that fails."""
    if len(rxy) >= 4:
        h2, _ = cv2.findHomography(rxy, qxy, cv2.RANSAC, thr, maxIters=500, confidence=0.995)
        if h2 is not None and np.all(np.isfinite(h2)) and abs(h2[2, 2]) > 1e-9:
            hmat = h2 / h2[2, 2]
    return _with_inliers(hmat, rxy, qxy, np.ones(len(rxy), bool), thr)


def _good_quad(quad: np.ndarray, aspect: float, cfg: VerifyConfig) -> bool:
    """Convex, same winding as the reference (not mirrored), not tiny, corners not too sharp."""
    edges = np.roll(quad, -1, axis=0) - quad
    cross = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    if not np.all(cross > 0):  # reference corners run clockwise on screen (y down) -> positive crosses
        return False
    lengths = np.linalg.norm(edges, axis=1)
    if lengths.min() < cfg.min_side_px:
        return False
    cosines = -np.sum(edges * np.roll(edges, -1, axis=0), axis=1) / (lengths * np.roll(lengths, -1) + 1e-9)
    if np.any(np.abs(cosines) > np.cos(np.deg2rad(30))):  # interior angles within 30..150 degrees
        return False
    width = 0.5 * (lengths[0] + lengths[2])
    height = 0.5 * (lengths[1] + lengths[3])
    change = (width / height) / aspect
    return 1.0 / cfg.max_aspect_change <= change <= cfg.max_aspect_change
