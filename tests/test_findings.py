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


def test_annotation_draws_a_logos_outline_as_found_and_a_box_otherwise() -> None:
    import numpy as np

    from screening.findings import Box, Finding, FindingKind, Verdict
    from screening.report.annotate import draw

    # A logo turned 45 degrees: its outline is a diamond inside its box (original pixels, scale 2).
    diamond = [[200.0, 40.0], [360.0, 200.0], [200.0, 360.0], [40.0, 200.0]]
    logo = Finding(FindingKind.LOGO, "PKB", 0.9, Box(40, 40, 320, 320), party="pkb", detail={"outline": diamond})
    face = Finding(FindingKind.FACE, "X", 0.8, Box(400, 40, 100, 100))
    verdict = Verdict("p.jpg", None, 600, 400, (logo, face), (), {}, "2024-01-10")
    out = draw(np.zeros((200, 300, 3), np.uint8), verdict, 2.0)
    orange = (0, 165, 255)
    assert out[140, 140].tolist() == list(orange)  # on the diamond's lower-right edge (working pixels)
    assert out[100, 179].tolist() == list(orange)  # its right corner, (360, 200) / 2
    assert out[178, 178].sum() == 0 and out[178, 22].sum() == 0  # the box's lower corners are left alone
    assert out[45, 200].tolist() == [0, 0, 255]  # the face (no outline) is boxed: left edge at x = 400 / 2
