"""Stacked-letter columns: finding them among text boxes and laying their letters flat (no models)."""

from __future__ import annotations

import glob

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from screening.detect.text import stacked


def quad(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def test_letter_boxes_under_one_another_form_one_column():
    # "P", "AS" (one tall box), "L" and a box on a horizontal line elsewhere; listed out of order.
    boxes = [quad(100, 300, 150, 420), quad(102, 100, 148, 160), quad(101, 170, 149, 280), quad(400, 100, 900, 160)]
    columns = stacked.find_columns(boxes)
    assert len(columns) == 1
    col = columns[0]
    assert col.members[:3] == (1, 2, 0)  # top to bottom
    assert 3 not in col.members
    assert (col.x0, col.y0, col.x1, col.y1) == (100, 100, 150, 420)


def test_short_stacks_and_wide_lines_are_not_columns():
    # Two lines of a sign, one above the other: wide boxes, not letters.
    assert stacked.find_columns([quad(0, 0, 300, 50), quad(0, 60, 300, 110)]) == []
    # Two letters whose stack is not twice as tall as wide ("NO" written as a square block).
    assert stacked.find_columns([quad(0, 0, 60, 50), quad(0, 55, 60, 105)]) == []
    # A single box: a column only when it is very tall (a vertical line or stacked letters).
    assert len(stacked.find_columns([quad(0, 0, 60, 400)])) == 1
    assert stacked.find_columns([quad(0, 0, 60, 120)]) == []
    # Tilted boxes are turned lines, read by turning them.
    tilted = np.array([[0, 0], [50, 30], [20, 400], [-30, 370]], dtype=np.float32)
    assert stacked.find_columns([tilted]) == []


def _column_image(text: str, size: int = 40) -> np.ndarray:
    paths = sorted(glob.glob("/usr/share/fonts/**/DejaVuSans-Bold.ttf", recursive=True))
    font = ImageFont.truetype(paths[0], size) if paths else ImageFont.load_default(size)
    pitch = int(size * 1.2)
    # Cloth in the middle, something else (grass) on both sides of it.
    img = Image.new("RGB", (4 * size, pitch * len(text) + size), (40, 140, 60))
    draw = ImageDraw.Draw(img)
    draw.rectangle([size, 0, 3 * size, img.height], fill=(250, 220, 0))
    for k, ch in enumerate(text):
        if ch.strip():
            b = font.getbbox(ch)
            draw.text((2 * size - (b[2] + b[0]) // 2, size // 2 + k * pitch - b[1]), ch, font=font, fill=(20, 20, 20))
    return np.asarray(img)[:, :, ::-1].copy()


def test_lay_flat_cuts_letters_and_finds_the_word_gap():
    bgr = _column_image("AB CD")
    h, w = bgr.shape[:2]
    # The box reaches past the cloth on both sides, as unclipped detector boxes do.
    col = stacked.Column((0,), 20, 0, w - 20, h)
    flat = stacked.lay_flat(bgr, col, height=48)
    assert flat is not None
    assert flat.image.shape[0] == 48
    assert len(flat.line_x) == 4  # four letters; the blank between words is no cell
    assert flat.word_end == (False, True, False, True)
    tops = [y0 for y0, _ in flat.column_y]
    assert tops == sorted(tops)
    # Cells hold letters, not the grass beside the cloth: each is about as wide as it is high.
    assert all(b - a < 1.5 * 48 for a, b in flat.line_x)
    # The recogniser's own spaces are dropped and the word gap is put back.
    centres = [(a + b) / 2 / flat.image.shape[1] for a, b in flat.line_x]
    a, b, c, d = centres
    text, where = flat.words("A B C D", (a, a, b, b, c, c, d))
    assert text == "AB CD"
    assert len(where) == len(text)
    assert all(0.0 <= p <= 1.0 for p in where) and where[0] < where[-1]


def test_a_plain_column_is_not_cut():
    bgr = np.full((400, 60, 3), 200, np.uint8)
    assert stacked.lay_flat(bgr, stacked.Column((0,), 0, 0, 60, 400)) is None


def test_column_quad_runs_down_the_column():
    q = stacked.column_quad(stacked.Column((0,), 10, 20, 40, 200))
    # First edge (the reading direction) goes down; the second edge crosses the column.
    assert np.allclose(q[1] - q[0], [0, 180])
    assert np.allclose(q[2] - q[1], [-30, 0])
