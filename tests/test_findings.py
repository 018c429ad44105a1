"""The shared result types."""

from __future__ import annotations

from screening.findings import Box


def test_box_from_points_clips_every_side() -> None:
    # A text quad pushed past both edges by detection: the box must end at the image edge, not beyond
    # it, and must not keep the width it had before clipping on the left.
    box = Box.from_points([(-10, 5), (90, 5), (90, 40), (-10, 40)], width=80, height=30)
    assert (box.x, box.y, box.w, box.h) == (0.0, 5.0, 80.0, 25.0)
    inside = Box.from_points([(10, 20), (30, 20), (30, 50)])
    assert (inside.x, inside.y, inside.w, inside.h) == (10.0, 20.0, 20.0, 30.0)
