"""Party logos: find every enrolled reference logo in a photo (flags, shirts, caps, banners, podiums).

Pipeline: RootSIFT keypoints of the photo at a fixed detection size, in horizontal bands described
and matched on parallel threads -> one FLANN index over every reference of every party, and of
their one-colour prints, with a party-aware ratio test (:mod:`index`) -> Hough clustering,
homography or affine fitting and strict geometric + appearance verification, several instances per
photo (:mod:`verify`) -> a closer look,
enlarged, where a few matches agree on the pose of a logo too small to verify, and where that
verifies nothing, the logo's pixels aligned with the photo at that pose (:mod:`dense`) -> overlapping
claims resolved in favour of the strongest -> findings.

A registry without enrolled logos (the shipped defaults have none) makes a detector that returns
at once.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple, TypeVar

import cv2
import numpy as np

from screening.detect.base import reject_unknown
from screening.detect.logos.appearance import ColourView
from screening.detect.logos.dense import verify_densely
from screening.detect.logos.features import Features, extract
from screening.detect.logos.index import AS_ENROLLED, PRINT, SWAPPED_PRINT, LogoIndex, Matches, Reference
from screening.detect.logos.poses import Hypothesis, close_agreements, hypotheses
from screening.detect.logos.verify import Instance, VerifyConfig, candidate_references, find_instances, suppress
from screening.findings import Box, Finding, FindingKind
from screening.image import LoadedImage
from screening.registry.logos import logo_cache_dir, reference_features
from screening.registry.model import Registry

_T = TypeVar("_T")
_R = TypeVar("_R")


class Window(NamedTuple):
    """A working-copy region (x0, y0, x1, y1), how many times enlarged it is described, and the pose
    hypothesis it looks at."""

    x0: int
    y0: int
    x1: int
    y1: int
    zoom: float
    hypothesis: Hypothesis


@dataclass
class StageTimes:
    """Where one :meth:`LogoDetector.detect` call spent its time (wall ms), for benchmarks: keypoints and
    index search, verification, closer looks (windows and dense verification), and how many windows."""

    describe_ms: float = 0.0
    verify_ms: float = 0.0
    closer_ms: float = 0.0
    windows: int = 0


@dataclass(frozen=True)
class LogoConfig:
    """Settings of ``[detectors.logos]`` in rules.toml (each documented there)."""

    detect_side: int = 1152  # long side the photo is described at (working copy resized to it)
    min_side: int = 1024  # smaller photos are enlarged to this, so small logos still yield keypoints
    max_features: int = 6000  # strongest photo keypoints kept (bounds matching time on busy photos)
    contrast: float = 0.04  # SIFT contrast threshold for the photo (lower finds faint prints)
    ratio: float = 0.9  # best / best competing neighbour distance (party-aware ratio test)
    print_ratio: float = 0.7  # ... for the one-colour prints' rows
    flann_checks: int = 16
    flann_trees: int = 4
    prints: bool = True  # also search for the logos printed in one colour, dark ink on light cloth ...
    swapped: bool = True  # ... and light ink on dark cloth
    mirrored: bool = True  # search for logos seen mirrored too (a flag from behind, a mirrored selfie)
    mirror_ratio: float = 0.8  # ... with this ratio test
    mirror_checks: int = 8  # ... and this many leaf checks
    overlap: float = 0.3  # overlapping instances (any party) keep only the best
    bands: int = 2  # horizontal bands the photo is described in (fixed, so results never depend on threads)
    band_overlap: int = 40  # detection pixels each band reaches into its neighbours
    # Closer look at small logos: where a few distinctive coarse matches of one reference agree on a pose
    # that no verified instance explains, a window around the predicted logo is described again with the
    # logo enlarged to about zoom_target pixels (at most zoom_max x the working copy).
    zoom_windows: int = 4  # at most this many windows per photo (0 = no closer look)
    zoom_min_matches: int = 2  # agreeing coarse matches a hypothesis needs ...
    print_zoom_min_matches: int = 2  # ... of a one-colour print (0 = none)
    zoom_ratio: float = 0.85  # ... each at least this distinctive (ratio test)
    zoom_max_pose_error: float = 1.5  # ... and positions agreeing with their poses (poses.pose_consistency; 0 = off)
    zoom_target: float = 160.0  # predicted logo long side in the window, pixels
    zoom_max: float = 2.5
    zoom_margin: float = 2.0  # window side / predicted logo side (room for the prediction's error)
    zoom_max_features: int = 500  # strongest window keypoints kept (0 = all): bounds a window's cost
    # Dense verification (see :mod:`dense`) of pose hypotheses beyond the windows': at most this many,
    # voted by the logos' matches as enrolled and as dark-ink prints (0 = windows' hypotheses only).
    dense_hypotheses: int = 4
    dense_per_place: int = 2  # ... and of the poses predicted at one place (a window's counts as one)
    dense_close: int = 4  # ... then at most this many poses a party's matches agree on closely (0 = none)
    dense_close_votes: int = 3  # ... with this many matches at least
    verify: VerifyConfig = field(default_factory=VerifyConfig)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LogoConfig:
        own = {f.name for f in fields(cls)} - {"verify"}
        ver = {f.name for f in fields(VerifyConfig)}
        reject_unknown("logos", raw, own | ver)
        verify = VerifyConfig(**{k: v for k, v in raw.items() if k in ver})
        return cls(**{k: v for k, v in raw.items() if k in own}, verify=verify)


class LogoDetector:
    """Finds enrolled party logos. Read-only after construction; safe to call from many threads."""

    name = "logos"

    def __init__(self, registry: Registry, config: LogoConfig | None = None, *, threads: int = 0) -> None:
        self.registry = registry
        self.config = config or LogoConfig()
        # Threads for bands, verification and closer looks: the runtime's (batch workers run one each),
        # else the cores, so that many callers screening at once still use them all. One photo keeps
        # about `bands` of them busy. Only speed depends on this, never results.
        self.threads = max(1, threads or os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        refs: list[Reference] = []
        if registry.root is not None:
            root = registry.root
            enrolled = _distinct_logos(registry)
            # Read from the cache, or computed (~0.7 s each: a registry enrolled by hand, or cached by an
            # older feature version) on the detector's threads: SIFT releases the GIL.
            feats = self._map(lambda e: reference_features(root, e[1], registry.file_sha256(e[1])), enrolled)
            key = {party.id: party.key for party in registry.parties}
            refs = [Reference(pid, rel, f, group=key[pid]) for (pid, rel), f in zip(enrolled, feats, strict=True)]
        self.index = LogoIndex(
            refs, trees=self.config.flann_trees, checks=self.config.flann_checks, prints=self.config.prints,
            swapped=self.config.swapped, mirrored=self.config.mirrored, mirror_checks=self.config.mirror_checks,
            cache_dir=logo_cache_dir(registry.root) if registry.root else None,
        )  # fmt: skip

    @classmethod
    def from_config(cls, runtime: Any, registry: Registry, config: dict[str, Any]) -> LogoDetector:
        """Build from the ``[detectors.logos]`` table; of the runtime only its thread count is used (no
        model files)."""
        return cls(registry, LogoConfig.from_dict(config), threads=getattr(runtime, "threads", 0))

    def warmup(self) -> None:
        """Build the index's FLANN forests (shared by all threads), in parallel when there are threads."""
        if self.threads == 1 or not len(self.index):
            self.index.warmup()
        else:
            self._map(lambda _: self.index.warmup(), range(min(self.threads, 2)))  # one forest each

    def detect(self, image: LoadedImage, *, times: StageTimes | None = None) -> list[Finding]:
        """Every enrolled logo instance in ``image``; boxes in original pixels. ``times``, when given, is
        filled in with where the call spent its time."""
        if len(self.index) == 0:
            return []
        start = time.perf_counter()
        gray, factor = self._detection_gray(image)
        cfg = self.config
        photo, matches = self.describe_and_match(gray)
        described = time.perf_counter()
        found: list[Instance] = []
        colour = ColourView(image.bgr, 1.0 / factor)  # what appearance checks sample, at detection scale
        if len(matches.q) >= cfg.verify.fewest_inliers:  # else nothing can verify
            groups = candidate_references(matches, cfg.verify, min(self.threads, cfg.bands))
            verified = self._map(
                lambda refs: find_instances(self.index, matches, photo, colour, cfg.verify, refs), groups
            )
            # In reference order whatever the grouping: ties in suppression must not depend on threads.
            found = sorted((inst for part in verified for inst in part), key=lambda inst: inst.ref)
        verified_at = time.perf_counter()
        # The closer look serves the logos as enrolled first, then their prints: pooled, the print rows'
        # chance agreements outvoted them and added windows (the costliest stage on busy photos: 1
        # became 4 on the 20-logo bench photo); kept apart, 1 becomes 2 there and 2 stay 2 at 40 logos.
        # Mirrored matches get no window: their chance agreements added windows on busy photos (29
        # instead of 26 on 30 synthetic scenes); a small mirrored logo is left to dense verification.
        kind = self.index.kind[matches.r]
        enrolled = matches.where(kind == AS_ENROLLED)
        prints = matches.where((kind == PRINT) | (kind == SWAPPED_PRINT))
        windows = self._zoom_windows(enrolled, prints, photo, found, factor, image.bgr.shape[:2])
        for closer in self._map(lambda window: self._window(image, window, factor, enrolled, photo, colour), windows):
            found += closer
        if cfg.verify.dense and cfg.dense_hypotheses > 0:
            found += self._dense_hypotheses(matches, photo, found, windows, factor, colour)
        if times is not None:
            times.describe_ms = (described - start) * 1000
            times.verify_ms = (verified_at - described) * 1000
            times.closer_ms = (time.perf_counter() - verified_at) * 1000
            times.windows = len(windows)
        instances = suppress(found, cfg.overlap)
        to_original = image.scale / factor
        findings = []
        for inst in instances:
            ref = self.index.references[inst.ref]
            party = self.registry.party(ref.party)
            box = Box.from_points(inst.quad, gray.shape[1], gray.shape[0]).scaled(to_original)
            detail = {
                "reference": ref.file,
                "one_colour_print": inst.printed,  # found as printed in one ink (a shirt, a flag)
                "light_dark_swapped": ref.swapped and inst.printed,  # ... light ink on dark cloth
                "mirrored": ref.mirrored,  # seen mirrored: from behind a flag, in a mirrored selfie
                "guided_matching": inst.guided,  # re-matched where the fit put the logo (partly hidden)
                "dense_alignment": inst.dense,  # small or blurred: its pixels aligned with the logo's
                "other_colours": inst.colourway,  # the logo's shape in another colourway (a jersey variant)
                "inliers": inst.inliers,
                # Dense alignment fits no homography to matches: these measures do not exist for it.
                "inlier_ratio": None if inst.dense else round(inst.inlier_ratio, 3),
                "coverage": None if inst.dense else round(inst.coverage, 3),
                "spread": None if inst.dense else round(inst.spread, 3),
                "edge_similarity": round(inst.edge_similarity, 3),
                "colour_similarity": None if inst.colour_similarity is None else round(inst.colour_similarity, 3),
                "print_tone": None if inst.print_tone is None else round(inst.print_tone, 3),
                "outline": [
                    [round(float(px) * to_original, 1), round(float(py) * to_original, 1)] for px, py in inst.quad
                ],
            }
            findings.append(
                Finding(
                    kind=FindingKind.LOGO,
                    label=party.abbreviation if party else ref.party,
                    score=inst.score,
                    box=box,
                    party=ref.party,
                    election=party.election if party else None,
                    detail=detail,
                )
            )
        return findings

    def describe_and_match(self, gray: np.ndarray) -> tuple[Features, Matches]:
        """Keypoints of the detection image and their matches against the index.

        SIFT and the FLANN search are most of the detector's time and both release the GIL, so the
        image is cut into horizontal bands that are described on parallel threads. Each band reaches
        ``band_overlap`` pixels into its neighbours so that keypoints near a seam are found and
        described with their surroundings, then keeps only the keypoints of its own rows. The search
        is then split into as many equal runs of keypoints, not by band: a band of sky beside one of
        crowd left a thread idle for a quarter of the search on average (devset photos).
        """
        cfg = self.config
        h = gray.shape[0]
        n = max(1, min(cfg.bands, h // (4 * cfg.band_overlap)))
        cuts = [round(i * h / n) for i in range(n + 1)]

        def band(i: int) -> Features:
            top = max(0, cuts[i] - cfg.band_overlap)
            part = gray[top : min(h, cuts[i + 1] + cfg.band_overlap)]
            feats = extract(part, max_features=cfg.max_features // n, contrast=cfg.contrast)
            y = feats.xy[:, 1] + top
            feats = feats.subset((y >= cuts[i]) & (y < cuts[i + 1]))
            return Features(feats.xy + np.array([0, top], np.float32), feats.size, feats.angle, feats.desc)

        photo = Features.join(self._map(band, range(n)))
        runs = [round(i * len(photo) / n) for i in range(n + 1)]
        found = self._map(
            lambda i: self.index.query(
                photo.subset(slice(runs[i], runs[i + 1])), cfg.ratio, cfg.print_ratio, cfg.mirror_ratio
            ),
            range(n),
        )
        return photo, Matches.join(found, runs[:-1])

    def _map(self, fn: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
        """``fn`` over ``items``, on the detector's threads when it has more than one."""
        items = list(items)
        if self.threads == 1 or not items:
            return [fn(item) for item in items]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="logos")
        return list(self._pool.map(fn, items))

    def _zoom_windows(
        self, matches: Matches, printed: Matches, photo: Features, found: list[Instance], factor: float,
        shape: tuple[int, int],
    ) -> list[Window]:  # fmt: skip
        """Working-copy windows worth a closer look, with the enlargement each is described at: around
        the strongest unexplained pose hypotheses (see :func:`poses.hypotheses`) of the logos as
        enrolled (``matches``), then of their one-colour prints (``printed``), one per place."""
        cfg = self.config
        if cfg.zoom_windows <= 0:
            return []
        hyps: list[Hypothesis] = []
        for these, votes in ((matches, cfg.zoom_min_matches), (printed, cfg.print_zoom_min_matches)):
            if votes > 0 and len(these.q) >= votes:
                hyps += hypotheses(
                    self.index, these, photo, min_votes=votes, max_ratio=cfg.zoom_ratio,
                    max_size=cfg.zoom_target * factor, explained=found, pose_error=cfg.zoom_max_pose_error > 0,
                )  # fmt: skip
        h, w = shape
        windows: list[Window] = []
        for hyp in hyps:
            if len(windows) >= cfg.zoom_windows:
                break
            cx, cy, size = hyp.centre[0] / factor, hyp.centre[1] / factor, hyp.size / factor  # working copy
            if not (0 <= cx < w and 0 <= cy < h) or not 8 <= size < cfg.zoom_target:
                continue  # off the photo, absurd, or big enough that the coarse pass saw it well
            if any(hyp.near(other.hypothesis) for other in windows):
                continue  # another reference's (or pose's) hypothesis already looks here
            if hyp.pose_error is not None and hyp.pose_error > cfg.zoom_max_pose_error:  # measured when on
                continue  # a chance agreement: its matches' positions contradict their poses
            side = int(min(max(h, w), max(64.0, cfg.zoom_margin * size)))
            x0 = int(np.clip(cx - side / 2, 0, max(0, w - side)))
            y0 = int(np.clip(cy - side / 2, 0, max(0, h - side)))
            zoom = float(np.clip(cfg.zoom_target / size, 1.0, cfg.zoom_max))
            windows.append(Window(x0, y0, min(w, x0 + side), min(h, y0 + side), zoom, hyp))
        return windows

    def _dense_hypotheses(
        self, matches: Matches, photo: Features, found: list[Instance], windows: list[Window], factor: float,
        colour: ColourView,
    ) -> list[Instance]:  # fmt: skip
        """Dense verification of the strongest unexplained pose hypotheses no window looked at. These
        are also voted by the dark-ink prints' matches (a blurred logo keeps few distinctive matches
        as enrolled, and its simplified prints match it as well), which would add windows on busy
        photos (see :meth:`_zoom_windows`) but cost ~1 ms each here; then a few poses a party's
        matches agree on closely (:func:`poses.close_agreements`)."""
        cfg = self.config
        own = matches.where(~self.index.light_ink[matches.ref])  # as enrolled and dark-ink prints, mirrored or not
        hyps = hypotheses(
            self.index, own, photo, min_votes=cfg.zoom_min_matches, max_ratio=cfg.zoom_ratio,
            max_size=cfg.zoom_target * factor, explained=found,
        )  # fmt: skip
        # Places already looked at (a window's hypothesis was aligned there) and the poses tried at each:
        # the Hough bins are wide, and the pose with the most votes at a place is not always the one
        # that aligns (a blurred logo's second pose, one vote fewer, did where its first did not).
        places = [w.hypothesis for w in windows]
        tried = [1] * len(places)
        todo: list[Hypothesis] = []
        for hyp in hyps:
            if len(todo) >= cfg.dense_hypotheses:
                break
            at = next((i for i, place in enumerate(places) if hyp.near(place)), None)
            if at is None:
                places.append(hyp)
                tried.append(1)
                todo.append(hyp)
            elif tried[at] < cfg.dense_per_place and not hyp.same_pose(places[at]):
                tried[at] += 1
                todo.append(hyp)
        # Then the poses a party's matches agree on closely (see poses.close_agreements), where nothing
        # aligned that reference yet: a blurred flag's matches, split over the party's images.
        if cfg.dense_close > 0:
            aligned = [w.hypothesis for w in windows] + todo
            close = close_agreements(
                self.index, own, photo, min_votes=cfg.dense_close_votes, max_ratio=cfg.ratio,
                max_size=cfg.zoom_target * factor, explained=found,
            )  # fmt: skip
            fresh = [hyp for hyp in close if not any(hyp.ref == o.ref and hyp.near(o) for o in aligned)]
            todo += fresh[: cfg.dense_close]
        out = [verify_densely(self.index, hyp, own, photo.xy, colour, cfg.verify) for hyp in todo]
        return [inst for inst in out if inst is not None]

    def _window(
        self, image: LoadedImage, window: Window, factor: float, enrolled: Matches, photo: Features,
        colour: ColourView,
    ) -> list[Instance]:  # fmt: skip
        """The closer look at one window; where it verifies nothing, the window's hypothesis aligned
        densely (see :mod:`dense`; ``enrolled``: the coarse matches the hypothesis came from)."""
        found = self._look_closer(image, window, factor)
        if found or not self.config.verify.dense:
            return found
        inst = verify_densely(self.index, window.hypothesis, enrolled, photo.xy, colour, self.config.verify)
        return [] if inst is None else [inst]

    def _look_closer(self, image: LoadedImage, window: Window, factor: float) -> list[Instance]:
        """Describe one window enlarged, match against the same index and verify as strictly as the
        coarse pass; instances come back in detection-image coordinates."""
        cfg = self.config
        x0, y0, x1, y1, z = window.x0, window.y0, window.x1, window.y1, window.zoom
        size = (round((x1 - x0) * z), round((y1 - y0) * z))
        interp = cv2.INTER_CUBIC if z > 1 else cv2.INTER_AREA
        gray = cv2.resize(image.gray[y0:y1, x0:x1], size, interpolation=interp)
        photo = extract(gray, max_features=cfg.zoom_max_features, contrast=cfg.contrast)
        matches = self.index.query(photo, cfg.ratio, cfg.print_ratio, cfg.mirror_ratio)
        # Appearance is sampled from the working copy itself (window pixels are 1/z of it).
        colour = ColourView(image.bgr[y0:y1, x0:x1], 1.0 / z)
        found = find_instances(self.index, matches, photo, colour, cfg.verify)
        # window pixels -> working copy -> detection image
        to_det = np.array([[factor / z, 0, factor * x0], [0, factor / z, factor * y0], [0, 0, 1]], np.float64)
        return [
            dataclasses.replace(
                inst,
                homography=to_det @ inst.homography,
                quad=inst.quad * (factor / z) + np.array([factor * x0, factor * y0]),
            )
            for inst in found
        ]

    def _detection_gray(self, image: LoadedImage) -> tuple[np.ndarray, float]:
        """The grayscale image keypoints are taken from, and its size relative to the working copy."""
        h, w = image.bgr.shape[:2]
        side = max(h, w)
        target = min(max(side, self.config.min_side), self.config.detect_side)
        factor = target / side
        if abs(factor - 1.0) < 1e-3:
            return image.gray, 1.0
        interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
        gray = cv2.resize(image.gray, (round(w * factor), round(h * factor)), interpolation=interp)
        return gray, factor


def _distinct_logos(registry: Registry) -> list[tuple[str, str]]:
    """(party id, logo path) of every enrolled logo image, but each image once per party: a logo kept
    from one election to the next is enrolled on both entries, and a second copy of its rows in the
    index took the leaf checks and neighbours of the first (40 logos enrolled twice: 129 of 137
    synthetic logos found, not 134). Its first entry reports it; the rules pick the election."""
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    for party in registry.parties:
        for rel in party.logos:
            image = (party.key, registry.file_sha256(rel))
            if image not in seen:
                seen.add(image)
                out.append((party.id, rel))
    return out
