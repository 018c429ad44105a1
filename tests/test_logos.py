"""Logo detector on small synthetic scenes: enrolled logos found with the right party, distractors and
other parties' logos not reported, several instances found."""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from screening.detect.logos.appearance import ColourView, absent_share, foreign_share
from screening.detect.logos.detector import LogoConfig, LogoDetector, StageTimes
from screening.detect.logos.features import Features, describe_reference, extract
from screening.detect.logos.index import AS_ENROLLED, MIRRORED, MIRRORED_SWAPPED_PRINT, SEARCHED, SWAPPED, SWAPPED_PRINT
from screening.detect.logos.verify import (
    Measures,
    VerifyConfig,
    accept,
    accept_guided,
    colourway,
    measure,
)
from screening.findings import Finding, FindingKind
from screening.image import load_image
from screening.registry import init_registry, load_registry
from screening.registry.logos import add_logo
from screening.rules import load_rules

_GEN = Path(__file__).resolve().parents[1] / "scripts" / "gen_logo_scenes.py"


def _gen():
    spec = importlib.util.spec_from_file_location("gen_logo_scenes", _GEN)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_logo_scenes", mod)  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    return mod


gen = _gen()


def _place(scene: np.ndarray, rgba: np.ndarray, quad: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """Paste ``rgba`` so that its corners land on ``quad`` (perspective); return the box it covers."""
    h, w = rgba.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    hm = cv2.getPerspectiveTransform(src, np.array(quad, np.float32))
    warped = cv2.warpPerspective(rgba, hm, (scene.shape[1], scene.shape[0]), flags=cv2.INTER_AREA)
    a = warped[:, :, 3:4].astype(np.float32) / 255
    scene[:] = (warped[:, :, :3] * a + scene * (1 - a)).astype(np.uint8)
    ys, xs = np.nonzero(warped[:, :, 3] > 127)
    return float(xs.min()), float(ys.min()), float(xs.max() - xs.min()), float(ys.max() - ys.min())


def _jpeg(bgr: np.ndarray) -> np.ndarray:
    _, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _detect(det: LogoDetector, bgr: np.ndarray):
    return det.detect(load_image(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))


def _centre_in(f, box: tuple[float, float, float, float]) -> bool:
    cx, cy = f.box.x + f.box.w / 2, f.box.y + f.box.h / 2
    return box[0] <= cx <= box[0] + box[2] and box[1] <= cy <= box[1] + box[3]


@pytest.fixture(scope="module")
def logos() -> dict[str, np.ndarray]:
    return {"pdip": gen.make_logo("pdip", "PDI-P"), "gerindra": gen.make_logo("gerindra", "GERINDRA")}


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory, logos: dict[str, np.ndarray]) -> LogoDetector:
    root = tmp_path_factory.mktemp("reg")
    init_registry(root)
    for party, logo in logos.items():
        ref = root.parent / f"{party}.png"
        cv2.imwrite(str(ref), gen.reference_image(logo))
        add_logo(root, party, [ref])
    cfg = load_rules(None).detector_config("logos")
    cfg.pop("enabled", None)
    return LogoDetector.from_config(None, load_registry(root), cfg)


def _background(seed: int) -> np.ndarray:
    return gen.procedural_background(np.random.default_rng(seed), (900, 700))


