"""Guided matching: a fit that looks right but has too few or bunched inliers (part of the logo hidden
by an arm or a fold, or its true matches thinned out by the ratio test) is re-matched where it puts
each of the logo's keypoints (see :mod:`verify`, step 4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from screening.detect.logos.features import Features
from screening.detect.logos.index import (
    AS_ENROLLED,
    MIRROR,
    MIRRORED,
    MIRRORED_PRINT,
    MIRRORED_SWAPPED_PRINT,
    PRINT,
    SEARCHED,
    SWAPPED_PRINT,
    LogoIndex,
)
from screening.detect.logos.poses import inside_quad, jacobian, local_scale

if TYPE_CHECKING:  # verify imports this module
    from screening.detect.logos.verify import VerifyConfig


def guided(
    index: LogoIndex, ref_id: int, hmat: np.ndarray, quad: np.ndarray, photo: Features, thr: float,
    cfg: VerifyConfig, *, printed: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Correspondences found by looking where a fit puts each of the logo's keypoints (guided matching):
    photo keypoints inside ``quad`` within ``thr`` of a projected reference keypoint, of the size and
    orientation the fit predicts there, whose descriptor is close in absolute terms. No ratio test:
    the geometry already singles out the candidate, where the ratio test against every enrolled logo
    discards true matches of a small or partly hidden logo. A ``printed`` fit looks for the keypoints
    of the logo's one-colour prints (and, in dark ink, of the logo as enrolled: its matches helped the
    fit), each of which must be closer than any other party's descriptor (guided_rival_ratio): no
    colour tells parties' prints apart. Returns (reference xy, photo xy, scale)."""
    empty = (np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0))
    inside = np.nonzero(inside_quad(quad, photo.xy.astype(np.float64)))[0]
    if len(inside) == 0:
        return empty
    mirrored = index.references[ref_id].mirrored
    if index.references[ref_id].swapped:
        kinds = [MIRRORED_SWAPPED_PRINT if mirrored else SWAPPED_PRINT]
    elif mirrored:
        kinds = [MIRRORED, MIRRORED_PRINT] if printed else [MIRRORED]
    else:
        kinds = [AS_ENROLLED, PRINT] if printed else [AS_ENROLLED]
    spans = [index.rows[(ref_id, kind)] for kind in kinds if (ref_id, kind) in index.rows]
    found = [f for f in (_guided_rows(index, span, hmat, inside, photo, thr, cfg) for span in spans) if f is not None]
    if not found:
        return empty
    pi = np.concatenate([f[0] for f in found])
    ri = np.concatenate([f[1] for f in found])
    dist = np.concatenate([f[2] for f in found])
    # One reference keypoint per photo keypoint: the closest descriptor.
    order = np.lexsort((dist, pi))
    first = np.ones(len(order), bool)
    first[1:] = pi[order][1:] != pi[order][:-1]
    pi, ri, dist = pi[order][first], ri[order][first], dist[order][first]
    q = inside[pi]
    if printed and len(q):
        # No colour tells a print from another party's print of like shape (two emblems in a disc above
        # a name print much alike): each match must be closer than any other party's descriptor.
        # (Seen mirrored, the photo's descriptors are compared mirrored, with the others' as they are.)
        desc = photo.desc[q][:, MIRROR] if mirrored else photo.desc[q]
        keep = dist < cfg.guided_rival_ratio * index.rival_distance(desc, int(index.party[ri[0]]))
        q, ri = q[keep], ri[keep]
    return (
        index.xy[ri].astype(np.float64),
        photo.xy[q].astype(np.float64),
        (photo.size[q] / np.maximum(index.size[ri], 1e-3)).astype(np.float64),
    )


def _guided_rows(
    index: LogoIndex, span: tuple[int, int], hmat: np.ndarray, inside: np.ndarray, photo: Features, thr: float,
    cfg: VerifyConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:  # fmt: skip
    """Guided correspondences with the index rows ``span`` of one reference and kind: (positions in
    ``inside``, index rows, descriptor distances), several per photo keypoint; None when there are none."""
    start, stop = span
    if stop <= start:
        return None
    rxy = index.xy[start:stop].astype(np.float64)
    proj = cv2.perspectiveTransform(rxy.reshape(-1, 1, 2), hmat).reshape(-1, 2)
    expected = index.size[start:stop] * local_scale(hmat, rxy)
    pi, ri = pairs_within(photo.xy[inside].astype(np.float64), proj, thr)
    ratio = photo.size[inside[pi]] / np.maximum(expected[ri], 1e-6)
    keep = (ratio > 1.0 / cfg.max_scale_disagreement) & (ratio < cfg.max_scale_disagreement)
    pi, ri = pi[keep], ri[keep]
    if len(pi) == 0:
        return None
    # Rotation the fit implies at each reference keypoint (the image of its x axis).
    jac = jacobian(hmat, rxy[ri])
    rot = np.rad2deg(np.arctan2(jac[:, 1, 0], jac[:, 0, 0]))
    turn = photo.angle[inside[pi]] - index.angle[start + ri] - rot
    turn = np.abs((turn + 180.0) % 360.0 - 180.0)
    keep = turn < cfg.guided_max_angle
    pi, ri = pi[keep], ri[keep]
    desc = photo.desc[inside[pi]]
    permutation = SEARCHED[int(index.kind[start])][1]  # light ink, mirrored: the photo's descriptors permuted
    if permutation is not None:
        desc = desc[:, permutation]
    dist = np.linalg.norm(desc - index.descriptors(start, stop)[ri], axis=1)
    keep = dist < cfg.guided_max_distance
    return pi[keep], start + ri[keep], dist[keep]


def pairs_within(a: np.ndarray, b: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i, j) with ``a[i]`` closer than ``radius`` to ``b[j]``, ordered by i, then j.

    A grid of cells ``radius`` wide: only points in neighbouring cells can be that close, so the cost
    grows with the points and the pairs, not their product (a big outline on a busy photo holds
    thousands of keypoints, and the reference thousands more: comparing all of them took half of the
    detector's time on such photos)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cell_a = np.floor(a / radius).astype(np.int64)
    cell_b = np.floor(b / radius).astype(np.int64)
    low = np.minimum(cell_a.min(axis=0), cell_b.min(axis=0)) - 1  # every looked-up cell non-negative
    cell_a -= low
    cell_b -= low
    width = int(max(cell_a[:, 0].max(), cell_b[:, 0].max())) + 2
    key = cell_a[:, 1] * width + cell_a[:, 0]
    order = np.argsort(key, kind="stable")
    key = key[order]
    found_i, found_j = [], []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            wanted = (cell_b[:, 1] + dy) * width + cell_b[:, 0] + dx
            start = np.searchsorted(key, wanted, side="left")
            count = np.searchsorted(key, wanted, side="right") - start
            total = int(count.sum())
            if total == 0:
                continue
            # Each b point's run of a points in that cell, laid end to end.
            offset = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
            found_i.append(order[np.repeat(start, count) + offset])
            found_j.append(np.repeat(np.arange(len(b)), count))
    if not found_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    i = np.concatenate(found_i)
    j = np.concatenate(found_j)
    keep = np.linalg.norm(a[i] - b[j], axis=1) < radius
    i, j = i[keep], j[keep]
    order = np.lexsort((j, i))
    return i[order], j[order]
