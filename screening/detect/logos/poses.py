"""What a reference's matches say about where its logo is: poses and the Hough vote over them.

Every match predicts a similarity (scale, rotation, logo centre) from its two keypoints. Verification
(:mod:`verify`) groups consistent predictions by a Hough vote and fits each group; where a few
distinctive matches agree on the pose of a logo too small to verify, that pose is a
:class:`Hypothesis` for a closer look (:mod:`detector`) or dense alignment (:mod:`dense`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from screening.detect.logos.features import Features
from screening.detect.logos.index import LogoIndex, Matches

if TYPE_CHECKING:  # only the outlines of verified instances are read; verify imports this module
    from screening.detect.logos.verify import Instance


@dataclass(frozen=True)
class Votes:
    """What a reference's matches say about its pose: the matched points on both sides, and for each
    match the similarity (scale, rotation) its two keypoints imply and the logo centre it predicts."""

    rxy: np.ndarray  # reference points, canonical frame
    qxy: np.ndarray  # photo points, detection image
    scale: np.ndarray
    theta: np.ndarray  # radians
    centre: np.ndarray  # (N, 2) predicted logo centres, detection image
    side: float  # the reference's long side, canonical pixels

    @staticmethod
    def of(index: LogoIndex, ref_id: int, m: Matches, sel: np.ndarray, photo: Features) -> Votes:
        ref = index.references[ref_id].features
        rxy = index.xy[m.r[sel]].astype(np.float64)
        qxy = photo.xy[m.q[sel]].astype(np.float64)
        scale = (photo.size[m.q[sel]] / np.maximum(index.size[m.r[sel]], 1e-3)).astype(np.float64)
        theta = np.deg2rad(photo.angle[m.q[sel]] - index.angle[m.r[sel]]).astype(np.float64)
        c, s = np.cos(theta), np.sin(theta)
        dx, dy = ref.width / 2.0 - rxy[:, 0], ref.height / 2.0 - rxy[:, 1]
        centre = qxy + scale[:, None] * np.stack([c * dx - s * dy, s * dx + c * dy], axis=1)
        return Votes(rxy, qxy, scale, theta, centre, float(max(ref.width, ref.height)))


@dataclass(frozen=True)
class Hypothesis:
    """Where a reference may be, from a few matches that agree on its pose but are too few to verify."""

    ref: int
    centre: tuple[float, float]  # predicted logo centre, detection-image pixels
    size: float  # predicted long side of the logo, detection-image pixels
    votes: int  # distinct photo keypoints agreeing
    angle: float = 0.0  # predicted rotation of the logo, radians
    pose_error: float | None = None  # how well its matches' positions agree with their poses (see pose_consistency)

    def near(self, other: Hypothesis) -> bool:
        """Both predict a logo at about one place (centres closer than half their sizes' sum on both
        axes): one closer look, or one dense verification, serves both."""
        reach = 0.5 * (self.size + other.size)
        return abs(self.centre[0] - other.centre[0]) < reach and abs(self.centre[1] - other.centre[1]) < reach

    def same_pose(self, other: Hypothesis) -> bool:
        """Both predict one pose of one reference (centres within a tenth of its size, sizes within
        10 %, rotations within 15 degrees): aligning one of them says what aligning the other would."""
        close = max(abs(self.centre[0] - other.centre[0]), abs(self.centre[1] - other.centre[1])) < 0.1 * self.size
        turn = abs(float(np.angle(np.exp(1j * (self.angle - other.angle)))))
        return self.ref == other.ref and close and abs(np.log(self.size / other.size)) < 0.1 and turn < np.deg2rad(15)


def hypotheses(
    index: LogoIndex, matches: Matches, photo: Features, *, min_votes: int, max_ratio: float, max_size: float,
    explained: list[Instance], pose_error: bool = False,
) -> list[Hypothesis]:  # fmt: skip
    """Poses predicted by at least ``min_votes`` distinctive matches (ratio below ``max_ratio``) of one
    reference that fall in one Hough bin and outside every verified instance, most votes first.

    A logo under ~100 px leaves a handful of matches at the coarse resolution; chance matches seldom
    agree on scale, rotation and centre as well, so these are where a closer look pays. Only logos
    predicted smaller than ``max_size`` (detection pixels) are of interest: bigger ones had their chance."""
    keep = matches.ratio < max_ratio
    qxy_all = photo.xy[matches.q].astype(np.float64)
    for inst in explained:
        keep &= ~inside_quad(inst.quad, qxy_all)
    out: list[Hypothesis] = []
    scale_all = photo.size[matches.q] / np.maximum(index.size[matches.r], 1e-3)
    for ref_id in np.unique(matches.ref[keep]).tolist():
        ref = index.references[ref_id].features
        # A match predicting a logo far bigger than max_size cannot vote for a small one.
        small = scale_all * max(ref.width, ref.height) < 1.5 * max_size
        sel = np.nonzero(keep & (matches.ref == ref_id) & small)[0]
        if len(np.unique(matches.q[sel])) < min_votes:
            continue
        votes = Votes.of(index, ref_id, matches, sel, photo)
        seen: set[bytes] = set()
        for members in hough(votes, min_votes, max_clusters=8):
            n = len(np.unique(matches.q[sel[members]]))
            if n < min_votes or members.tobytes() in seen:  # neighbouring bins often hold the same matches
                continue
            seen.add(members.tobytes())
            cx, cy = np.median(votes.centre[members], axis=0)
            size = float(np.median(votes.scale[members])) * votes.side
            angle = float(np.angle(np.exp(1j * votes.theta[members]).mean()))  # circular mean
            err = pose_consistency(votes, members) if pose_error else None  # a Python loop over pairs: on demand
            out.append(Hypothesis(ref_id, (float(cx), float(cy)), size, n, angle, err))
    out.sort(key=lambda hyp: (-hyp.votes, hyp.ref))
    return out


def close_agreements(
    index: LogoIndex, matches: Matches, photo: Features, *, min_votes: int, max_ratio: float, max_size: float,
    explained: list[Instance], centre: float = 0.15, size: float = 0.25, most: int = 8,
) -> list[Hypothesis]:  # fmt: skip
    """Poses on which at least ``min_votes`` matches of one party (ratio below ``max_ratio``) agree
    closely: predicted centres within about ``centre`` of the logo's size of each other, and sizes
    within about ``size`` (a fraction); at most ``most``, most votes first.

    A small blurred logo (a party flag across a rally) keeps a few matches whose predicted centres
    agree to a few pixels, but spread over the party's reference images (a full logo and its simplified
    badge draw the same design) and with ratios just above :func:`hypotheses`' cut: neither image's
    Hough bin holds two of them. Pooled over the party, at the index's own ratio cut and with bins
    this tight (rotation ignored: blur turns small keypoints' orientations), chance matches seldom
    agree. Each pose is the hypothesis of the party's reference with the most of its matches."""
    keep = matches.ratio < max_ratio
    qxy = photo.xy[matches.q].astype(np.float64)
    for inst in explained:
        keep &= ~inside_quad(inst.quad, qxy)
    sel = np.nonzero(keep)[0]
    if len(np.unique(matches.q[sel])) < min_votes:
        return []
    refs = matches.ref[sel]
    centres, sizes, thetas = np.empty((len(sel), 2)), np.empty(len(sel)), np.empty(len(sel))
    for ref_id in np.unique(refs).tolist():
        at = np.nonzero(refs == ref_id)[0]
        votes = Votes.of(index, ref_id, matches, sel[at], photo)
        centres[at], sizes[at], thetas[at] = votes.centre, votes.scale * votes.side, votes.theta
    small = sizes < 1.5 * max_size
    sel, refs, centres, sizes, thetas = sel[small], refs[small], centres[small], sizes[small], thetas[small]
    if len(sel) < min_votes:
        return []
    party = index.party[matches.r[sel]].astype(np.int64)
    # Bins of party, size (steps of 1 + size) and centre (steps of `centre` x the bin's size); each
    # match votes for the 2 nearest bins per dimension, as in hough().
    steps = np.log(sizes) / np.log1p(size)
    sb = np.floor(steps)
    sbin = np.stack([sb, sb + np.where(steps - sb >= 0.5, 1, -1)])  # (2, n)
    unit = centre * np.power(1.0 + size, sbin + 0.5)
    fx, fy = centres[:, 0] / unit, centres[:, 1] / unit
    xb, yb = np.floor(fx), np.floor(fy)
    xbin = np.stack([xb, xb + np.where(fx - xb >= 0.5, 1, -1)], axis=1)  # (2 size, 2 x, n)
    ybin = np.stack([yb, yb + np.where(fy - yb >= 0.5, 1, -1)], axis=1)
    code = ((party << 12) | (sbin.astype(np.int64) + 2048))[:, None, None, :]
    keys = (
        (code << 40)
        | ((xbin[:, :, None, :].astype(np.int64) + (1 << 19)) << 20)
        | (ybin[:, None, :, :].astype(np.int64) + (1 << 19))
    )
    keys = np.broadcast_to(keys, (2, 2, 2, len(sel))).reshape(-1)
    ids = np.tile(np.arange(len(sel)), 8)
    # Votes count distinct photo keypoints: one (bin, keypoint) pair each.
    q = matches.q[sel][ids]
    order = np.lexsort((q, keys))
    first = np.ones(len(order), bool)
    first[1:] = (keys[order][1:] != keys[order][:-1]) | (q[order][1:] != q[order][:-1])
    bins, counts = np.unique(keys[order][first], return_counts=True)
    out: list[Hypothesis] = []
    for b in np.lexsort((bins, -counts)):  # most votes first, then by bin: the same order on every run
        if counts[b] < min_votes or len(out) >= most:
            break
        members = np.unique(ids[keys == bins[b]])
        ref_ids, n = np.unique(refs[members], return_counts=True)
        ref_id = int(ref_ids[np.argmax(n)])
        own = members[refs[members] == ref_id]
        cx, cy = np.median(centres[members], axis=0)
        hyp = Hypothesis(
            ref_id, (float(cx), float(cy)), float(np.median(sizes[members])), int(counts[b]),
            float(np.angle(np.exp(1j * thetas[own]).mean())),
        )  # fmt: skip
        if not any(hyp.ref == other.ref and hyp.near(other) for other in out):  # neighbouring bins' matches
            out.append(hyp)
    return out


def pose_consistency(votes: Votes, members: np.ndarray) -> float | None:
    """How well the best-agreeing pair of ``members`` agrees with itself: two matches fix a similarity
    by their positions alone (the photo segment over the reference segment), which must repeat the
    scale and rotation each match's keypoints imply. The error is the worse of the two matches' scale
    error (octaves) plus the worse rotation error (radians). The Hough bins are wide (an octave,
    30 degrees, half a logo): chance pairs fill one and still disagree like this. None when no pair
    is far enough apart on both sides to measure."""
    best: float | None = None
    members = members[:12]  # the strongest dozen say enough
    for a in range(len(members)):
        for b in range(a + 1, len(members)):
            i, j = members[a], members[b]
            dr, dq = votes.rxy[j] - votes.rxy[i], votes.qxy[j] - votes.qxy[i]
            lr, lq = float(np.hypot(*dr)), float(np.hypot(*dq))
            if lr < 8.0 or lq < 1.5:  # one point, or too close for its position to say anything
                continue
            scale = np.log2(lq / lr)
            turn = np.arctan2(dq[1], dq[0]) - np.arctan2(dr[1], dr[0])
            ds = max(abs(scale - np.log2(max(votes.scale[k], 1e-6))) for k in (i, j))
            da = max(abs(float(np.angle(np.exp(1j * (turn - votes.theta[k]))))) for k in (i, j))
            err = float(ds + da)
            best = err if best is None else min(best, err)
    return best


def hough(votes: Votes, min_votes: int, max_clusters: int) -> list[np.ndarray]:
    """Clusters of matches agreeing on scale (octave bins), rotation (30 degree bins) and logo centre
    (bins of half the predicted logo size); each match votes for the 2 nearest bins per dimension.
    At most ``max_clusters``, most votes first, each with at least ``min_votes``."""
    n = len(votes.rxy)
    ls = np.log2(np.maximum(votes.scale, 1e-6))
    sb = np.floor(ls)
    sb2 = sb + np.where(ls - sb >= 0.5, 1, -1)
    ad = np.mod(np.rad2deg(votes.theta), 360.0) / 30.0
    ab = np.floor(ad)
    ab2 = ab + np.where(ad - ab >= 0.5, 1, -1)
    px, py = votes.centre[:, 0], votes.centre[:, 1]
    # Every combination of the two bins per dimension at once, laid out (scale, angle, x, y, match).
    sbin = np.stack([sb, sb2])[:, None, None, None]
    abin = np.stack([ab, ab2])[None, :, None, None]
    unit = 0.5 * votes.side * np.power(2.0, np.stack([sb, sb2]) + 0.5)
    fx, fy = px / unit, py / unit
    xb, yb = np.floor(fx), np.floor(fy)
    xbin = np.stack([xb, xb + np.where(fx - xb >= 0.5, 1, -1)], axis=1)[:, None, :, None]
    ybin = np.stack([yb, yb + np.where(fy - yb >= 0.5, 1, -1)], axis=1)[:, None, None, :]
    # One int64 per bin (scale and angle bins in the high bits, 20 bits per position bin): a 1-D
    # unique is several times faster than unique rows.
    code = ((sbin + 64) * 12 + np.mod(abin, 12)).astype(np.int64)
    allkeys = ((code << 40) | ((xbin.astype(np.int64) + (1 << 19)) << 20) | (ybin.astype(np.int64) + (1 << 19))).ravel()
    allids = np.tile(np.arange(n), 16)
    _, inverse, counts = np.unique(allkeys, return_inverse=True, return_counts=True)
    order = np.argsort(-counts)
    clusters: list[np.ndarray] = []
    for b in order[:max_clusters]:
        if counts[b] < min_votes:
            break
        clusters.append(np.unique(allids[inverse == b]))
    return clusters


def inside_quad(quad: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Points inside a convex, positively wound quadrilateral."""
    ok = np.ones(len(pts), bool)
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        ok &= (b[0] - a[0]) * (pts[:, 1] - a[1]) - (b[1] - a[1]) * (pts[:, 0] - a[0]) >= 0
    return ok


def jacobian(hmat: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """(N, 2, 2) Jacobians of the homography at ``pts``."""
    x, y = pts[:, 0], pts[:, 1]
    wv = hmat[2, 0] * x + hmat[2, 1] * y + hmat[2, 2]
    u = (hmat[0, 0] * x + hmat[0, 1] * y + hmat[0, 2]) / wv
    v = (hmat[1, 0] * x + hmat[1, 1] * y + hmat[1, 2]) / wv
    j = np.empty((len(pts), 2, 2))
    j[:, 0, 0] = (hmat[0, 0] - u * hmat[2, 0]) / wv
    j[:, 0, 1] = (hmat[0, 1] - u * hmat[2, 1]) / wv
    j[:, 1, 0] = (hmat[1, 0] - v * hmat[2, 0]) / wv
    j[:, 1, 1] = (hmat[1, 1] - v * hmat[2, 1]) / wv
    return j


def local_scale(hmat: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """The homography's local scale at ``pts``: the square root of how much it enlarges areas there."""
    return np.sqrt(np.abs(np.linalg.det(jacobian(hmat, pts))))
