"""One nearest-neighbour index over the descriptors of every enrolled reference logo.

All references are stacked into one FLANN forest (randomised kd-trees with a fixed number of leaf
checks), so the cost of a query grows roughly with the logarithm of the number of references, not
linearly as one matcher per reference would. The ratio test compares the best neighbour with the
best *competing* one: a neighbour from another party, or from elsewhere in the same reference image.
Neighbours that are the same logo point (another pyramid level, another image of the same party)
do not compete, otherwise a party enrolled with three images would veto its own matches.

Logos printed with light and dark swapped (white ink on a black shirt) are searched for too, at no
extra description cost: swapping light and dark negates every gradient, so SIFT finds the same
keypoints turned half a circle, with the original descriptor's 4 x 4 grid of cells turned half a
circle (orientation bins, measured from the keypoint's own orientation, stay put; RootSIFT keeps the
permutation). The photo's descriptors, so permuted, are searched in the same index as a second query
with its own ratio test; their matches point at "swapped" rows (the reference rows offset by
``len(index)``, turned half a circle) of "swapped" references (the references offset by their
number), which verification treats as references of their own: a print is one way or the other, and
chance matches of the other way must not dilute its evidence. Mixing swapped rows into the one
search instead lost 7 of 445 synthetic logos, small ones mostly: every true match then met twice
the competitors.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from screening.detect.logos.features import REF_SIDE, Features, ReferenceFeatures

_FLANN_KDTREE = 1
_INDEX_SEED = 20240214
SAME_POINT_RADIUS = 0.04 * REF_SIDE  # canonical pixels within which two reference keypoints are "the same point"
# Where each descriptor value goes when light and dark swap: cell (row, col) -> (3 - row, 3 - col).
SWAPPED = np.arange(128).reshape(4, 4, 8)[::-1, ::-1, :].reshape(-1)


@dataclass(frozen=True)
class Reference:
    """One enrolled logo image: who it belongs to and what was computed from it."""

    party: str
    file: str  # path inside the registry
    features: ReferenceFeatures
    swapped: bool = False  # searched for with light and dark swapped (see the module docstring)


@dataclass(frozen=True)
class Matches:
    """Tentative correspondences that passed the ratio test (one per photo keypoint).

    ``q`` indexes the photo features, ``r`` the rows of :attr:`LogoIndex.xy` (swapped rows included),
    ``ref`` the reference image, ``ratio`` is best / competing distance (lower is more distinctive).
    """

    q: np.ndarray
    r: np.ndarray
    ref: np.ndarray
    ratio: np.ndarray

    def where(self, keep: np.ndarray) -> Matches:
        """The matches selected by the boolean mask ``keep``."""
        return Matches(self.q[keep], self.r[keep], self.ref[keep], self.ratio[keep])

    @staticmethod
    def empty() -> Matches:
        return Matches(*(np.zeros(0, np.int32) for _ in range(3)), np.zeros(0, np.float32))

    @staticmethod
    def join(parts: list[Matches], q_offsets: list[int] | None = None) -> Matches:
        """The matches of several searches as one; ``q_offsets`` shifts each part's photo indices
        (parts searched from different photo feature sets, e.g. bands)."""
        shifts = q_offsets or [0] * len(parts)
        return Matches(
            np.concatenate([p.q + off for p, off in zip(parts, shifts, strict=True)]).astype(np.int32),
            np.concatenate([p.r for p in parts]).astype(np.int32),
            np.concatenate([p.ref for p in parts]).astype(np.int32),
            np.concatenate([p.ratio for p in parts]).astype(np.float32),
        )


class LogoIndex:
    """Stacked reference descriptors plus who owns each row; thread-safe queries."""

    def __init__(
        self, references: list[Reference], *, trees: int = 4, checks: int = 48, neighbours: int = 4,
        swapped: bool = True,
    ) -> None:  # fmt: skip
        self.checks = checks
        self.neighbours = neighbours
        self.plain = len(references)  # reference ids from here on are the swapped ones
        plain = Features.join([r.features.features for r in references])
        self.desc = np.ascontiguousarray(plain.desc)
        owner = np.repeat(np.arange(len(references), dtype=np.int32), [len(r.features.features) for r in references])
        party_code = {p: i for i, p in enumerate(sorted({r.party for r in references}))}
        party = np.array([party_code[r.party] for r in references], np.int32)[owner]
        # The stacked arrays are what matching reads: the references keep everything else, not a
        # second copy of their descriptors (~0.9 MB per logo image).
        self.references = [
            dataclasses.replace(r, features=dataclasses.replace(r.features, features=Features.empty()))
            for r in references
        ]
        # With the swapped search, rows len(self) .. 2 len(self) - 1 are the same keypoints turned half a
        # circle, owned by the swapped references (ids len(references) on).
        copies = 2 if swapped else 1
        self.xy = np.tile(plain.xy, (copies, 1))
        self.size = np.tile(plain.size, copies)
        self.angle = np.concatenate([plain.angle, np.mod(plain.angle + 180.0, 360.0)][:copies]).astype(np.float32)
        self.ref = np.concatenate([owner, owner + self.plain][:copies])
        self.party = np.tile(party, copies)
        if swapped:
            self.references += [dataclasses.replace(r, swapped=True) for r in self.references]
        self._trees = trees
        self._local = threading.local()

    @property
    def swapped(self) -> bool:
        """Whether photos are also searched with light and dark swapped (swapped references follow)."""
        return len(self.references) > self.plain

    def __len__(self) -> int:
        return int(self.desc.shape[0])

    def _flann(self) -> cv2.flann.Index:
        # FLANN's index object is not documented as thread-safe for concurrent searches: one per thread,
        # all built from the same read-only arrays (a few tens of ms each, once).
        index = getattr(self._local, "index", None)
        if index is None:
            # The kd-trees are randomised from OpenCV's per-thread RNG: a fixed seed makes every thread's
            # (and every process's) index identical, so the same photo always gets the same verdict.
            cv2.setRNGSeed(_INDEX_SEED)
            index = cv2.flann.Index(self.desc, {"algorithm": _FLANN_KDTREE, "trees": self._trees})
            self._local.index = index
        return index

    def warmup(self) -> None:
        if len(self):
            self._flann()

    def query(self, photo: Features, ratio: float) -> Matches:
        """Match photo descriptors against every reference at once and keep distinctive matches, as
        they are and, when the index has swapped rows, with light and dark swapped."""
        if len(photo) == 0 or len(self) < 2:
            return Matches.empty()
        parts = [self._query(photo.desc, ratio, 0)]
        if self.swapped:
            parts.append(self._query(np.ascontiguousarray(photo.desc[:, SWAPPED]), ratio, len(self)))
        return Matches.join(parts)

    def _query(self, desc: np.ndarray, ratio: float, offset: int) -> Matches:
        """One search: the ratio test over the neighbours of ``desc``; rows returned ``offset`` on."""
        k = min(self.neighbours, len(self))
        idx, dist = self._flann().knnSearch(desc, k, params={"checks": self.checks})
        idx = idx.astype(np.int64)
        valid = idx >= 0
        idx = np.where(valid, idx, 0)
        d = np.sqrt(np.maximum(dist.astype(np.float32), 0.0))
        best = idx[:, 0]
        # Which neighbours compete with the best one (see module docstring).
        same_party = self.party[idx] == self.party[best][:, None]
        same_ref = self.ref[idx] == self.ref[best][:, None]
        near = np.linalg.norm(self.xy[idx] - self.xy[best][:, None, :], axis=2) < SAME_POINT_RADIUS
        competes = valid & ~(same_party & (~same_ref | near))
        competes[:, 0] = False
        has = competes.any(axis=1)
        first = np.argmax(competes, axis=1)
        second = np.where(has, d[np.arange(len(d)), first], d[:, -1])
        second = np.maximum(second, 1e-6)
        # A photo keypoint votes for every reference of the winning party it is distinctively close to:
        # a party enrolled with two designs (or two photos of one) must not split its evidence.
        qs, rs, ratios = [], [], []
        seen_ref = np.full((len(d), k), -1, np.int64)
        for j in range(k):
            rj = self.ref[idx[:, j]]
            fresh = np.all(seen_ref[:, :j] != rj[:, None], axis=1) if j else np.ones(len(d), bool)
            ok = valid[:, j] & (self.party[idx[:, j]] == self.party[best]) & (d[:, j] < ratio * second) & fresh
            seen_ref[:, j] = np.where(ok, rj, -1)
            q = np.nonzero(ok)[0]
            qs.append(q)
            rs.append(idx[q, j])
            ratios.append(d[q, j] / second[q])
        q = np.concatenate(qs).astype(np.int32)
        r = (np.concatenate(rs) + offset).astype(np.int32)
        return Matches(q, r, self.ref[r].astype(np.int32), np.concatenate(ratios).astype(np.float32))
