"""Party logos: find every enrolled reference logo in a photo (flags, shirts, caps, banners, podiums).

Pipeline: RootSIFT keypoints of the photo at a fixed detection size -> one FLANN index over every
reference of every party with a party-aware ratio test (:mod:`index`) -> Hough clustering,
homography fitting and strict geometric + appearance verification, several instances per photo
(:mod:`verify`) -> overlapping claims resolved in favour of the strongest -> findings.

A registry without enrolled logos (the shipped defaults have none) makes a detector that returns
at once.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import cv2
import numpy as np

from screening.detect.base import reject_unknown
from screening.detect.logos.features import Features, extract
from screening.detect.logos.index import LogoIndex, Matches, Reference
from screening.detect.logos.verify import Instance, VerifyConfig, find_instances, suppress
from screening.findings import Box, Finding, FindingKind
from screening.image import LoadedImage
from screening.registry.logos import reference_features
from screening.registry.model import Registry

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class LogoConfig:
    """Settings of ``[detectors.logos]`` in rules.toml (each documented there)."""

    detect_side: int = 1280  # long side the photo is described at (working copy resized to it)
    min_side: int = 800  # smaller photos are enlarged to this, so small logos still yield keypoints
    max_features: int = 8000  # strongest photo keypoints kept (bounds matching time on busy photos)
    contrast: float = 0.03  # SIFT contrast threshold for the photo (lower finds faint prints)
    ratio: float = 0.85  # best / best competing neighbour distance (party-aware ratio test)
    flann_checks: int = 48
    flann_trees: int = 4
    overlap: float = 0.3  # overlapping instances (any party) keep only the best
    threads: int = 0  # horizontal bands described and matched in parallel (0: the runtime's choice)
    band_overlap: int = 64  # detection pixels each band reaches into its neighbours
    # Closer look at small logos: windows where the coarse pass left same-party matches clustered.
    zoom_windows: int = 4  # at most this many windows per photo (0 = no closer look)
    zoom_window: int = 200  # window side, working-copy pixels
    zoom: float = 1.6  # windows are described at this many times the working-copy resolution
    zoom_min_matches: int = 3  # same-party unexplained coarse matches a window needs ...
    zoom_ratio: float = 0.8  # ... each at least this distinctive (ratio test)
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
        # Bands: the config's count, else the runtime's (batch workers run one thread each), else all
        # cores up to 4 (beyond that the overlaps cost more than the split saves).
        self.bands = self.config.threads or threads or min(4, os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        refs: list[Reference] = []
        if registry.root is not None:
            for party in registry.parties:
                for rel in party.logos:
                    refs.append(
                        Reference(party.id, rel, reference_features(registry.root, rel, registry.file_sha256(rel)))
                    )
        self.index = LogoIndex(refs, trees=self.config.flann_trees, checks=self.config.flann_checks)

    @classmethod
    def from_config(cls, runtime: Any, registry: Registry, config: dict[str, Any]) -> LogoDetector:
        """Build from the ``[detectors.logos]`` table; the runtime is unused (no model files)."""
        return cls(registry, LogoConfig.from_dict(config), threads=getattr(runtime, "threads", 0))

    def warmup(self) -> None:
        self.index.warmup()

    def detect(self, image: LoadedImage) -> list[Finding]:
        """Every enrolled logo instance in ``image``; boxes in original pixels."""
        if len(self.index) == 0:
            return []
        gray, factor = self._detection_gray(image)
        cfg = self.config
        photo, matches = self.describe_and_match(gray)
        found: list[Instance] = []
        if len(matches.q) >= cfg.verify.min_inliers:  # else nothing can verify: skip the colour copy
            bgr = image.bgr if factor == 1.0 else cv2.resize(image.bgr, (gray.shape[1], gray.shape[0]))
            found = find_instances(self.index, matches, photo, bgr, cfg.verify)
        windows = self._zoom_windows(matches, photo, found, factor, image.bgr.shape[:2])
        for closer in self._map(lambda window: self._look_closer(image, window, factor), windows):
            found += closer
        instances = suppress(found, cfg.overlap)
        to_original = image.scale / factor
        findings = []
        for inst in instances:
            ref = self.index.references[inst.ref]
            party = self.registry.party(ref.party)
            box = Box.from_points(inst.quad, gray.shape[1], gray.shape[0]).scaled(to_original)
            detail = {
                "reference": ref.file,
                "inliers": inst.inliers,
                "inlier_ratio": round(inst.inlier_ratio, 3),
                "coverage": round(inst.coverage, 3),
                "spread": round(inst.spread, 3),
                "edge_similarity": round(inst.edge_similarity, 3),
                "colour_similarity": None if inst.colour_similarity is None else round(inst.colour_similarity, 3),
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
        image is cut into horizontal bands that are described and matched on parallel threads. Each
        band reaches ``band_overlap`` pixels into its neighbours so that keypoints near a seam are
        found and described with their surroundings, then keeps only the keypoints of its own rows.
        """
        cfg = self.config
        h = gray.shape[0]
        n = max(1, min(self.bands, h // (4 * cfg.band_overlap)))
        if n == 1:
            photo = extract(gray, max_features=cfg.max_features, contrast=cfg.contrast)
            return photo, self.index.query(photo, cfg.ratio)
        cuts = [round(i * h / n) for i in range(n + 1)]

        def band(i: int) -> tuple[Features, Matches]:
            top = max(0, cuts[i] - cfg.band_overlap)
            part = gray[top : min(h, cuts[i + 1] + cfg.band_overlap)]
            feats = extract(part, max_features=cfg.max_features // n, contrast=cfg.contrast)
            y = feats.xy[:, 1] + top
            own = np.nonzero((y >= cuts[i]) & (y < cuts[i + 1]))[0]
            xy = feats.xy[own] + np.array([0, top], np.float32)
            feats = Features(xy, feats.size[own], feats.angle[own], feats.desc[own])
            return feats, self.index.query(feats, cfg.ratio)

        parts = self._map(band, range(n))
        offsets = np.cumsum([0] + [len(f) for f, _ in parts])
        photo = Features(
            np.concatenate([f.xy for f, _ in parts]),
            np.concatenate([f.size for f, _ in parts]),
            np.concatenate([f.angle for f, _ in parts]),
            np.concatenate([f.desc for f, _ in parts]),
        )
        matches = Matches(
            np.concatenate([m.q + off for (_, m), off in zip(parts, offsets, strict=False)]).astype(np.int32),
            np.concatenate([m.r for _, m in parts]),
            np.concatenate([m.ref for _, m in parts]),
            np.concatenate([m.ratio for _, m in parts]),
        )
        return photo, matches

    def _map(self, fn: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
        """``fn`` over ``items``, on the detector's threads when it has more than one."""
        items = list(items)
        if self.bands == 1 or len(items) < 2:
            return [fn(item) for item in items]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.bands, thread_name_prefix="logos")
        return list(self._pool.map(fn, items))

    def _zoom_windows(
        self, matches: Matches, photo: Features, found: list[Instance], factor: float, shape: tuple[int, int]
    ) -> list[tuple[int, int, int, int]]:
        """Working-copy windows (x0, y0, x1, y1) worth a closer look: where coarse matches of one party
        cluster without a verified instance explaining them. A logo under ~120 px gives too few
        keypoints at the coarse resolution to verify, but it does leave a few distinctive matches."""
        cfg = self.config
        if cfg.zoom_windows <= 0 or len(matches.q) < cfg.zoom_min_matches:
            return []
        xy = photo.xy[matches.q].astype(np.float64) / factor  # working-copy pixels
        keep = matches.ratio < cfg.zoom_ratio
        for inst in found:
            x, y, w, h = (v / factor for v in inst.box())
            keep &= ~((xy[:, 0] >= x) & (xy[:, 0] <= x + w) & (xy[:, 1] >= y) & (xy[:, 1] <= y + h))
        if keep.sum() < cfg.zoom_min_matches:
            return []
        # Count one vote per photo keypoint and party on a grid of half-window cells; a window is 2x2 cells.
        party = self.index.party[matches.r][keep]
        q = matches.q[keep]
        xy = xy[keep]
        _, first = np.unique(q.astype(np.int64) * 4096 + party, return_index=True)
        party, xy = party[first], xy[first]
        cell = cfg.zoom_window / 2.0
        h, w = shape
        gh, gw = int(np.ceil(h / cell)) + 1, int(np.ceil(w / cell)) + 1
        n_party = int(self.index.party.max()) + 1
        grid = np.zeros((n_party, gh, gw), np.int32)
        np.add.at(grid, (party, (xy[:, 1] // cell).astype(int), (xy[:, 0] // cell).astype(int)), 1)
        win = grid[:, :-1, :-1] + grid[:, 1:, :-1] + grid[:, :-1, 1:] + grid[:, 1:, 1:]
        best = win.max(axis=0)
        windows: list[tuple[int, int, int, int]] = []
        taken = np.zeros_like(best, bool)
        for flat in np.argsort(-best, axis=None):
            gy, gx = divmod(int(flat), best.shape[1])
            if best[gy, gx] < cfg.zoom_min_matches or len(windows) >= cfg.zoom_windows:
                break
            if taken[gy, gx]:
                continue
            taken[max(0, gy - 1) : gy + 2, max(0, gx - 1) : gx + 2] = True
            # Centre the window on the matches it holds (a logo straddling cells stays whole).
            inside = (xy[:, 0] >= gx * cell) & (xy[:, 0] < (gx + 2) * cell)
            inside &= (xy[:, 1] >= gy * cell) & (xy[:, 1] < (gy + 2) * cell)
            cx, cy = np.median(xy[inside], axis=0)
            side = cfg.zoom_window
            x0 = int(np.clip(cx - side / 2, 0, max(0, w - side)))
            y0 = int(np.clip(cy - side / 2, 0, max(0, h - side)))
            windows.append((x0, y0, min(w, x0 + side), min(h, y0 + side)))
        return windows

    def _look_closer(self, image: LoadedImage, window: tuple[int, int, int, int], factor: float) -> list[Instance]:
        """Describe one window at ``zoom`` x the working copy, match against the same index and verify
        as strictly as the coarse pass; instances come back in detection-image coordinates."""
        cfg = self.config
        x0, y0, x1, y1 = window
        z = cfg.zoom
        size = (round((x1 - x0) * z), round((y1 - y0) * z))
        gray = cv2.resize(image.gray[y0:y1, x0:x1], size, interpolation=cv2.INTER_CUBIC)
        bgr = cv2.resize(image.bgr[y0:y1, x0:x1], size, interpolation=cv2.INTER_CUBIC)
        photo = extract(gray, contrast=cfg.contrast)
        matches = self.index.query(photo, cfg.ratio)
        found = find_instances(self.index, matches, photo, bgr, cfg.verify)
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