def test_finds_logo_under_perspective(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    scene = _background(1)
    box = _place(scene, logos["pdip"], [(300, 180), (560, 220), (540, 470), (310, 430)])
    found = _detect(detector, _jpeg(scene))
    assert len(found) == 1
    f = found[0]
    assert f.kind is FindingKind.LOGO and f.party == "pdip" and f.election == "pileg2024"
    assert f.label == "PDI-P"
    assert _centre_in(f, box)
    assert 0.0 < f.score <= 1.0
    assert f.detail["inliers"] >= 6 and f.detail["reference"].startswith("logos/pdip/")
    # The reported box is the projected outline's box: close to the pasted logo's box.
    assert abs(f.box.w - box[2]) < 0.25 * box[2] and abs(f.box.h - box[3]) < 0.25 * box[3]


def test_distractors_and_texture_give_nothing(detector: LogoDetector) -> None:
    scene = _background(2)
    _place(scene, gen.make_flag_merah_putih(), [(60, 60), (330, 80), (320, 260), (70, 250)])
    _place(scene, gen.make_garuda_like(), [(420, 80), (700, 90), (690, 370), (430, 360)])
    _place(scene, gen.make_logo("unenrolled-1", "PARTAI"), [(100, 380), (330, 390), (320, 620), (110, 610)])
    _place(scene, gen.make_brand("3"), [(450, 450), (850, 460), (845, 610), (455, 600)])
    assert _detect(detector, _jpeg(scene)) == []
    assert _detect(detector, _jpeg(_background(3))) == []


def test_other_party_not_reported(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    scene = _background(4)
    box = _place(scene, logos["gerindra"], [(420, 150), (700, 170), (690, 450), (430, 430)])
    found = _detect(detector, _jpeg(scene))
    assert [f.party for f in found] == ["gerindra"]
    assert _centre_in(found[0], box)


def test_two_instances_found(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    scene = _background(5)
    a = _place(scene, logos["pdip"], [(60, 100), (300, 120), (290, 360), (70, 340)])
    b = _place(scene, logos["pdip"], [(560, 300), (820, 280), (830, 560), (570, 550)])
    found = _detect(detector, _jpeg(scene))
    assert len(found) == 2 and all(f.party == "pdip" for f in found)
    assert any(_centre_in(f, a) for f in found) and any(_centre_in(f, b) for f in found)


def test_one_colour_prints_and_black_and_white_photos(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    corners = [(300, 160), (580, 200), (560, 500), (310, 460)]
    cases = {
        # Dark ink on a white shirt (no colour at all), and on a red one (one hue where the logo has several).
        "on white": gen.one_colour_print(logos["pdip"], (25, 25, 25), (225, 230, 235)),
        "on red": gen.one_colour_print(logos["pdip"], (20, 10, 60), (40, 40, 200)),
        # White ink on a black shirt: light and dark swapped, found by the prints' swapped search.
        "white on black": gen.one_colour_print(logos["pdip"], (235, 235, 235), (25, 25, 25)),
    }
    for name, print_ in cases.items():
        scene = _background(11)
        box = _place(scene, print_, corners)
        found = _detect(detector, _jpeg(scene))
        assert [f.party for f in found] == ["pdip"], name
        assert _centre_in(found[0], box), name
        assert found[0].detail["colour_similarity"] is None, name  # colour could not tell, shapes did
        assert found[0].detail["light_dark_swapped"] is (name == "white on black"), name
    # The coloured logo in a black-and-white photo: the colour check stands aside, nothing else moves.
    scene = _background(12)
    box = _place(scene, logos["gerindra"], corners)
    gray = cv2.cvtColor(cv2.cvtColor(_jpeg(scene), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    found = _detect(detector, gray)
    assert [f.party for f in found] == ["gerindra"] and _centre_in(found[0], box)


def test_light_dark_swap_permutes_the_descriptor_cells() -> None:
    """What the prints' swapped search rests on: SIFT of the light-dark swapped image finds the same
    keypoints turned half a circle, with the descriptor's 4 x 4 cells turned half a circle."""
    gray = cv2.cvtColor(gen.reference_image(gen.make_logo("pkb", "PKB")), cv2.COLOR_BGR2GRAY)
    a, b = extract(gray), extract(255 - gray)
    assert len(a) > 50 and len(a) == len(b)
    # A keypoint may carry several orientations: its twin is the one at the same place turned 180 degrees.
    turn = np.abs(np.mod(b.angle[None] - a.angle[:, None], 360.0) - 180.0)
    gap = np.linalg.norm(a.xy[:, None] - b.xy[None], axis=2) + turn
    twin = gap.argmin(axis=1)
    same = gap[np.arange(len(a)), twin] < 0.01
    assert same.mean() > 0.95
    assert np.allclose(a.desc[same][:, SWAPPED], b.desc[twin[same]], atol=0.01)  # SIFT rounds to bytes
    assert not np.allclose(a.desc[same], b.desc[twin[same]], atol=0.01)


def test_registry_without_logos_does_nothing_fast() -> None:
    det = LogoDetector.from_config(None, load_registry(None), {})
    image = load_image(np.zeros((600, 800, 3), np.uint8))
    t = time.perf_counter()
    assert det.detect(image) == []
    assert time.perf_counter() - t < 0.01


def test_unknown_setting_is_refused() -> None:
    from screening.errors import ScreeningError

    with pytest.raises(ScreeningError, match="min_inlers"):
        LogoDetector.from_config(None, load_registry(None), {"min_inlers": 3})


def test_threads_share_one_detector(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    scene = _background(6)
    _place(scene, logos["gerindra"], [(100, 120), (380, 140), (370, 420), (110, 400)])
    _place(scene, logos["pdip"], [(520, 300), (800, 290), (810, 580), (530, 570)])
    image = load_image(cv2.cvtColor(_jpeg(scene), cv2.COLOR_BGR2RGB))

    def run(_: object) -> list[dict]:
        # Whole findings, scores and inliers included: each thread builds its own FLANN index, and the
        # same photo must get the same verdict whichever thread screens it.
        return sorted((f.to_dict() for f in detector.detect(image)), key=lambda f: f["party"])

    expected = run(None)
    assert [f["party"] for f in expected] == ["gerindra", "pdip"]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(8)))
    assert all(r == expected for r in results)


def test_small_logo_found_by_closer_look(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    # A 70-px logo in a 1600x1200 photo: too few keypoints at the coarse detection size to verify,
    # but its distinctive matches cluster, and the zoomed window verifies it.
    scene = gen.procedural_background(np.random.default_rng(7), (1600, 1200))
    box = _place(scene, logos["gerindra"], [(900, 500), (970, 504), (968, 570), (902, 567)])
    image = load_image(cv2.cvtColor(_jpeg(scene), cv2.COLOR_BGR2RGB))
    times = StageTimes()
    found = detector.detect(image, times=times)
    assert [f.party for f in found] == ["gerindra"] and _centre_in(found[0], box)
    assert found[0].box.w < 120  # the outline comes back in original pixels, not window pixels
    assert times.windows >= 1 and times.closer_ms > 0 and times.describe_ms > 0  # what benchmarks read
    # Guided matching of the coarse fit finds it too; without that, the closer look is what finds it.
    unguided = dataclasses.replace(detector.config.verify, guided=False)
    coarse_only = LogoDetector(
        detector.registry, dataclasses.replace(detector.config, zoom_windows=0, dense_hypotheses=0, verify=unguided)
    )
    assert coarse_only.detect(image) == []
    windows_only = dataclasses.replace(detector.config, dense_hypotheses=0, verify=unguided)
    assert [f.party for f in LogoDetector(detector.registry, windows_only).detect(image)] == ["gerindra"]
    # Without a window, its hypothesis aligned densely finds it too (and where the window's outline is).
    no_window = dataclasses.replace(detector.config, zoom_windows=0, verify=unguided)
    dense = LogoDetector(detector.registry, no_window).detect(image)
    assert [f.party for f in dense] == ["gerindra"] and dense[0].detail["dense_alignment"] is True
    assert abs(dense[0].box.x - found[0].box.x) < 6 and abs(dense[0].box.w - found[0].box.w) < 8


def test_small_print_found_by_closer_look_at_its_prints_hypothesis(
    detector: LogoDetector, logos: dict[str, np.ndarray]
) -> None:
    """A party shirt's print 45-55 px across in a 1600x1200 photo: a few matches of the print's
    keypoints agree on its pose, too few to verify; the closer look there finds it."""
    without = LogoDetector(detector.registry, dataclasses.replace(detector.config, print_zoom_min_matches=0))
    cases = (("pdip", (235, 235, 235), (30, 30, 30), 55), ("gerindra", (25, 25, 25), (225, 230, 235), 45))
    for party, ink, cloth, side in cases:
        scene = gen.procedural_background(np.random.default_rng(0), (1600, 1200))
        corners = [(900, 500), (900 + side, 504), (898 + side, 500 + side), (902, 497 + side)]
        box = _place(scene, gen.one_colour_print(logos[party], ink, cloth), corners)
        photo = _jpeg(scene)
        found = _detect(detector, photo)
        assert [f.party for f in found] == [party] and _centre_in(found[0], box), party
        assert found[0].detail["one_colour_print"] is True, party
        assert _detect(without, photo) == [], party


def test_index_forests_are_built_once_and_searched_safely_from_many_threads(detector: LogoDetector) -> None:
    """Threads share one forest per kind, built once however many threads ask for it at the same time,
    and concurrent searches of it answer exactly as one thread searching alone does."""
    import threading

    fresh = LogoDetector(detector.registry, detector.config)  # forests not built yet
    index = fresh.index
    queries = np.random.default_rng(3).random((1500, 128), dtype=np.float32)
    barrier = threading.Barrier(4)
    seen: list[list[cv2.flann.Index]] = []
    answers: list[list[np.ndarray]] = []

    def ask() -> None:
        barrier.wait()  # all four ask for the forests at once
        forests = index._forests()
        seen.append([forest for _, forest in forests])
        for _ in range(5):
            answers.append([f.knnSearch(queries, 4, params={"checks": index.checks})[0] for _, f in forests])

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and len(seen[0]) == 2  # as enrolled, prints
    assert all(a is b for other in seen for a, b in zip(other, seen[0], strict=True))
    alone = [f.knnSearch(queries, 4, params={"checks": index.checks})[0] for _, f in index._forests()]
    assert len(answers) == 20
    assert all(np.array_equal(a, b) for other in answers for a, b in zip(other, alone, strict=True))


def test_index_forests_are_identical_in_every_process(detector: LogoDetector, monkeypatch: pytest.MonkeyPatch) -> None:
    """Randomised kd-trees are seeded: an index built by a thread whose RNG other work advanced (or in
    another batch worker) answers alike, or verdicts would depend on who screened a photo."""
    from screening.detect.logos import forests

    monkeypatch.setattr(forests, "_load", lambda *_: None)  # built each time, never read back
    queries = np.random.default_rng(4).random((1500, 128), dtype=np.float32)
    answers = []
    for other_work in (1, 1000):
        cv2.randu(np.empty(other_work, np.float32), 0, 1)  # what ran before advanced this thread's RNG
        index = LogoDetector(detector.registry, detector.config).index
        answers.append([f.knnSearch(queries, 2, params={"checks": index.checks})[0] for _, f in index._forests()])
    assert all(np.array_equal(a, b) for a, b in zip(*answers, strict=True))


def test_next_process_loads_the_forests_from_the_registry_cache(
    detector: LogoDetector, logos: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `check` is a new process: the forests a first one built are saved beside the registry's logo
    features and loaded by the next, which finds the same logos."""
    from screening.detect.logos import forests
    from screening.registry.logos import logo_cache_dir

    scene = _background(4)
    _place(scene, logos["pdip"], [(320, 200), (580, 215), (575, 470), (318, 460)])
    image = load_image(cv2.cvtColor(_jpeg(scene), cv2.COLOR_BGR2RGB))
    first = LogoDetector(detector.registry, detector.config)
    expected = [f.to_dict() for f in first.detect(image)]
    saved = sorted(p.name for p in logo_cache_dir(detector.registry.root).glob("forest-*.flann"))
    assert [name.split("-")[1] for name in saved] == ["enrolled", "prints"]
    monkeypatch.setattr(forests, "_build", lambda *_: pytest.fail("built again instead of loaded"))
    again = LogoDetector(detector.registry, detector.config)
    assert [f.to_dict() for f in again.detect(image)] == expected and expected[0]["party"] == "pdip"


def test_repeated_calls_give_identical_findings(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    """RANSAC draws from OpenCV's per-thread RNG, which every call advances: without a fixed seed per
    call the same photo could get another fit (or none) the second time."""
    scene = _background(9)
    _place(scene, logos["pdip"], [(200, 150), (330, 170), (320, 300), (205, 290)])
    _place(scene, logos["gerindra"], [(600, 380), (700, 385), (695, 480), (602, 470)])
    image = load_image(cv2.cvtColor(_jpeg(scene), cv2.COLOR_BGR2RGB))

    def run() -> list[dict]:
        return [f.to_dict() for f in detector.detect(image)]

    first = run()
    for _ in range(4):
        cv2.findHomography(np.random.rand(20, 2), np.random.rand(20, 2), cv2.RANSAC)  # other OpenCV work between
        assert run() == first


def test_waving_flag_needs_the_affine_model(
    detector: LogoDetector, logos: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A strongly waving print leaves its matches bunched where the cloth faces the camera; the
    homography fitted to them extrapolates into an impossible perspective, the affine map does not."""
    from screening.detect.logos import verify

    images = []
    for seed in (1, 6, 11):
        scene = _background(10 + seed)
        bent = gen._bend(logos["pdip"], np.random.default_rng(seed), 0.06)
        box = _place(scene, bent, [(250, 150), (600, 170), (590, 520), (260, 500)])
        images.append((load_image(cv2.cvtColor(_jpeg(scene), cv2.COLOR_BGR2RGB)), box))
    for image, box in images:
        found = detector.detect(image)
        assert [f.party for f in found] == ["pdip"] and _centre_in(found[0], box)

    fits = verify._fits

    def homography_only(*args: object, **kwargs: object):
        yield from itertools.islice(fits(*args, **kwargs), 1)

    monkeypatch.setattr(verify, "_fits", homography_only)
    # On the logo's own matches (its prints' matches, pooled, can steady a homography), and without
    # guided matching (re-matching where the fit puts the logo recruits enough for a homography too).
    own_only = _unguided(detector, prints=False)
    assert all(own_only.detect(image) == [] for image, _ in images)


def test_findings_do_not_depend_on_the_thread_count(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    """Batch workers run one thread, 'check' several: bands, verification and closer looks are split
    over threads only for speed, never changing what is found."""
    scene = gen.procedural_background(np.random.default_rng(8), (1600, 1200))
    _place(scene, logos["pdip"], [(200, 500), (520, 530), (500, 860), (210, 830)])  # across the band seam
    _place(scene, logos["gerindra"], [(1200, 200), (1270, 204), (1268, 270), (1202, 267)])  # small
    image = load_image(cv2.cvtColor(_jpeg(scene), cv2.COLOR_BGR2RGB))
    results = []
    for threads in (1, 2, 3):
        det = LogoDetector(detector.registry, detector.config, threads=threads)
        results.append([f.to_dict() for f in det.detect(image)])
    assert sorted(f["party"] for f in results[0]) == ["gerindra", "pdip"]
    assert results[1] == results[0] and results[2] == results[0]


def test_the_split_search_finds_what_one_search_of_every_keypoint_finds(
    detector: LogoDetector, logos: dict[str, np.ndarray]
) -> None:
    """The photo's keypoints are searched in equal runs on parallel threads, not band by band: the
    matches, photo indices included, are those of one search of all of them (here most keypoints lie
    in the lower band, so the runs and the bands differ)."""
    scene = gen.procedural_background(np.random.default_rng(8), (1600, 1200))
    scene[:500] = (200, 190, 180)  # a plain top: few keypoints in the upper band
    _place(scene, logos["pdip"], [(200, 700), (520, 730), (500, 1060), (210, 1030)])
    gray, _ = detector._detection_gray(load_image(cv2.cvtColor(_jpeg(scene), cv2.COLOR_BGR2RGB)))
    photo, matches = detector.describe_and_match(gray)
    cfg = detector.config
    whole = detector.index.query(photo, cfg.ratio, cfg.print_ratio, cfg.mirror_ratio)
    upper = np.count_nonzero(photo.xy[:, 1] < gray.shape[0] / 2)
    assert upper < 0.3 * len(photo)
    assert len(matches.q) > 50
    assert sorted(zip(matches.q.tolist(), matches.r.tolist(), strict=True)) == sorted(
        zip(whole.q.tolist(), whole.r.tolist(), strict=True)
    )


def test_the_ratio_tests_shortcut_keeps_every_match(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    """Rows whose nearest neighbour cannot beat the cut are dropped before the ratio test: what is left
    passes exactly as the whole search would, at a loose and at a strict cut."""
    scene = gen.procedural_background(np.random.default_rng(9), (1600, 1200))
    _place(scene, logos["pdip"], [(300, 300), (700, 330), (690, 700), (310, 680)])
    gray, _ = detector._detection_gray(load_image(cv2.cvtColor(_jpeg(scene), cv2.COLOR_BGR2RGB)))
    photo, _ = detector.describe_and_match(gray)
    index = detector.index
    start, forest = index._forests()[0]
    idx, dist = forest.knnSearch(photo.desc, index.neighbours, params={"checks": index.checks})
    idx = idx.astype(np.int64)
    valid = idx >= 0
    idx = np.where(valid, idx + start, 0)
    d = np.sqrt(np.maximum(dist.astype(np.float32), 0.0))
    for cut in (0.9, 0.7):
        quick, full = index._distinctive(idx, valid, d, cut), index._ratio_test(idx, valid, d, cut)
        assert len(full.q) > 10, cut
        assert sorted(zip(quick.q.tolist(), quick.r.tolist(), quick.ratio.tolist(), strict=True)) == sorted(
            zip(full.q.tolist(), full.r.tolist(), full.ratio.tolist(), strict=True)
        )
    assert np.mean(d[:, 0] < 0.7 * d[:, -1]) < 0.5  # the shortcut skips most rows at the strict cut


def test_pose_hypotheses_need_agreeing_matches(detector: LogoDetector) -> None:
    """Three matches predicting one small logo make a hypothesis at its centre and size; as many
    matches predicting scattered poses make none."""
    from screening.detect.logos.features import Features
    from screening.detect.logos.index import Matches
    from screening.detect.logos.poses import hypotheses

    index = detector.index
    ref = 0
    rows = np.nonzero((index.ref == ref) & (index.kind == AS_ENROLLED))[0]  # the logo as described, no print
    ref_feats = index.references[ref].features
    centre = np.array([ref_feats.width / 2, ref_feats.height / 2])
    rng = np.random.default_rng(0)
    picks = rows[rng.choice(len(rows), 6, replace=False)]
    s = 0.2  # the logo appears at a fifth of its canonical size, unrotated, centred at (500, 400)
    xy = (index.xy[picks] - centre) * s + np.array([500.0, 400.0])
    size = index.size[picks] * s
    angle = index.angle[picks].copy()
    # The last three are chance matches: same keypoints, scattered scales and angles.
    size[3:] *= np.array([3.0, 0.3, 1.0])
    angle[3:] = np.mod(angle[3:] + np.array([90.0, 200.0, 140.0]), 360)
    xy[3:] += np.array([[300.0, 0.0], [-250.0, 120.0], [0.0, 260.0]])
    photo = Features(xy.astype(np.float32), size.astype(np.float32), angle.astype(np.float32), index.desc[picks])
    matches = Matches(
        np.arange(6, dtype=np.int32), picks.astype(np.int32), np.full(6, ref, np.int32), np.full(6, 0.6, np.float32)
    )
    found = hypotheses(index, matches, photo, min_votes=3, max_ratio=0.85, max_size=200.0, explained=[])
    assert len(found) == 1
    hyp = found[0]
    assert hyp.ref == ref and hyp.votes == 3
    assert np.allclose(hyp.centre, (500.0, 400.0), atol=2.0)
    assert abs(hyp.size - s * max(ref_feats.width, ref_feats.height)) < 2.0
    # Too big to need a closer look: no hypothesis.
    assert hypotheses(index, matches, photo, min_votes=3, max_ratio=0.85, max_size=40.0, explained=[]) == []


def test_close_agreements_pool_a_partys_images(logos: dict[str, np.ndarray]) -> None:
    """One match from each of a party's two images predicting one 70-px logo: no reference's Hough bin
    holds two of them, close agreement pooled over the party does. Centres or sizes apart, two
    parties, or ratios at the cut make nothing."""
    from screening.detect.logos.index import LogoIndex, Matches, Reference
    from screening.detect.logos.poses import close_agreements, hypotheses

    feats = describe_reference(gen.reference_image(logos["pdip"]))
    other = describe_reference(gen.reference_image(logos["gerindra"]))
    # A party enrolled with two images (the same design twice is enough here), and another party.
    index = LogoIndex(
        [Reference("pdip", "a.png", feats), Reference("pdip", "b.png", feats), Reference("gerindra", "c.png", other)],
        prints=False, swapped=False, mirrored=False,
    )  # fmt: skip
    rng = np.random.default_rng(1)

    def agreeing(centres: list[tuple[float, float]], sizes: list[float], refs: list[int], ratio: float) -> list:
        """Two photo keypoints whose matches to two far-apart points of images ``refs`` predict those
        logo centres and sizes."""
        rows = [np.nonzero(index.ref == k)[0] for k in refs]
        far = np.argmax(np.linalg.norm(index.xy[rows[1]] - index.xy[rows[0][0]], axis=1))
        picks = np.array([rows[0][0], rows[1][far]])
        dims = [index.references[k].features for k in refs]
        s = np.array([size / max(d.width, d.height) for size, d in zip(sizes, dims, strict=True)])
        ref_centre = np.array([[d.width / 2, d.height / 2] for d in dims])
        xy = np.array(centres) - s[:, None] * (ref_centre - index.xy[picks])
        photo = Features(
            xy.astype(np.float32), (index.size[picks] * s).astype(np.float32), index.angle[picks].copy(),
            rng.random((2, 128), dtype=np.float32),
        )  # fmt: skip
        matches = Matches(np.arange(2, dtype=np.int32), picks.astype(np.int32), np.array(refs, np.int32),
                          np.full(2, ratio, np.float32))  # fmt: skip
        args = {"min_votes": 2, "max_ratio": 0.9, "max_size": 200.0, "explained": []}
        # Even at close agreement's ratio cut, one match per image makes no Hough hypothesis.
        assert hypotheses(index, matches, photo, **args) == []
        return close_agreements(index, matches, photo, **args)

    (hyp,) = agreeing([(500, 400), (502, 399)], [70, 74], [0, 1], 0.88)
    assert hyp.ref in (0, 1) and hyp.votes == 2
    assert np.allclose(hyp.centre, (501, 399.5), atol=1.0) and abs(hyp.size - 72) < 1.0
    assert agreeing([(500, 400), (530, 400)], [70, 70], [0, 1], 0.88) == []  # centres 0.4 of the size apart
    assert agreeing([(500, 400), (500, 400)], [70, 112], [0, 1], 0.88) == []  # sizes 1.6x apart
    assert agreeing([(500, 400), (500, 400)], [70, 70], [0, 2], 0.88) == []  # two parties
    assert agreeing([(500, 400), (500, 400)], [70, 70], [0, 1], 0.9) == []  # at the ratio cut


def test_pose_error_dial_skips_chance_windows_not_small_logos(
    detector: LogoDetector, logos: dict[str, np.ndarray]
) -> None:
    """zoom_max_pose_error (on as shipped): a busy photo without enrolled logos (distractor logos,
    texture) gets no closer look where it got several with the dial off, and a 70-px logo is still
    found by its window."""
    assert detector.config.zoom_max_pose_error > 0
    rng = np.random.default_rng(2)
    bg = gen.procedural_background(rng, (1600, 1200))
    busy = gen.make_scene(rng, logos, gen.distractor_set(), bg, positives=0).bgr
    off = LogoDetector(detector.registry, dataclasses.replace(detector.config, zoom_max_pose_error=0.0))
    off_times, on_times = StageTimes(), StageTimes()
    image = load_image(cv2.cvtColor(busy, cv2.COLOR_BGR2RGB))
    assert off.detect(image, times=off_times) == [] and detector.detect(image, times=on_times) == []
    assert off_times.windows >= 2 and on_times.windows == 0
    scene = gen.procedural_background(np.random.default_rng(7), (1600, 1200))
    box = _place(scene, logos["gerindra"], [(900, 500), (970, 504), (968, 570), (902, 567)])
    unguided = dataclasses.replace(detector.config.verify, guided=False)
    windows_only = dataclasses.replace(detector.config, dense_hypotheses=0, verify=unguided)
    found = _detect(LogoDetector(detector.registry, windows_only), _jpeg(scene))
    assert [f.party for f in found] == ["gerindra"] and _centre_in(found[0], box)


def test_window_keeps_its_strongest_keypoints_and_still_finds_a_small_logo(
    detector: LogoDetector, logos: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """zoom_max_features bounds a window's cost on a busy photo (uncapped, each window here carries
    1200-2800 keypoints), and a 70-px logo on that texture is still found by its window."""
    from screening.detect.logos import detector as detector_module

    rng = np.random.default_rng(3)
    scene = gen.procedural_background(np.random.default_rng(7), (1600, 1200)).astype(np.float32)
    for cell in (3, 7, 15):  # blocky noise at three scales: corners everywhere
        noise = rng.uniform(-40, 40, (1200 // cell + 1, 1600 // cell + 1, 3)).astype(np.float32)
        scene += cv2.resize(noise, (1600, 1200), interpolation=cv2.INTER_NEAREST)[:1200, :1600]
    scene = np.clip(scene, 0, 255).astype(np.uint8)
    box = _place(scene, logos["gerindra"], [(900, 500), (970, 504), (968, 570), (902, 567)])
    image = load_image(cv2.cvtColor(_jpeg(scene), cv2.COLOR_BGR2RGB))
    unguided = dataclasses.replace(detector.config.verify, guided=False)
    windows_only = dataclasses.replace(detector.config, dense_hypotheses=0, verify=unguided)
    cap = windows_only.zoom_max_features
    assert cap > 0  # the shipped setting

    def window_keypoints(config: LogoConfig) -> tuple[list[Finding], list[int]]:
        counts: list[int] = []
        real = detector_module.extract

        def recording(gray: np.ndarray, *, max_features: int = 0, contrast: float = 0.04) -> Features:
            feats = real(gray, max_features=max_features, contrast=contrast)
            if max_features == config.zoom_max_features:  # the windows' calls (the bands ask for more)
                counts.append(len(feats.xy))
            return feats

        monkeypatch.setattr(detector_module, "extract", recording)
        found = LogoDetector(detector.registry, config).detect(image)
        monkeypatch.setattr(detector_module, "extract", real)
        return found, counts

    capped, capped_counts = window_keypoints(windows_only)
    uncapped, uncapped_counts = window_keypoints(dataclasses.replace(windows_only, zoom_max_features=0))
    assert len(capped_counts) >= 1 and max(capped_counts) <= cap + 5  # SIFT keeps ties at the cut
    assert len(uncapped_counts) >= 1 and min(uncapped_counts) > 2 * cap
    for found in (capped, uncapped):
        assert [f.party for f in found] == ["gerindra"] and _centre_in(found[0], box)


def test_pose_error_tells_a_consistent_pair_from_a_chance_one() -> None:
    """Two matches whose positions imply the scale and rotation their keypoints do agree (error ~0);
    keypoints saying twice the size, or a quarter turn, which a wide Hough bin still accepts, do not."""
    from screening.detect.logos.poses import Votes, pose_consistency

    rxy = np.array([[100.0, 100.0], [300.0, 100.0]])
    qxy = rxy * 0.25 + np.array([400.0, 300.0])  # a quarter of the size, unrotated

    def votes(scale: float, theta: float) -> Votes:
        return Votes(rxy, qxy, np.full(2, scale), np.full(2, theta), np.zeros((2, 2)), 400.0)

    both = np.arange(2)
    assert pose_consistency(votes(0.25, 0.0), both) < 0.05
    assert pose_consistency(votes(0.5, 0.0), both) > 0.9  # an octave off
    assert pose_consistency(votes(0.25, np.pi / 2), both) > 1.5  # a quarter turn off
    close = Votes(
        rxy, np.array([[400.0, 300.0], [400.5, 300.0]]), np.full(2, 0.25), np.zeros(2), np.zeros((2, 2)), 400.0
    )
    assert pose_consistency(close, both) is None  # too close in the photo to measure anything


def test_config_defaults_are_the_shipped_rules() -> None:
    """A library user building LogoConfig() gets what rules.toml ships, not an older tuning."""
    shipped = load_rules(None).detector_config("logos")
    shipped.pop("enabled", None)
    assert LogoConfig.from_dict(shipped) == LogoConfig()


def test_prints_in_light_ink_are_found_through_the_print_views(tmp_path: Path) -> None:
    """A party shirt printed in white ink on black cloth: the logo's darker colours become the light
    ink, merged into one. The prints described at enrolment, searched with light and dark swapped,
    find it; the logo as enrolled alone does not. Dark ink on white cloth is found too."""
    root = tmp_path / "reg"
    init_registry(root)
    logos = {p: gen.make_logo(p, p.upper()) for p in ("buruh", "pkb", "pbb")}
    for party, logo in logos.items():
        ref = tmp_path / f"{party}.png"
        cv2.imwrite(str(ref), gen.reference_image(logo))
        add_logo(root, party, [ref])
    cfg = load_rules(None).detector_config("logos")
    cfg.pop("enabled", None)
    with_prints = LogoDetector.from_config(None, load_registry(root), cfg)
    without = LogoDetector.from_config(None, load_registry(root), {**cfg, "prints": False})
    corners = [(260, 140), (600, 170), (590, 520), (270, 490)]
    for party, logo in logos.items():
        for ink, cloth, swapped in (((235, 235, 235), (30, 30, 30), True), ((25, 25, 25), (225, 230, 235), False)):
            scene = _background(21)
            box = _place(scene, gen.one_colour_print(logo, ink, cloth), corners)
            photo = _jpeg(scene)
            found = _detect(with_prints, photo)
            assert [f.party for f in found] == [party] and _centre_in(found[0], box), party
            if swapped:
                assert found[0].detail["one_colour_print"] is True, party
                assert found[0].detail["light_dark_swapped"] is True, party
                assert found[0].detail["print_tone"] > 0.9, party  # ink and cloth: two colours
                assert _detect(without, photo) == [], party


def test_one_colour_cuts_between_the_logos_tones() -> None:
    """Each way a printer can cut a logo's tones (darker ones ink) is one print; a one-tone logo has none."""
    from screening.detect.logos.features import one_colour

    img = np.full((200, 200, 3), 255, np.uint8)
    cv2.rectangle(img, (20, 20), (180, 180), (40, 40, 200), -1)  # red body (mid tone)
    cv2.circle(img, (100, 100), 50, (20, 20, 20), -1)  # black disc (dark)
    cv2.circle(img, (100, 100), 20, (255, 255, 255), -1)  # white centre (light, inside the silhouette)
    mask = np.where(np.abs(img.astype(int) - 255).max(axis=2) > 40, 255, 0).astype(np.uint8)
    prints = one_colour(img, mask)
    assert len(prints) == 2
    inks = sorted(float((p < 128)[20:180, 20:180].mean()) for p in prints)
    disc = np.pi * (50**2 - 20**2) / 160**2
    assert abs(inks[0] - disc) < 0.05  # black only
    assert abs(inks[1] - (1 - np.pi * 20**2 / 160**2)) < 0.05  # black and red: all but the white centre
    flat = np.full((200, 200, 3), 255, np.uint8)
    cv2.rectangle(flat, (20, 20), (180, 180), (40, 40, 200), -1)
    assert one_colour(flat, np.where(flat[:, :, 0] < 128, 255, 0).astype(np.uint8)) == []


def _unguided(detector: LogoDetector, **changes: object) -> LogoDetector:
    """The same detector without guided matching (and with any other ``changes`` to its config)."""
    config = detector.config
    verify = dataclasses.replace(config.verify, guided=False)
    return LogoDetector(detector.registry, dataclasses.replace(config, verify=verify, **changes))


def test_half_hidden_logo_found_by_guided_matching(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    """An arm across the lower half of a logo leaves too few, bunched ratio-test matches; re-matching
    where the fit puts the logo's keypoints, and comparing appearance on the part in view, finds it."""
    without = _unguided(detector)
    for seed in (0, 1, 2):
        scene = _background(seed)
        x, y, w, h = box = _place(scene, logos["pdip"], [(320, 200), (580, 215), (575, 470), (318, 460)])
        cv2.rectangle(scene, (int(x - 20), int(y + h * 0.5)), (int(x + w + 20), int(y + h + 20)), (60, 90, 150), -1)
        image = load_image(cv2.cvtColor(_jpeg(scene), cv2.COLOR_BGR2RGB))
        found = detector.detect(image)
        assert [f.party for f in found] == ["pdip"] and _centre_in(found[0], box)
        assert found[0].detail["guided_matching"] is True
        assert without.detect(image) == []


def test_half_hidden_print_found_by_guided_matching(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    """A party shirt's print half hidden by someone in front: too few ratio-test matches of the print;
    re-matching where the fit puts the print's keypoints, and judging the part in view, finds it, in
    dark ink and in light ink (whose keypoints are the dark print's, light and dark swapped)."""
    # Both are re-matched in the closer look at a window (the light-ink one's voted by the prints'
    # matches): the coarse pass alone sees too few keypoints of a 160-px print to fit it.
    without = _unguided(detector)
    for ink, cloth, swapped in (((25, 25, 25), (225, 230, 235), False), ((235, 235, 235), (30, 30, 30), True)):
        scene = _background(4)
        print_ = gen.one_colour_print(logos["gerindra"], ink, cloth)
        box = _place(scene, print_, [(320, 200), (480, 210), (476, 370), (318, 360)])
        crowd = gen.procedural_background(np.random.default_rng(54), (900, 700))
        gen.occlude(scene, box, np.random.default_rng(4), 0.5, crowd)
        photo = _jpeg(scene)
        found = _detect(detector, photo)
        assert [f.party for f in found] == ["gerindra"] and _centre_in(found[0], box), ink
        detail = found[0].detail
        assert detail["guided_matching"] is True and detail["one_colour_print"] is True, ink
        assert detail["light_dark_swapped"] is swapped, ink
        assert _detect(without, photo) == [], ink


def test_a_cluster_whose_seed_is_impossible_fits_nothing(detector: LogoDetector) -> None:
    """A cluster whose affine seed already puts the logo mirrored (a chance agreement: a printed logo
    is never seen mirrored as enrolled) gets no RANSAC fit; the same matches unmirrored do."""
    from screening.detect.logos.verify import _fits, outline

    ref = detector.index.references[0].features
    colour = ColourView(np.zeros((1200, 1600, 3), np.uint8))
    cfg = detector.config.verify

    def possible(model: np.ndarray) -> bool:
        return outline(ref, model, colour, cfg) is not None

    rng = np.random.default_rng(4)
    rxy = rng.uniform(0, [ref.width, ref.height], (40, 2))
    members = np.arange(40)
    free = np.ones(40, bool)
    upright = rxy * 0.8 + [500.0, 400.0]
    mirrored = np.column_stack([900.0 - rxy[:, 0] * 0.8, rxy[:, 1] * 0.8 + 400.0])
    assert len(list(_fits(rxy, upright, members, free, 5.0, 5, possible))) == 2  # homography, then affine
    assert len(list(_fits(rxy, mirrored, members, free, 5.0, 5, lambda _model: True))) == 2
    assert list(_fits(rxy, mirrored, members, free, 5.0, 5, possible)) == []


def test_pairs_within_finds_exactly_the_close_pairs() -> None:
    """The grid search behind guided matching returns what comparing every pair returns, in the same
    order: points on cell borders, at negative coordinates and repeated included."""
    from screening.detect.logos.guided import pairs_within

    rng = np.random.default_rng(3)
    a = np.concatenate([rng.uniform(-40, 120, (300, 2)), np.round(rng.uniform(-40, 120, (100, 2)))])
    b = np.concatenate([rng.uniform(-40, 120, (200, 2)), a[:50] + 2.9, a[50:60]])
    for radius in (3.0, 7.5):
        near = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2) < radius
        want_i, want_j = np.nonzero(near)
        got_i, got_j = pairs_within(a, b, radius)
        assert len(want_i) > 100
        np.testing.assert_array_equal(got_i, want_i)
        np.testing.assert_array_equal(got_j, want_j)
    assert [len(x) for x in pairs_within(a, b[:0], 3.0)] == [0, 0]


def test_guided_matching_of_a_light_ink_print_turns_the_photos_descriptors(detector: LogoDetector) -> None:
    """Guided matching of a light-ink fit compares the print rows with the photo's descriptors turned
    (light and dark swapped): a photo showing the print in light ink is recovered through them, and
    not through the logo as enrolled."""
    from screening.detect.logos.features import Features
    from screening.detect.logos.guided import guided
    from screening.detect.logos.index import PRINT
    from screening.detect.logos.verify import VerifyConfig

    index, ref = detector.index, 1
    start, stop = index.rows[(index.plain + ref, SWAPPED_PRINT)]
    rows = np.arange(start, stop)[np.argsort(-index.size[start:stop], kind="stable")][:40]
    hmat = np.array([[0.5, 0.0, 400.0], [0.0, 0.5, 300.0], [0.0, 0.0, 1.0]])
    xy = cv2.perspectiveTransform(index.xy[rows].reshape(-1, 1, 2).astype(np.float64), hmat).reshape(-1, 2)
    feats = index.references[ref].features
    corners = np.array([[0, 0], [feats.width, 0], [feats.width, feats.height], [0, feats.height]], np.float64)
    quad = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), hmat).reshape(-1, 2)
    p_start = index.rows[(ref, PRINT)][0]
    dark = index.desc[rows - start + p_start]  # the same print keypoints in dark ink
    light = Features(
        xy.astype(np.float32), (index.size[rows] * 0.5).astype(np.float32), index.angle[rows], dark[:, SWAPPED]
    )
    cfg = VerifyConfig()
    assert len(guided(index, index.plain + ref, hmat, quad, light, 3.0, cfg, printed=True)[0]) == len(rows)
    assert len(guided(index, ref, hmat, quad, light, 3.0, cfg)[0]) < 0.2 * len(rows)


def test_guided_matching_needs_position_orientation_and_descriptor(detector: LogoDetector) -> None:
    """Photo keypoints where a fit puts the logo's keypoints, turned and scaled as it says, with their
    descriptors, are all recovered; turned otherwise, or with other keypoints' descriptors, they are not."""
    from screening.detect.logos.features import Features
    from screening.detect.logos.guided import guided
    from screening.detect.logos.verify import VerifyConfig

    index, ref = detector.index, 0
    start, stop = index.rows[(ref, AS_ENROLLED)]
    rows = np.arange(start, stop)[np.argsort(-index.size[start:stop], kind="stable")][:60]  # big enough at s
    s, turn = 0.5, 20.0
    c, si = np.cos(np.deg2rad(turn)), np.sin(np.deg2rad(turn))
    hmat = np.array([[s * c, -s * si, 400.0], [s * si, s * c, 300.0], [0.0, 0.0, 1.0]])
    xy = cv2.perspectiveTransform(index.xy[rows].reshape(-1, 1, 2).astype(np.float64), hmat).reshape(-1, 2)
    feats = index.references[ref].features
    corners = np.array([[0, 0], [feats.width, 0], [feats.width, feats.height], [0, feats.height]], np.float64)
    quad = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), hmat).reshape(-1, 2)
    cfg = VerifyConfig()

    def photo(angle: np.ndarray, desc: np.ndarray) -> Features:
        return Features(xy.astype(np.float32), (index.size[rows] * s).astype(np.float32), angle, desc)

    angle = np.mod(index.angle[rows] + turn, 360).astype(np.float32)
    g_rxy, g_qxy, g_scale = guided(index, ref, hmat, quad, photo(angle, index.desc[rows]), 3.0, cfg)
    assert len(g_qxy) == len(rows)
    back = cv2.perspectiveTransform(g_rxy.reshape(-1, 1, 2), hmat).reshape(-1, 2)
    assert np.all(np.linalg.norm(back - g_qxy, axis=1) < 3.0) and np.allclose(g_scale, s, rtol=0.35)
    turned = np.mod(angle + 90.0, 360).astype(np.float32)
    # (a few survive: other views of the same logo point can be oriented that way)
    assert len(guided(index, ref, hmat, quad, photo(turned, index.desc[rows]), 3.0, cfg)[0]) < 0.2 * len(rows)
    o_start, o_stop = index.rows[(1, AS_ENROLLED)]  # the other party's logo's descriptors
    others = index.desc[np.linspace(o_start, o_stop - 1, len(rows)).astype(int)]
    assert len(guided(index, ref, hmat, quad, photo(angle, others), 3.0, cfg)[0]) < 0.1 * len(rows)


def test_reference_features_depend_on_the_image_alone(logos: dict[str, np.ndarray]) -> None:
    """Features are cached by the image's content: whatever ran on the thread before (here, draws from
    OpenCV's RNG, as a FLANN forest build makes) must not change them (the one-colour cuts use k-means)."""
    from screening.detect.logos.features import describe_reference

    image = gen.reference_image(logos["pdip"])
    first = describe_reference(image)
    noise = np.zeros((64, 64), np.float32)
    cv2.randu(noise, 0, 1)
    again = describe_reference(image)
    assert first.print_rows > 0 and np.array_equal(first.features.desc, again.features.desc)


def _pose_of(inst, feats) -> tuple[tuple[float, float], float, float]:
    """(centre, long side, rotation) of a verified instance: what a pose hypothesis predicts."""
    top = inst.quad[1] - inst.quad[0]
    scale = float(np.linalg.norm(top)) / feats.width
    centre = cv2.perspectiveTransform(np.array([[[feats.width / 2, feats.height / 2]]], np.float64), inst.homography)
    return (
        (float(centre[0, 0, 0]), float(centre[0, 0, 1])),
        scale * max(feats.width, feats.height),
        float(np.arctan2(top[1], top[0])),
    )


def _verified(detector: LogoDetector, bgr: np.ndarray):
    """The coarse pass's instances, with what dense verification needs (image, factor, matches, photo)."""
    from screening.detect.logos.appearance import ColourView
    from screening.detect.logos.verify import find_instances, suppress

    image = load_image(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    gray, factor = detector._detection_gray(image)
    photo, matches = detector.describe_and_match(gray)
    colour = ColourView(image.bgr, 1.0 / factor)
    found = suppress(find_instances(detector.index, matches, photo, colour, detector.config.verify))
    return found, colour, matches, photo


def test_dense_alignment_recovers_a_rough_pose(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    """Started a tenth of the logo off, 8 degrees turned and 12 % too big, ECC alignment of the
    reference's pixels lands on the outline keypoint verification found."""
    from screening.detect.logos.appearance import appearance, warped_back
    from screening.detect.logos.dense import align
    from screening.detect.logos.features import gradients

    scene = _background(1)
    _place(scene, logos["pdip"], [(300, 180), (560, 220), (540, 470), (310, 430)])
    (inst,), colour, _, _ = _verified(detector, _jpeg(scene))
    feats = detector.index.references[inst.ref].features
    c, s = 1.12 * np.cos(np.deg2rad(8)), 1.12 * np.sin(np.deg2rad(8))
    cx, cy = feats.width / 2, feats.height / 2
    # In the reference's own frame: about its centre, turned, enlarged, then moved by a tenth of its width.
    nudge = np.array([[c, -s, cx - c * cx + s * cy + 0.1 * feats.width], [s, c, cy - s * cx - c * cy], [0, 0, 1]])
    rough = inst.homography @ nudge
    corners = np.array([[0, 0], [feats.width, 0], [feats.width, feats.height], [0, feats.height]], np.float64)

    def quad(h: np.ndarray) -> np.ndarray:
        return cv2.perspectiveTransform(corners.reshape(-1, 1, 2), h).reshape(-1, 2)

    side = float(np.ptp(inst.quad, axis=0).max())
    before = np.abs(quad(rough) - inst.quad).max()
    assert before > 0.15 * side  # a real error to recover from
    refined = align(feats, rough, colour)
    assert refined is not None
    # (the keypoint fit is no ground truth either: the corners are extrapolated from the logo's inside)
    assert np.abs(quad(refined) - inst.quad).max() < min(0.08 * side, before / 2.5)

    def edges(h: np.ndarray) -> float:
        patch = warped_back(feats, h, colour)
        return appearance(feats, patch, gradients(patch), detector.config.verify)[0]

    assert edges(rough) < 0.5 * inst.edge_similarity and edges(refined) > 0.9 * inst.edge_similarity


def test_dense_verification_needs_the_logos_colours(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    """A pose hypothesis at a logo verifies densely; the same shapes in other colours, or another
    party's logo hypothesised there, do not."""
    from screening.detect.logos.dense import verify_densely
    from screening.detect.logos.poses import Hypothesis

    quad = [(300, 180), (560, 220), (540, 470), (310, 430)]
    scene = _background(1)
    _place(scene, logos["pdip"], quad)
    (inst,), colour, matches, photo = _verified(detector, _jpeg(scene))
    feats = detector.index.references[inst.ref].features
    centre, size, angle = _pose_of(inst, feats)
    hyp = Hypothesis(inst.ref, centre, size, 3, angle)
    cfg = detector.config.verify
    enrolled = matches.where(detector.index.kind[matches.r] == AS_ENROLLED)
    found = verify_densely(detector.index, hyp, enrolled, photo.xy, colour, cfg)
    assert found is not None and found.dense and found.ref == inst.ref
    assert np.abs(found.quad - inst.quad).max() < 0.05 * size and found.edge_similarity >= cfg.dense_min_edge
    other = next(i for i, r in enumerate(detector.index.references) if r.party != "pdip" and not r.swapped)
    elsewhere = dataclasses.replace(hyp, ref=other)
    assert verify_densely(detector.index, elsewhere, enrolled, photo.xy, colour, cfg) is None
    recoloured = _background(1)
    logo = logos["pdip"].copy()
    logo[:, :, :3] = logo[:, :, [1, 2, 0]]  # same shapes and edges, other hues
    _place(recoloured, logo, quad)
    _, colour2, matches2, photo2 = _verified(detector, _jpeg(recoloured))
    enrolled2 = matches2.where(detector.index.kind[matches2.r] == AS_ENROLLED)
    assert verify_densely(detector.index, hyp, enrolled2, photo2.xy, colour2, cfg) is None


def test_dense_verification_judges_a_one_hue_region_by_its_hue_similarity(
    detector: LogoDetector, logos: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blur mixes a small logo's colours into its main one, and the region then counts as one hue (a
    print, for the colour check, which stands aside): dense verification compares its hue similarity
    instead, so the logo is found, and the same shapes in other hues still are not."""
    import screening.detect.logos.dense as dense
    from screening.detect.logos.poses import Hypothesis

    real = dense.appearance
    monkeypatch.setattr(dense, "appearance", lambda *args: real(*args)._replace(colour=None))  # one hue
    quad = [(300, 180), (560, 220), (540, 470), (310, 430)]
    cfg = detector.config.verify
    hyp = None
    for shown, found in ((logos["pdip"], True), (_hue_turned(logos["pdip"], 60), False)):
        scene = _background(1)
        _place(scene, shown, quad)
        verified, colour, matches, photo = _verified(detector, _jpeg(scene))
        if hyp is None:  # the logo's pose, from the keypoint fit of the logo as it is
            centre, size, angle = _pose_of(verified[0], detector.index.references[verified[0].ref].features)
            hyp = Hypothesis(verified[0].ref, centre, size, 3, angle)
        enrolled = matches.where(detector.index.kind[matches.r] == AS_ENROLLED)
        got = dense.verify_densely(detector.index, hyp, enrolled, photo.xy, colour, cfg)
        assert (got is not None) is found
        if got is not None:
            assert got.ref == hyp.ref and got.colour_similarity >= cfg.dense_min_colour


def test_dense_verification_tries_another_pose_at_one_place(
    detector: LogoDetector, logos: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pose with the most votes at a place is not always the one that aligns: when it fails, the next
    pose predicted there is aligned too (up to dense_per_place), but never the same pose twice."""
    import screening.detect.logos.detector as logo_detector
    from screening.detect.logos.poses import Hypothesis

    scene = _background(1)
    _place(scene, logos["pdip"], [(300, 180), (560, 220), (540, 470), (310, 430)])
    photo_bgr = _jpeg(scene)
    (inst,), colour, matches, photo = _verified(detector, photo_bgr)
    _, factor = detector._detection_gray(load_image(cv2.cvtColor(photo_bgr, cv2.COLOR_BGR2RGB)))
    centre, size, angle = _pose_of(inst, detector.index.references[inst.ref].features)
    right = Hypothesis(inst.ref, centre, size, 2, angle)
    wrong = Hypothesis(inst.ref, centre, 2.5 * size, 3, angle + np.pi / 2)  # more votes, far off
    again = dataclasses.replace(wrong, votes=2, centre=(centre[0] + 0.05 * size, centre[1]))
    assert wrong.near(right) and not wrong.same_pose(right) and wrong.same_pose(again)
    real = logo_detector.verify_densely
    monkeypatch.setattr(logo_detector, "hypotheses", lambda *_args, **_kw: [wrong, again, right])

    def dense(per_place: int) -> tuple[list, list[Hypothesis]]:
        """What dense verification finds with ``per_place``, and the poses it aligned."""
        aligned: list[Hypothesis] = []

        def spy(index: object, hyp: Hypothesis, *args: object) -> object:
            aligned.append(hyp)
            return real(index, hyp, *args)

        monkeypatch.setattr(logo_detector, "verify_densely", spy)
        # Only the hypotheses above: no close agreements (tested on their own).
        config = dataclasses.replace(detector.config, dense_per_place=per_place, dense_close=0)
        det = LogoDetector(detector.registry, config)
        return det._dense_hypotheses(matches, photo, [], [], factor, colour), aligned

    assert dense(1) == ([], [wrong])
    found, aligned = dense(2)
    assert aligned == [wrong, right] and [f.ref for f in found] == [inst.ref] and found[0].dense


def test_blurred_small_logo_found_by_dense_alignment(detector: LogoDetector, logos: dict[str, np.ndarray]) -> None:
    """A 77-px logo on a bent flag in a blurred 1600x1200 photo: a few matches agree on its pose, but
    neither the coarse pass nor the closer look gets enough inliers; its pixels aligned with the
    reference's verify it."""
    rng = np.random.default_rng(12)
    scene = gen.procedural_background(rng, (1600, 1200))
    box = gen.paste(scene, logos["pdip"], rng, float(rng.uniform(70, 110)), bend=0.06, tilt=0.06)
    image = load_image(cv2.cvtColor(_jpeg(cv2.GaussianBlur(scene, (0, 0), 1.2)), cv2.COLOR_BGR2RGB))
    found = detector.detect(image)
    assert [f.party for f in found] == ["pdip"] and _centre_in(found[0], box)
    assert found[0].detail["dense_alignment"] is True and found[0].box.w < 140
    config = detector.config
    # Its evidence is the alignment and the matches it explains; no keypoint fit's measures, shown as none.
    detail = found[0].detail
    assert detail["edge_similarity"] >= config.verify.dense_min_edge
    assert detail["colour_similarity"] >= config.verify.dense_min_colour
    assert detail["inliers"] >= config.verify.dense_min_inliers
    assert detail["inlier_ratio"] is None and detail["coverage"] is None and detail["spread"] is None
    no_dense = dataclasses.replace(config, verify=dataclasses.replace(config.verify, dense=False))
    assert LogoDetector(detector.registry, no_dense).detect(image) == []


def _hue_turned(rgba: np.ndarray, turn: int) -> np.ndarray:
    """``rgba`` with every hue turned by ``turn`` (OpenCV units, 180 = full circle)."""
    hsv = cv2.cvtColor(rgba[:, :, :3], cv2.COLOR_BGR2HSV)
    hsv[:, :, 0] = ((hsv[:, :, 0].astype(np.int32) + turn) % 180).astype(np.uint8)
    out = rgba.copy()
    out[:, :, :3] = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    return out


def test_logo_in_another_colourway_found_on_overwhelming_keypoints(
    detector: LogoDetector, logos: dict[str, np.ndarray]
) -> None:
    """Gerindra's logo uses red, orange, blue and pink: turned half-way round the hue circle its
    colours trade places (red parts blue, blue parts orange), so the histograms no longer agree, but
    every colour is still one of the logo's. With keypoints this plentiful that is the logo, recoloured."""
    scene = _background(1)
    box = _place(scene, _hue_turned(logos["gerindra"], 90), [(300, 180), (560, 220), (540, 470), (310, 430)])
    image = load_image(cv2.cvtColor(_jpeg(scene), cv2.COLOR_BGR2RGB))
    found = detector.detect(image)
    assert [f.party for f in found] == ["gerindra"] and _centre_in(found[0], box)
    assert found[0].detail["other_colours"] is True
    assert found[0].detail["colour_similarity"] < detector.config.verify.min_colour_similarity
    strict = dataclasses.replace(detector.config.verify, colourway_min_inliers=10**6)
    assert LogoDetector(detector.registry, dataclasses.replace(detector.config, verify=strict)).detect(image) == []


def test_colourway_needs_many_spread_inliers_and_no_foreign_colour() -> None:
    cfg = VerifyConfig()
    quad = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], np.float64)
    m = Measures(40, quad, 1.1, 0.5, 0.6, 0.2, 0.6, 0.15, foreign=0.1)
    assert colourway(m, cfg) and accept(m, cfg)
    assert not accept(dataclasses.replace(m, foreign=0.6), cfg)  # hues the logo lacks
    assert not accept(dataclasses.replace(m, foreign=None), cfg)  # no colour measured to compare
    assert not accept(dataclasses.replace(m, inliers=cfg.colourway_min_inliers - 1), cfg)
    assert not accept(dataclasses.replace(m, spread=0.1), cfg)  # bunched on one part of the logo
    assert not accept(dataclasses.replace(m, edge=0.45), cfg)
    assert accept(dataclasses.replace(m, colour=0.5, foreign=0.9), cfg)  # colours agree: no question


def test_foreign_colour_is_the_share_in_hues_the_logo_lacks() -> None:
    ref = np.zeros((18, 4), np.float32)
    ref[2, 3], ref[11, 2] = 0.8, 0.2  # yellow and blue
    near = np.zeros_like(ref)
    near[1, 1], near[12, 0] = 0.5, 0.5  # orange-yellow and blue-violet: a bin away, light moves hues
    far = np.zeros_like(ref)
    far[6, 2], far[11, 2] = 0.7, 0.3  # green is not the logo's
    assert foreign_share(ref, near) == pytest.approx(0.0)
    assert foreign_share(ref, far) == pytest.approx(0.7)


def test_guided_coverage_counts_the_keypoints_of_the_part_in_view(detector: LogoDetector) -> None:
    """The keypoints on an arm across a logo are no logo's to explain: a re-matched fit's coverage is
    the share of the photo's keypoints it explains where its inliers are, not in the whole outline."""
    ref = detector.index.references[0].features
    w, h = ref.width, ref.height
    hmat = np.array([[0.5, 0.0, 50.0], [0.0, 0.5, 50.0], [0.0, 0.0, 1.0]])  # canonical -> photo
    rng = np.random.default_rng(0)
    rxy = np.column_stack([rng.uniform(0.1 * w, 0.9 * w, 30), rng.uniform(0.05 * h, 0.35 * h, 30)])
    hidden = np.column_stack([rng.uniform(0.1 * w, 0.9 * w, 90), rng.uniform(0.7 * h, 0.95 * h, 90)])
    qxy = rxy * 0.5 + 50.0
    pts = np.concatenate([qxy, hidden * 0.5 + 50.0]).astype(np.float32)
    photo = Features(
        pts, np.full(len(pts), 4.0, np.float32), np.zeros(len(pts), np.float32), np.zeros((len(pts), 128), np.float32)
    )
    colour = ColourView(np.full((400, 400, 3), 128, np.uint8))
    args = (ref, hmat, np.ones(30, bool), rxy, qxy, np.full(30, 0.5), photo, colour, detector.config.verify)
    whole, in_view = measure(*args), measure(*args, visible=True)
    assert whole.coverage == pytest.approx(whole.inliers / 120)  # 90 keypoints on what hides the lower part
    assert in_view.coverage == pytest.approx(in_view.inliers / 30) and in_view.inliers >= 25


def test_guided_fit_whose_rest_shows_the_backdrop_is_refused() -> None:
    """A slogan's letter taken for the letter inside a party's ring: the ring, out of view, shows the
    banner the letter is on (missing, not hidden), and the re-matched fit is refused; a ring hidden by
    an arm, or in view, keeps it."""
    badge = np.full((400, 400, 3), 255, np.uint8)
    cv2.circle(badge, (200, 200), 150, (0, 0, 200), -1)
    cv2.circle(badge, (200, 200), 110, (255, 255, 255), -1)
    cv2.putText(badge, "P", (145, 255), cv2.FONT_HERSHEY_DUPLEX, 5, (0, 0, 0), 12)
    ref = describe_reference(badge)
    th, tw = ref.thumb.shape[:2]
    seen = np.zeros((th, tw), np.uint8)  # the letter in view, the ring not
    cv2.circle(seen, (tw // 2, th // 2), round(0.28 * tw), 255, -1)
    ring = (ref.thumb[:, :, 2] > 150) & (ref.thumb[:, :, 0] < 100)
    assert ring.sum() > 200 and not (ring & (seen > 0)).any()
    letter_alone = ref.thumb.copy()
    letter_alone[ring] = (255, 255, 255)
    behind_arm = ref.thumb.copy()
    behind_arm[seen == 0] = (120, 150, 200)  # skin
    assert absent_share(ref, letter_alone, seen) > 0.8
    assert absent_share(ref, behind_arm, seen) < 0.1
    assert absent_share(ref, ref.thumb, seen) < 0.1
    assert absent_share(ref, letter_alone, np.full_like(seen, 255)) is None  # nothing out of view to judge

    cfg = VerifyConfig()
    quad = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], np.float64)
    m = Measures(12, quad, 1.1, 0.12, 1.0, 0.4, 0.7, 0.6)
    assert accept_guided(m, cfg) and accept_guided(dataclasses.replace(m, absent=0.05), cfg)
    assert not accept_guided(dataclasses.replace(m, absent=absent_share(ref, letter_alone, seen)), cfg)


@pytest.mark.parametrize("swapped", [False, True])
def test_mirroring_permutes_the_descriptor_cells_and_bins(swapped: bool) -> None:
    """What the mirrored search rests on: SIFT of the image mirrored left-right finds the same keypoints
    at mirrored places with angle 180 - a, and their descriptors are the originals' with the cell rows
    reversed and the orientation bins negated (features.MIRROR). Mirrored and light-dark swapped (a light-ink
    print in a mirror selfie), the angle is -a and the permutation that of its kind of rows."""
    gray = cv2.cvtColor(gen.reference_image(gen.make_logo("pkb", "PKB")), cv2.COLOR_BGR2GRAY)
    seen = np.ascontiguousarray(gray[:, ::-1])
    a, b = extract(gray), extract(255 - seen if swapped else seen)
    assert len(a) > 50
    bxy = np.column_stack([gray.shape[1] - 1 - b.xy[:, 0], b.xy[:, 1]])
    turn = np.abs(np.mod(b.angle[None] - ((0.0 if swapped else 180.0) - a.angle[:, None]), 360.0))
    turn = np.minimum(turn, 360.0 - turn)
    # OpenCV reports keypoints about a quarter pixel right of where they are: mirrored, half a pixel.
    gap = np.linalg.norm(a.xy[:, None] - bxy[None], axis=2) + turn
    twin = gap.argmin(axis=1)
    same = gap[np.arange(len(a)), twin] < 1.0
    assert same.sum() > 40
    permutation = SEARCHED[MIRRORED_SWAPPED_PRINT if swapped else MIRRORED][1]
    # The index permutes the photo's descriptors (b) to meet the logo's (a).
    mirrored = np.linalg.norm(b.desc[twin[same]][:, permutation] - a.desc[same], axis=1)
    plain = np.linalg.norm(a.desc[same] - b.desc[twin[same]], axis=1)
    assert np.median(mirrored) < 0.1 and np.median(plain) > 0.4


def _with_and_without_mirrored_search(
    root: Path, logos: dict[str, np.ndarray], config: LogoConfig
) -> tuple[LogoDetector, LogoDetector]:
    """Detectors of a registry at ``root`` with ``logos`` enrolled, one per party: with and without the
    mirrored search."""
    init_registry(root)
    for party, logo in logos.items():
        cv2.imwrite(str(root / f"{party}.png"), gen.reference_image(logo))
        add_logo(root, party, [root / f"{party}.png"])
    mirrored = LogoDetector(load_registry(root), config)
    return mirrored, LogoDetector(mirrored.registry, dataclasses.replace(config, mirrored=False))


def _symmetric(logo: np.ndarray) -> np.ndarray:
    """``logo`` with its left half mirrored onto its right: a mirror-symmetric logo."""
    out = logo.copy()
    half = logo.shape[1] // 2
    out[:, -half:] = logo[:, :half][:, ::-1]
    return out


def test_logo_seen_mirrored_is_found(tmp_path: Path, detector: LogoDetector) -> None:
    """A flag seen from behind, or a selfie camera that mirrors: the mirror image of a logo that is not
    symmetric is found as its party through the mirrored search; a symmetric one is found as it is
    enrolled, with no mirrored search. Symmetry is judged on keypoints: PDI-P's square frame and star
    look symmetric in a thumbnail, its name and off-centre marks do not."""
    from screening.detect.logos.features import mirror_symmetric

    logos = {"pkb": gen.make_logo("pkb", "PKB"), "pdip": gen.make_logo("pdip", "PDI-P")}
    logos["pan"] = _symmetric(gen.make_logo("pan", None))
    mirrored, unmirrored = _with_and_without_mirrored_search(tmp_path, logos, detector.config)
    plain = mirrored.index.references[: mirrored.index.plain]
    assert {r.party: mirror_symmetric(r.features) for r in plain} == {"pkb": False, "pdip": False, "pan": True}
    share = {r.party: r.features.self_mirror for r in plain}
    assert share["pdip"] < 0.2 and share["pan"] > 0.6  # well clear of SYMMETRIC_SHARE (0.5)
    where = [(300, 180), (560, 210), (545, 470), (305, 440)]
    # (party, found as its mirror image, found at all without the mirrored search): PDI-P's symmetric
    # frame alone is found as enrolled, with a lower score than the whole logo mirrored.
    for party, how, without in (("pkb", True, False), ("pdip", True, True), ("pan", False, True)):
        scene = _background(11)
        box = _place(scene, np.ascontiguousarray(logos[party][:, ::-1]), where)
        found = _detect(mirrored, _jpeg(scene))
        assert [(f.party, f.detail["mirrored"]) for f in found] == [(party, how)] and _centre_in(found[0], box)
        as_enrolled = _detect(unmirrored, _jpeg(scene))
        assert bool(as_enrolled) is without
        if how and without:
            assert found[0].score > as_enrolled[0].score
    scene = _background(11)
    _place(scene, logos["pkb"], where)
    assert [(f.party, f.detail["mirrored"]) for f in _detect(mirrored, _jpeg(scene))] == [("pkb", False)]


def test_print_seen_mirrored_is_found_as_a_print(tmp_path: Path, detector: LogoDetector) -> None:
    """A party shirt printed in one ink, in a mirror selfie: the mirrored search covers the logo's prints
    too (their rows at mirrored places), dark ink on light cloth and light ink on dark, and the finding
    says both what it is and how it was seen."""
    logos = {p: gen.make_logo(p, text) for p, text in (("buruh", "BURUH"), ("pkb", "PKB"), ("pdip", "PDI-P"))}
    mirrored, unmirrored = _with_and_without_mirrored_search(tmp_path, logos, detector.config)
    for ink, cloth in (((25, 25, 25), (225, 230, 235)), ((245, 245, 245), (35, 35, 35))):
        scene = _background(11)
        shirt = gen.one_colour_print(logos["buruh"], ink, cloth)
        box = _place(scene, np.ascontiguousarray(shirt[:, ::-1]), [(300, 180), (560, 210), (545, 470), (305, 440)])
        photo = _jpeg(scene)
        found = _detect(mirrored, photo)
        light = ink[0] > cloth[0]
        how = [
            (f.party, f.detail["mirrored"], f.detail["one_colour_print"], f.detail["light_dark_swapped"]) for f in found
        ]
        assert how == [("buruh", True, True, light)] and _centre_in(found[0], box)
        assert _detect(unmirrored, photo) == []  # seen as it is, nothing of it matches well enough


@pytest.mark.parametrize(
    ("prints", "swapped", "mirrored"), [(False, False, True), (True, False, True), (False, True, False)]
)
def test_each_search_can_be_turned_off(
    detector: LogoDetector, logos: dict[str, np.ndarray], prints: bool, swapped: bool, mirrored: bool
) -> None:
    """rules.toml may turn the prints', the light-ink and the mirrored searches off one by one: the index
    then holds only the kinds of rows that are searched, and the logo as enrolled is found as before."""
    cfg = dataclasses.replace(detector.config, prints=prints, swapped=swapped, mirrored=mirrored)
    det = LogoDetector(detector.registry, cfg)
    kinds = set(np.unique(det.index.kind).tolist())
    assert all(SEARCHED[k][0] in kinds for k in kinds)  # every kind's rows have a forest to search
    assert (SWAPPED_PRINT in kinds) == (prints and swapped)
    assert (MIRRORED_SWAPPED_PRINT in kinds) == (prints and swapped and mirrored)
    scene = _background(1)
    box = _place(scene, logos["pdip"], [(300, 180), (560, 220), (540, 470), (310, 430)])
    found = _detect(det, _jpeg(scene))
    assert [f.party for f in found] == ["pdip"] and _centre_in(found[0], box)
