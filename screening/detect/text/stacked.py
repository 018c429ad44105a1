"""Stacked letters: upright letters written one under another (umbul-umbul, vertical banners and
shop signs).

The line recogniser reads text along a row, and the text detector cuts such a column into single
letters or short tall boxes, so "GOLKAR" comes out as "G" and "OLKAR" and matches nothing. Here the
boxes that form a column are found, the column is cut into letter cells at the blank rows between
letters, and the cells are laid side by side into one line image that the recogniser reads as a word.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

_TILT_MAX = 15.0  # degrees; a column is drawn upright (a turned line is read by the turn instead)
_MIN_CELLS = 2


@dataclass(frozen=True)
class Column:
    """Boxes (indices into the caller's list) that stack into one column, and its upright bounds."""

    members: tuple[int, ...]
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class FlatColumn:
    """A column's letters laid side by side: the line image and, per cell, where it lies in the line
    (x0, x1 in line pixels) and in the column (y0, y1 as fractions of its height)."""

    image: np.ndarray
    line_x: tuple[tuple[float, float], ...]
    column_y: tuple[tuple[float, float], ...]
    word_end: tuple[bool, ...]  # a word ends with this cell (a blank letter's height follows)

    def cell_of(self, line_fraction: float) -> int:
        """The cell a point at ``line_fraction`` of the line's width falls in (or is nearest to)."""
        x = line_fraction * self.image.shape[1]
        return int(np.argmin([0.0 if a <= x <= b else min(abs(x - a), abs(x - b)) for a, b in self.line_x]))

    def column_fraction(self, line_fraction: float) -> float:
        """Where a point at ``line_fraction`` of the line's width lies down the column (0 top, 1 bottom)."""
        k = self.cell_of(line_fraction)
        (a, b), (top, bottom) = self.line_x[k], self.column_y[k]
        x = line_fraction * self.image.shape[1]
        t = float(np.clip((x - a) / max(b - a, 1e-6), 0.0, 1.0))
        return top + (bottom - top) * t

    def words(self, text: str, pos: tuple[float, ...]) -> tuple[str, tuple[float, ...]]:
        """The recogniser's reading with spaces where the column has word gaps and nowhere else (the
        cells' spacing is ours, not the writer's), and each character's place down the column."""
        out: list[str] = []
        where: list[float] = []
        last = -1
        for ch, p in zip(text, pos, strict=False):
            if not ch.strip():
                continue
            k = self.cell_of(p)
            if out and any(self.word_end[last:k]):
                out.append(" ")
                where.append(where[-1])
            out.append(ch)
            where.append(self.column_fraction(p))
            last = k
        return "".join(out), tuple(where)


def find_columns(quads: list[np.ndarray]) -> list[Column]:
    """Columns among upright text boxes (tl, tr, br, bl quads): chains of boxes centred on one vertical
    line, each close under the last, whose union is at least twice as tall as wide; and single boxes
    at least 2.5 times as tall as wide (a whole column the detector kept in one box)."""
    rects = {i: r for i, q in enumerate(quads) if (r := _upright_rect(q)) is not None}
    order = sorted(rects, key=lambda i: rects[i][1])  # top to bottom
    below: dict[int, int] = {}
    above: dict[int, int] = {}
    for i in order:
        x0, y0, x1, y1 = rects[i]
        best: tuple[float, int] | None = None
        for j in order:
            if j == i or j in above:
                continue
            u0, v0, u1, v1 = rects[j]
            width = max(x1 - x0, u1 - u0)
            if abs((x0 + x1) - (u0 + u1)) / 2 > 0.35 * width or not 0.25 <= (u1 - u0) / (x1 - x0) <= 4.0:
                continue  # not on the same vertical line, or not letters of one size
            gap = v0 - y1  # boxes of neighbouring letters may overlap a little; a word gap is a blank letter
            if -0.5 * min(y1 - y0, v1 - v0) <= gap <= 1.8 * width and (best is None or gap < best[0]):
                best = (gap, j)
        if best is not None:
            below[i], above[best[1]] = best[1], i
    columns: list[Column] = []
    for i in order:
        if i in above:
            continue
        chain = [i]
        while chain[-1] in below:
            chain.append(below[chain[-1]])
        x0 = min(rects[k][0] for k in chain)
        y0 = min(rects[k][1] for k in chain)
        x1 = max(rects[k][2] for k in chain)
        y1 = max(rects[k][3] for k in chain)
        if y1 - y0 < (2.0 if len(chain) > 1 else 2.5) * (x1 - x0):
            continue
        # Boxes the chain stepped over (a letter boxed twice, overlapping its neighbours) belong too.
        inside = [
            k for k in range(len(quads))
            if k not in chain and x0 <= float(quads[k][:, 0].mean()) <= x1 and y0 <= float(quads[k][:, 1].mean()) <= y1
        ]  # fmt: skip
        columns.append(Column((*chain, *inside), x0, y0, x1, y1))
    return columns


def lay_flat(bgr: np.ndarray, column: Column, height: int = 48) -> FlatColumn | None:
    """Cut ``column`` of ``bgr`` into letter cells at blank rows and lay them in a row ``height`` px
    high; None when it does not split into at least two letters (then it is not stacked text)."""
    h, w = bgr.shape[:2]
    x0, y0 = max(0, int(column.x0)), max(0, int(column.y0))
    x1, y1 = min(w, int(np.ceil(column.x1))), min(h, int(np.ceil(column.y1)))
    if x1 - x0 < 4 or y1 - y0 < 8:
        return None
    crop = bgr[y0:y1, x0:x1]
    ink = _ink(crop)
    cw = x1 - x0
    rows = ink.mean(axis=1) > 0.02
    runs = _runs(rows, join=max(1, int(0.08 * cw)))
    runs = [(a, b) for a, b in runs if b - a >= 0.15 * cw]
    if len(runs) < _MIN_CELLS:
        return None
    # A word gap is the usual letter spacing plus about a blank letter.
    letter = float(np.median([b - a for a, b in runs]))
    gaps = [nxt[0] - b for (_, b), nxt in itertools.pairwise(runs)]
    spacing = float(np.median(gaps))
    word_end = (*(g > spacing + 0.5 * letter for g in gaps), True)
    spacer = max(2, height // 8)  # between cells in the line (letter spacing as the recogniser expects it)
    pieces: list[np.ndarray] = []
    line_x: list[tuple[float, float]] = []
    column_y: list[tuple[float, float]] = []
    fill = _background(crop, ink)
    x = 0.0
    for a, b in runs:
        pad = max(1, int(0.15 * (b - a)))
        r0, r1 = max(0, a - pad), min(len(rows), b + pad)
        cols = np.nonzero(ink[a:b].any(axis=0))[0]
        c0, c1 = (max(0, int(cols[0]) - pad), min(cw, int(cols[-1]) + 1 + pad)) if len(cols) else (0, cw)
        cell = crop[r0:r1, c0:c1]
        cell_w = max(1, round(cell.shape[1] * height / max(1, cell.shape[0])))
        pieces.append(cv2.resize(cell, (cell_w, height), interpolation=cv2.INTER_AREA))
        pieces.append(np.full((height, spacer, 3), fill, np.uint8))
        line_x.append((x, x + cell_w))
        column_y.append((a / len(rows), b / len(rows)))
        x += cell_w + spacer
    margin = np.full((height, spacer * 2, 3), fill, np.uint8)
    image = np.concatenate([margin, *pieces, margin], axis=1)
    shift = 2 * spacer
    return FlatColumn(
        image,
        tuple((a + shift, b + shift) for a, b in line_x),
        tuple(column_y),
        word_end,
    )


def column_quad(column: Column) -> np.ndarray:
    """The column as a quad whose first edge runs down it (the direction the letters are read in),
    like a turned vertical line's, so sub-quads of matched words follow the letters."""
    tl = (column.x0, column.y0)
    tr = (column.x1, column.y0)
    br = (column.x1, column.y1)
    bl = (column.x0, column.y1)
    return np.array([tr, br, bl, tl], dtype=np.float32)


def _upright_rect(quad: np.ndarray) -> tuple[float, float, float, float] | None:
    """Axis-aligned bounds of an upright box that could hold stacked letters, else None (tilted, or
    wider than a couple of letters: a horizontal line)."""
    dx, dy = quad[1] - quad[0]
    if abs(np.degrees(np.arctan2(float(dy), float(dx)))) > _TILT_MAX:
        return None
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    if x1 - x0 > 1.8 * (y1 - y0):
        return None
    return float(x0), float(y0), float(x1), float(y1)


def _ink(crop: np.ndarray) -> np.ndarray:
    """Letter pixels of a column crop: those far from the cloth's colour (the median of the column's
    middle), less any blob touching the crop's sides (what lies beside the cloth, its edge)."""
    h, w = crop.shape[:2]
    middle = crop[:, int(0.2 * w) : max(int(0.2 * w) + 1, int(0.8 * w))].reshape(-1, 3)
    cloth = np.median(middle, axis=0)
    dist = np.clip(np.linalg.norm(crop.astype(np.float32) - cloth, axis=2), 0, 255).astype(np.uint8)
    level, ink = cv2.threshold(dist, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if level < 25:  # no colour stands out from the cloth: nothing written
        return np.zeros((h, w), dtype=bool)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    side = (stats[:, cv2.CC_STAT_LEFT] == 0) | (stats[:, cv2.CC_STAT_LEFT] + stats[:, cv2.CC_STAT_WIDTH] >= w)
    side[0] = True  # the background label
    return ~side[labels]


def _background(crop: np.ndarray, ink: np.ndarray) -> tuple[int, int, int]:
    """Median colour of the non-letter pixels, to fill between cells."""
    rest = crop[~ink]
    if len(rest) == 0:
        return (255, 255, 255)
    med = np.median(rest, axis=0)
    return (int(med[0]), int(med[1]), int(med[2]))


def _runs(mask: np.ndarray, join: int) -> list[tuple[int, int]]:
    """Runs of True in ``mask`` as (start, end), joining runs separated by fewer than ``join`` False."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, v in enumerate(mask.tolist()):
        if v and start is None:
            start = i
        elif not v and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(mask)))
    joined: list[tuple[int, int]] = []
    for a, b in runs:
        if joined and a - joined[-1][1] < join:
            joined[-1] = (joined[-1][0], b)
        else:
            joined.append((a, b))
    return joined
