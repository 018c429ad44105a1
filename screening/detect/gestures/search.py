"""Where to look for hands that the whole-photo pass is too coarse to see.

The palm model sees the photo as a 192x192 letterbox, so in a 1600-pixel group photo a 60-pixel hand
shrinks to 7 pixels and is lost. People's hands are about as big as their faces and near them, so a
cheap face pass (YuNet, ~3-10 ms) tells both where people are and how far to zoom: each small face
asks for a square around it, and the squares are tiled so that a face comes out about
``face_px`` model pixels wide. A photo without people gets no tiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from screening.detect.faces.locate import SMALL_SIDE, FaceLocator
from screening.detect.gestures.palm import INPUT_SIZE, Region

FACE_INPUT = SMALL_SIDE  # the face pass looks at a copy this long, where YuNet needs one inference


@dataclass(frozen=True)
class Face:
    """A face box in working pixels (x0, y0, x1, y1) and its score."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    def person_area(self, width: int, height: int) -> tuple[float, float, float, float]:
        """Where this person's hands can be (x0, y0, x1, y1), clipped to the photo: about two and a
        half face widths up and sideways, four down."""
        w = self.width
        return (
            max(0.0, self.x0 - 2.5 * w),
            max(0.0, self.y0 - 2.0 * w),
            min(float(width), self.x1 + 2.5 * w),
            min(float(height), self.y1 + 4.0 * w),
        )

    def has_hand_near(self, palm_boxes: list[np.ndarray], width: int, height: int) -> bool:
        """True when one of ``palm_boxes`` (x0, y0, x1, y1) is centred in this person's area."""
        x0, y0, x1, y1 = self.person_area(width, height)
        return any(x0 <= (b[0] + b[2]) / 2 <= x1 and y0 <= (b[1] + b[3]) / 2 <= y1 for b in palm_boxes)

    def scaled(self, factor: float) -> Face:
        return Face(self.x0 * factor, self.y0 * factor, self.x1 * factor, self.y1 * factor, self.score)


def find_faces(locator: FaceLocator, bgr: np.ndarray) -> list[Face]:
    """Faces in ``bgr`` (a copy at most 640 px long, so one YuNet pass) as corner boxes, found by the
    face detector's own locator and session."""
    faces = []
    for fb in locator.locate(bgr):
        x, y, w, h = (float(v) for v in fb.box)
        faces.append(Face(x, y, x + w, y + h, fb.score))
    return faces


def plan_tiles(
    width: int,
    height: int,
    faces: list[Face],
    *,
    face_px: float = 40.0,
    max_tiles: int = 12,
    overlap: float = 0.25,
    max_side: float = 0.5,
) -> tuple[list[Region], float]:
    """Square tiles covering the space around every face too small for the whole-photo pass.

    A face is small when, in the whole-photo letterbox, it is narrower than ``face_px`` model pixels.
    Tiles are sized so the median small face is ``face_px`` wide in them, laid on a grid with
    ``overlap`` over the union of the people's areas (``max_side`` of the photo's long side at most),
    and only tiles touching a person's area are kept (duplicates dropped); if more than ``max_tiles``
    are needed, tiles grow until they fit. Returns the tiles and their side (tiles at the photo's edge
    may be cut shorter).
    """
    long_side = max(width, height)
    small = [f for f in faces if f.width * INPUT_SIZE / long_side < face_px]
    if not small:
        return [], 0.0
    side = float(np.median([f.width for f in small])) * INPUT_SIZE / face_px
    # Tiles zoom at least 2x over the whole-photo pass: a face detector that calls a fist a face (or a
    # face much larger than the hands) must not leave the tiles as coarse as the pass they extend.
    side = min(side, long_side * max_side)
    # A person's area: hands reach about two face widths up and sideways and four down.
    areas = [f.person_area(width, height) for f in small]
    ux0, uy0 = min(a[0] for a in areas), min(a[1] for a in areas)
    ux1, uy1 = max(a[2] for a in areas), max(a[3] for a in areas)
    while True:
        tiles = _grid(ux0, uy0, ux1, uy1, side, overlap, width, height)
        tiles = list(dict.fromkeys(t for t in tiles if any(_touches(t, a) for a in areas)))
        if len(tiles) <= max_tiles or side >= long_side:
            return tiles[:max_tiles], side
        side *= 1.25


def _grid(
    x0: float, y0: float, x1: float, y1: float, side: float, overlap: float, width: int, height: int
) -> list[Region]:
    step = side * (1.0 - overlap)

    def starts(lo: float, hi: float, limit: int) -> list[float]:
        span = hi - lo
        if span <= side:
            centre = (lo + hi) / 2
            return [min(max(0.0, centre - side / 2), max(0.0, limit - side))]
        n = math.ceil((span - side) / step) + 1
        real_step = (span - side) / (n - 1)
        return [lo + i * real_step for i in range(n)]

    out: list[Region] = []
    for ty in starts(y0, y1, height):
        for tx in starts(x0, x1, width):
            rx0, ry0 = int(max(0, tx)), int(max(0, ty))
            rx1, ry1 = int(min(width, tx + side)), int(min(height, ty + side))
            if rx1 - rx0 >= 8 and ry1 - ry0 >= 8:
                out.append(Region(rx0, ry0, rx1, ry1))
    return out


def _touches(t: Region, a: tuple[float, float, float, float]) -> bool:
    ix = min(t.x1, a[2]) - max(t.x0, a[0])
    iy = min(t.y1, a[3]) - max(t.y0, a[1])
    return ix > 0 and iy > 0
