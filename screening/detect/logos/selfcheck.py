"""Enrolment check: is each enrolled logo found, as its own party, in a clean view of itself?

A logo too like another party's (the same emblem enrolled for two parties, a coalition's shared mark,
a file enrolled under the wrong party) makes the party-aware ratio test veto the matches of both:
photos showing either would then be reported as neither, silently. A logo with too little detail
is not found either. The operator learns it when enrolling: each logo is shown to the detector on
its own backdrop, at a size where any logo is plainly visible, and must be reported as its party
and no other.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from screening.detect.logos.detector import LogoDetector
from screening.detect.logos.features import foreground_box
from screening.errors import ImageError
from screening.image import LoadedImage, load_image
from screening.registry.logos import REFERENCE_LOAD
from screening.registry.model import Registry

VIEW_SIZE = (800, 600)  # the clean view's canvas (width, height)
LOGO_SIDE = 300  # the logo's long side in it, pixels


def clean_view(bgr: np.ndarray) -> LoadedImage:
    """The logo of a reference image (``bgr``) at :data:`LOGO_SIDE` pixels, centred on a canvas of
    its own backdrop colour."""
    x, y, w, h = foreground_box(bgr)
    crop = bgr[y : y + h, x : x + w]
    f = LOGO_SIDE / max(w, h)
    logo = cv2.resize(crop, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    border = np.concatenate([bgr[0], bgr[-1], bgr[:, 0], bgr[:, -1]])
    canvas = np.empty((VIEW_SIZE[1], VIEW_SIZE[0], 3), np.uint8)
    canvas[:] = np.median(border, axis=0).astype(np.uint8)
    top, left = (VIEW_SIZE[1] - logo.shape[0]) // 2, (VIEW_SIZE[0] - logo.shape[1]) // 2
    canvas[top : top + logo.shape[0], left : left + logo.shape[1]] = logo
    return load_image(cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB))


def self_check(detector: LogoDetector, files: Iterable[str]) -> list[str]:
    """Warnings (``warning: ...``) for the enrolled logo ``files`` (registry paths) that ``detector``
    does not report as their own party, or reports as another party too, in a clean view of
    themselves (see the module docstring). Files not enrolled are skipped."""
    registry = detector.registry
    owner = {ref.file: ref.party for ref in detector.index.references[: detector.index.plain]}
    todo = [rel for rel in files if rel in owner and registry.root is not None]

    def reported_in_view(rel: str) -> list[str] | str:
        try:
            view = clean_view(load_image(registry.resolve(rel), REFERENCE_LOAD).bgr)
        except (OSError, ImageError) as exc:
            return str(exc)
        return sorted({f.party for f in detector.detect(view) if f.party})

    # ~0.2 s a logo: the detector is safe to call from several threads (an agency enrols 40 logos and more).
    with ThreadPoolExecutor(max(1, min(detector.threads, len(todo)))) as pool:
        results = list(pool.map(reported_in_view, todo))
    out: list[str] = []
    for rel, reported in zip(todo, results, strict=True):
        party, name = owner[rel], Path(rel).name
        if isinstance(reported, str):
            out.append(f"warning: party '{party}' logo {name} could not be checked: {reported}")
            continue
        # The party's entry for another election (a logo kept from one election to the next) is itself.
        kin = {p.id for p in registry.party_entries(party)}
        reported = sorted({party if p in kin else p for p in reported})
        others = [p for p in reported if p != party]
        alike = [p for p in _same_image(registry, rel, party) if p not in kin]
        if alike:
            seen = _names(reported) if reported else "no party"
            out.append(
                f"warning: party '{party}' logo {name} is the same image as a logo of {_names(alike)}: one logo "
                f"cannot tell parties apart (a clean view of it is reported as {seen})"
            )
        elif party in reported and others:
            out.append(
                f"warning: party '{party}' logo {name} is also reported as {_names(others)} in a clean view of "
                "itself: the logos look alike, so photos of either may be reported as the other"
            )
        elif others:
            out.append(
                f"warning: party '{party}' logo {name} is reported as {_names(others)}, not as '{party}', in a "
                "clean view of itself: is it enrolled under the right party, or too like another's logo?"
            )
        elif party not in reported:
            out.append(
                f"warning: party '{party}' logo {name} is not found in a clean view of itself: it has too little "
                "detail, or another party's logo is too like it"
            )
    return out


def _same_image(registry: Registry, rel: str, party: str) -> list[str]:
    """Other parties with a logo file of the same content as ``rel``."""
    digest = registry.file_sha256(rel)
    same = (p for p in registry.parties if p.id != party and any(registry.file_sha256(x) == digest for x in p.logos))
    return sorted({p.id for p in same})


def _names(parties: list[str]) -> str:
    return ", ".join(f"'{p}'" for p in parties)
