"""One nearest-neighbour index over the descriptors of every enrolled reference logo.

All references are stacked into one FLANN forest (randomised kd-trees with a fixed number of leaf
checks), so the cost of a query grows roughly with the logarithm of the number of references, not
linearly as one matcher per reference would. The ratio test compares the best neighbour with the
best *competing* one: a neighbour from another party, or from elsewhere in the same reference image.
Neighbours that are the same logo point (another pyramid level, another image of the same party, or
of its entry for another election) do not compete, otherwise a party enrolled with three images
would veto its own matches.

Besides each logo as enrolled, the index holds its one-colour prints (a shirt or flag printed in a
single ink, see :func:`features.one_colour`), dark ink on light cloth and, with ``swapped``, light ink
on dark cloth. Swapping light and dark negates every gradient, so SIFT finds the same keypoints turned
half a circle, with the descriptor's 4 x 4 grid of cells turned half a circle (orientation bins,
measured from the keypoint's own orientation, stay put; RootSIFT keeps the permutation): the prints'
forest is searched a second time with the photo's descriptors so permuted, which costs no extra
description and no second forest. (One search of a forest holding both polarities, each kept to its
own ratio test, costs ~0.6x the search CPU but lets ~10 % more chance matches through the ratio
test at the same leaf checks: verification then cost twice as much and the photo no less.)

The prints are searched in a forest of their own, so the search for the logos as enrolled is exactly
what it would be without them (one shared forest, at the same search effort, found 420 of 445
synthetic logos against 427: near-duplicate print rows took its leaf checks). Each kind of row (as
enrolled, dark-ink print, light-ink print) has a ratio test of its own: a logo as enrolled must not
meet its simplified prints, or other parties', as competitors. Dark-ink print matches vote for the
reference itself (verification tries its matches as enrolled, then pooled with the prints' as a
print); light-ink prints vote for a "swapped" reference of their own (ids offset by the number of
enrolled images), since a print is one way or the other and chance matches of the other polarity
must not dilute its evidence.

A logo seen mirrored (a flag from behind, a selfie camera that mirrors) is found the same way: SIFT
of a mirrored image finds the keypoints at mirrored places, with angle 180 - a and the descriptor's
cell rows reversed and orientation bins negated (:data:`features.MIRROR`). The logos' forest is
searched once more with the photo's descriptors so permuted, against "mirrored" rows: each logo's
rows as enrolled, at mirrored places, voting for a mirrored reference of their own (ids offset by
twice the number of enrolled images; its thumbnail and prints flipped for the appearance checks).
The prints' forest is searched so too, against the dark-ink print rows at mirrored places (voting
for the same mirrored reference, which verification then tries as a print) and against the light-ink
rows at mirrored places (voting for a mirrored light-ink reference): a party shirt in a mirror
selfie. Mirroring and swapping light and dark permute different coordinates of the descriptor, so
one permutation of the photo's descriptors serves the two together (:data:`SEARCHED` lists each
kind's). Logos that look the same mirrored are left out (:func:`features.mirror_symmetric`): their
mirror images match them as they are, and the search would only verify them twice. So are photo
keypoints that look the same mirrored (:data:`CHIRAL_MIN`).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from screening.detect.logos.features import (
    MIRROR,
    REF_SIDE,
    SWAPPED,
    Features,
    ReferenceFeatures,
    mirror_symmetric,
    mirrored_features,
    mirrored_places,
)
from screening.detect.logos.forests import kd_forest

_INDEX_SEED = 20240214
# Print rows meet their own other cuts (the same logo point, not competing): twice as many neighbours.
_PRINT_NEIGHBOURS = 2
SAME_POINT_RADIUS = 0.04 * REF_SIDE  # canonical pixels within which two reference keypoints are "the same point"
# A photo keypoint whose descriptor is this close to its own mirror (an edge, a symmetric corner, the
# ring around an emblem: about 10 % of a logo's) looks the same mirrored, so it cannot vote for a
# logo seen mirrored: a logo ringed by a circle was verified as its own mirror image on the ring.
CHIRAL_MIN = 0.5


# The kinds of index rows (each has a ratio test of its own).
AS_ENROLLED, PRINT, SWAPPED_PRINT, MIRRORED, MIRRORED_PRINT, MIRRORED_SWAPPED_PRINT = range(6)
# Only two kinds store descriptors, each in a forest of its own; every other kind's rows are rows of
# one of them, seen another way, and searched with the photo's descriptors permuted to match:
# kind -> (the kind whose descriptors it searches, the permutation of the photo's, None for none).
# (Swapping light and dark and mirroring act on different coordinates of the descriptor: both ways
# round, cell columns reversed and orientation bins negated.)
SEARCHED: dict[int, tuple[int, np.ndarray | None]] = {
    AS_ENROLLED: (AS_ENROLLED, None),
    PRINT: (PRINT, None),
    SWAPPED_PRINT: (PRINT, SWAPPED),
    MIRRORED: (AS_ENROLLED, MIRROR),
    MIRRORED_PRINT: (PRINT, MIRROR),
    MIRRORED_SWAPPED_PRINT: (PRINT, SWAPPED[MIRROR]),
}
_MIRRORED_KINDS = (MIRRORED, MIRRORED_PRINT, MIRRORED_SWAPPED_PRINT)


@dataclass(frozen=True)
class Reference:
    """One enrolled logo image: who it belongs to and what was computed from it; ``swapped``, the
    reference its light-ink prints vote for (see the module docstring)."""

    party: str
    file: str  # path inside the registry
    features: ReferenceFeatures
    swapped: bool = False
    mirrored: bool = False  # the logo seen mirrored (see LogoIndex): its features mirrored, a virtual reference
    # Whose matches compete in the ratio test: a party's entries of several elections (one logo kept
    # from 2024 to 2029) must not veto each other as two parties would. Default: the party itself.
    group: str = ""


@dataclass(frozen=True)
class Matches:
    """Tentative correspondences that passed the ratio test (per photo keypoint, at most one per
    reference and kind of row).

    ``q`` indexes the photo features, ``r`` the rows of :attr:`LogoIndex.xy` (print rows included),
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
        prints: bool = True, swapped: bool = True, mirrored: bool = True, mirror_checks: int = 8,
        cache_dir: Path | None = None,
    ) -> None:  # fmt: skip
        self.checks = checks
        self.mirror_checks = mirror_checks  # leaf checks of the mirrored search (see the module docstring)
        self.neighbours = neighbours
        # Reference ids: the logos as enrolled, then (each offset by plain) their light-ink prints, the
        # logos mirrored, and their light-ink prints mirrored.
        self.plain = len(references)
        # Rows of each kind: (features, owner reference id) per enrolled image. The light-ink rows are the
        # print rows turned half a circle; their descriptors are never stored (the photo's are turned).
        # Likewise the mirrored rows are the other rows, mirrored (see the module docstring).
        kinds: list[list[tuple[Features, int]]] = [[] for _ in SEARCHED]
        for i, r in enumerate(references):
            f, n_print = r.features.features, r.features.print_rows
            cut = len(f) - n_print
            enrolled = f.subset(slice(0, cut))
            kinds[AS_ENROLLED].append((enrolled, i))
            printed = f.subset(slice(cut, len(f)))
            kinds[PRINT].append((printed, i))  # same polarity, same reference: see the module docstring
            turned = Features(printed.xy, printed.size, np.mod(printed.angle + 180.0, 360.0), printed.desc)
            kinds[SWAPPED_PRINT].append((turned, self.plain + i))
            kinds[MIRRORED].append((mirrored_places(enrolled, r.features.width), 2 * self.plain + i))
            kinds[MIRRORED_PRINT].append((mirrored_places(printed, r.features.width), 2 * self.plain + i))
            kinds[MIRRORED_SWAPPED_PRINT].append((mirrored_places(turned, r.features.width), 3 * self.plain + i))
        used = [AS_ENROLLED] + ([PRINT] + ([SWAPPED_PRINT] if swapped else []) if prints else [])
        if mirrored:
            used += [k for k in _MIRRORED_KINDS if SEARCHED[k][0] in used and (k != MIRRORED_SWAPPED_PRINT or swapped)]
        blocks = [(block, k) for k in used for block in kinds[k]]
        where = Features.join([Features(f.xy, f.size, f.angle, f.desc[:, :0]) for (f, _), _ in blocks])
        self.xy, self.size, self.angle = where.xy, where.size, where.angle
        counts = [len(f) for (f, _), _ in blocks]
        # Rows of each reference and kind (contiguous): guided matching reads them (verify.guided).
        starts = np.cumsum([0, *counts])
        self.rows: dict[tuple[int, int], tuple[int, int]] = {
            (i, k): (int(starts[b]), int(starts[b + 1])) for b, ((_, i), k) in enumerate(blocks)
        }
        self.ref = np.repeat(np.array([i for (_, i), _ in blocks], np.int32), counts)
        self.kind = np.repeat(np.array([k for _, k in blocks], np.int8), counts)
        party_code = {p: i for i, p in enumerate(sorted({r.group or r.party for r in references}))}
        self.party = np.array([party_code[r.group or r.party] for r in references] * 4, np.int32)[self.ref]
        # (first row, rows) of each kind. The logos as enrolled are searched in a forest of their own, the
        # prints in another, each as many times as kinds of rows search it (SEARCHED).
        self._spans = {
            k: (int(np.argmax(self.kind == k)), int(np.count_nonzero(self.kind == k)))
            for k in used
            if np.any(self.kind == k)
        }
        searched = [f.desc for (f, _), k in blocks if k in (AS_ENROLLED, PRINT)]
        # Stacked straight into one new array: a fresh process pays a page fault per 4 kB it first
        # writes (an extra 57 MB copy at 40 logos made building the detector take up to 216 ms, not 76).
        self.desc = np.concatenate(searched, dtype=np.float32) if searched else np.zeros((0, 128), np.float32)
        # The stacked arrays are what matching reads: the references keep everything else, not a
        # second copy of their descriptors (~0.9 MB per logo image).
        bare = [
            dataclasses.replace(r, features=dataclasses.replace(r.features, features=Features.empty()))
            for r in references
        ]
        seen_mirrored = [dataclasses.replace(r, mirrored=True, features=mirrored_features(r.features)) for r in bare]
        self.references = (
            bare
            + [dataclasses.replace(r, swapped=True) for r in bare]
            + seen_mirrored
            + [dataclasses.replace(r, swapped=True) for r in seen_mirrored]
        )
        # A logo that looks the same mirrored is found in a mirrored photo as it is: its mirrored matches
        # would only verify it twice.
        # Which references are light-ink prints (as they are or mirrored): dense verification leaves them out.
        self.light_ink = np.array([r.swapped for r in self.references], bool)
        distinct = [not mirror_symmetric(r.features) for r in bare]
        self.mirror_distinct = np.array([False] * (2 * self.plain) + distinct * 2, bool)
        self._trees = trees
        self._cache_dir = cache_dir  # where built forests are kept between processes (see forests.py)
        # One forest per kind, built on first use and shared by every thread (see _forests).
        self._built: dict[int, cv2.flann.Index] = {}
        self._building = {kind: threading.Lock() for kind in (AS_ENROLLED, PRINT)}
        self._ready: list[tuple[int, cv2.flann.Index]] | None = None

    def __len__(self) -> int:
        return int(self.ref.shape[0])

    def descriptors(self, start: int, stop: int) -> np.ndarray:
        """The descriptors of rows ``start:stop`` of one kind. A light-ink or mirrored row has none of its
        own: it is a row as enrolled or a dark-ink print row, searched with the photo's descriptors
        permuted (see :data:`SEARCHED`)."""
        kind = int(self.kind[start])
        shift = self._spans[kind][0] - self._spans[SEARCHED[kind][0]][0]
        return self.desc[start - shift : stop - shift]

    def _forests(self) -> list[tuple[int, cv2.flann.Index]]:
        """(first row, FLANN forest) of the logos as enrolled and, if any, of their prints.

        Built once and shared: OpenCV's kd-tree search keeps its search state per call and per thread
        (pooled heaps keyed by thread id), so concurrent searches of one forest are safe, and a forest
        per thread cost a build per thread (~0.2 s each at 40 logos, on the first photo a process
        screens) and a copy of its rows. A thread builds whichever forest nobody is building yet, then
        waits for the others, so two threads arriving together build the two at once. With a
        ``cache_dir``, a forest saved by an earlier process is loaded instead (see :mod:`forests`)."""
        ready = self._ready
        if ready is not None:
            return ready
        kinds = [k for k in (AS_ENROLLED, PRINT) if self._spans.get(k, (0, 0))[1] >= 2]
        for blocking in (False, True):
            for kind in kinds:
                lock = self._building[kind]
                if not lock.acquire(blocking=blocking):
                    continue  # another thread builds it; build the next, wait for this one after
                try:
                    if kind not in self._built:
                        self._built[kind] = self._build(kind)
                finally:
                    lock.release()
        ready = [(self._spans[k][0], self._built[k]) for k in kinds]
        self._ready = ready
        return ready

    def _build(self, kind: int) -> cv2.flann.Index:
        start, n = self._spans[kind]
        name = "enrolled" if kind == AS_ENROLLED else "prints"
        return kd_forest(
            self.desc[start : start + n], trees=self._trees, seed=_INDEX_SEED, cache_dir=self._cache_dir, name=name
        )

    def warmup(self) -> None:
        """Build the forests now rather than on the first query (call from several threads at once to
        build them in parallel)."""
        if len(self):
            self._forests()

    def query(
        self, photo: Features, ratio: float, print_ratio: float | None = None, mirror_ratio: float | None = None
    ) -> Matches:
        """Match photo descriptors against every reference at once and keep distinctive matches, one
        ratio test per kind of row (see the module docstring); ``print_ratio`` (default ``ratio``) is
        the cut for the print rows, ``mirror_ratio`` (default ``ratio``) for the mirrored search."""
        if len(photo) == 0 or len(self) < 2:
            return Matches.empty()
        parts = []
        chiral: np.ndarray | None = None  # the photo keypoints that do not look the same mirrored
        for start, forest in self._forests():
            stored = self.kind[start]
            n = self._spans[stored][1]
            k = min(self.neighbours * (1 if stored == AS_ENROLLED else _PRINT_NEIGHBOURS), n)
            for kind in [kind for kind in self._spans if SEARCHED[kind][0] == stored]:
                desc, which = photo.desc, None
                cut = ratio if stored == AS_ENROLLED or print_ratio is None else print_ratio
                checks = self.checks
                mirrored = kind in _MIRRORED_KINDS
                if mirrored:
                    if not self.mirror_distinct.any():
                        continue
                    if chiral is None:
                        chiral = np.nonzero(np.linalg.norm(photo.desc - photo.desc[:, MIRROR], axis=1) >= CHIRAL_MIN)[0]
                    desc, which = desc[chiral], chiral
                    # A mirrored print keeps the stricter of the two cuts: it is both a print and mirrored.
                    cut = min(cut, mirror_ratio) if mirror_ratio else cut
                    checks = self.mirror_checks
                permutation = SEARCHED[kind][1]
                if permutation is not None:
                    desc = np.ascontiguousarray(desc[:, permutation])
                if len(desc) == 0:
                    continue
                offset = self._spans[kind][0]
                idx, dist = forest.knnSearch(desc, k, params={"checks": checks})
                idx = idx.astype(np.int64)
                valid = idx >= 0
                idx = np.where(valid, idx + offset, 0)
                d = np.sqrt(np.maximum(dist.astype(np.float32), 0.0))
                found = self._distinctive(idx, valid, d, cut)
                if which is not None:
                    found = Matches(which[found.q].astype(np.int32), found.r, found.ref, found.ratio)
                if mirrored:
                    found = found.where(self.mirror_distinct[found.ref])
                parts.append(found)
        return Matches.join(parts)

    def rival_distance(self, desc: np.ndarray, party: int, k: int = 8) -> np.ndarray:
        """For each photo descriptor, the distance to the nearest row of a party other than ``party`` (a
        code of :attr:`party`) among its ``k`` nearest in each forest (the prints' searched as they are
        and light and dark swapped); inf where none is among them. Guided matching has no ratio test;
        this is the part of it that tells parties apart where colour cannot (see verify.guided)."""
        out = np.full(len(desc), np.inf, np.float32)
        if len(desc) == 0 or len(self) < 2:
            return out
        desc = np.ascontiguousarray(desc, dtype=np.float32)
        for start, forest in self._forests():
            stored = self.kind[start]
            # The caller's descriptors are already as seen (mirrored, for a mirrored logo): every kind of
            # row of this forest but the mirrored ones.
            for kind in [k for k in self._spans if SEARCHED[k][0] == stored and k not in _MIRRORED_KINDS]:
                permutation = SEARCHED[kind][1]
                d = desc if permutation is None else np.ascontiguousarray(desc[:, permutation])
                offset = self._spans[kind][0]
                idx, dist = forest.knnSearch(d, min(k, self._spans[stored][1]), params={"checks": self.checks})
                idx = idx.astype(np.int64)
                other = (idx >= 0) & (self.party[np.where(idx >= 0, idx + offset, 0)] != party)
                near = np.where(other, np.sqrt(np.maximum(dist.astype(np.float32), 0.0)), np.inf).min(axis=1)
                out = np.minimum(out, near)
        return out

    def _distinctive(self, idx: np.ndarray, valid: np.ndarray, d: np.ndarray, cut: float) -> Matches:
        """The ratio test over one search's neighbours ``idx`` (rows of one kind; distances ``d``).

        A row can pass only if its nearest neighbour beats the cut against its farthest retrieved one
        (the competitor is never farther): most rows of the stricter searches do not, so the test
        proper (:meth:`_ratio_test`) runs on the few that might (rows missing a neighbour all do)."""
        rows = np.nonzero((d[:, 0] < cut * np.maximum(d[:, -1], 1e-6)) | ~valid.all(axis=1))[0]
        if len(rows) == 0:
            return Matches.empty()
        found = self._ratio_test(idx[rows], valid[rows], d[rows], cut)
        return Matches(rows[found.q].astype(np.int32), found.r, found.ref, found.ratio)

    def _ratio_test(self, idx: np.ndarray, valid: np.ndarray, d: np.ndarray, cut: float) -> Matches:
        """The ratio test of :meth:`_distinctive` on every row."""
        k = idx.shape[1]
        party = self.party[idx]
        ref = self.ref[idx]
        best = idx[:, 0]
        # Which neighbours compete with the best one (see module docstring).
        same_party = party == self.party[best][:, None]
        same_ref = ref == self.ref[best][:, None]
        near = np.linalg.norm(self.xy[idx] - self.xy[best][:, None, :], axis=2) < SAME_POINT_RADIUS
        competes = valid & ~(same_party & (~same_ref | near))
        competes[:, 0] = False
        # Whatever was not retrieved is at least as far as the last neighbour.
        rival = competes.any(axis=1)
        second = np.where(rival, d[np.arange(len(d)), np.argmax(competes, axis=1)], d[:, -1])
        second = np.maximum(second, 1e-6)
        # A photo keypoint votes for every reference of the winning party it is distinctively close to:
        # a party enrolled with two designs (or two photos of one) must not split its evidence.
        qs, rs, ratios = [], [], []
        seen_ref = np.full((len(d), k), -1, np.int64)
        for j in range(k):
            fresh = np.all(seen_ref[:, :j] != ref[:, j : j + 1], axis=1) if j else np.ones(len(d), bool)
            ok = valid[:, j] & same_party[:, j] & (d[:, j] < cut * second) & fresh
            seen_ref[:, j] = np.where(ok, ref[:, j], -1)
            q = np.nonzero(ok)[0]
            qs.append(q)
            rs.append(idx[q, j])
            ratios.append(d[q, j] / second[q])
        q = np.concatenate(qs).astype(np.int32)
        r = np.concatenate(rs).astype(np.int32)
        return Matches(q, r, self.ref[r].astype(np.int32), np.concatenate(ratios).astype(np.float32))
