"""Candidate faces end to end: enrol, match, reject strangers, several faces, EXIF, threads."""

from __future__ import annotations

import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from screening import EnrollmentError, RegistryError, Screener
from screening.detect.faces.detector import FaceEngine
from screening.registry import init_registry, load_registry
from screening.registry.candidates import add_candidate, add_photos, remove_candidate
from screening.registry.face_templates import cache_path, read_cache
from screening.registry.model import Candidate
from screening.runtime.sessions import Runtime

pytestmark = pytest.mark.models
DAY = dt.date(2024, 1, 10)


@pytest.fixture(scope="module")
def engine(face_models: Runtime) -> FaceEngine:
    return FaceEngine.configured(face_models)


@pytest.fixture()
def registry_with_obama(tmp_path: Path, face_photos: dict[str, Path], engine: FaceEngine) -> Path:
    init_registry(tmp_path)
    cand = Candidate(id="obama", name="Barack Obama", office="dpr", election="pileg2024", party="pkb")
    add_candidate(tmp_path, cand, [face_photos["obama.jpg"]], engine)
    return tmp_path


def side_by_side(*paths: Path, height: int = 500) -> Image.Image:
    """A group photo composed in code: the given portraits next to each other."""
    imgs = [Image.open(p).convert("RGB") for p in paths]
    imgs = [im.resize((round(im.width * height / im.height), height)) for im in imgs]
    canvas = Image.new("RGB", (sum(im.width for im in imgs) + 40 * len(imgs), height + 80), (200, 200, 200))
    x = 20
    for im in imgs:
        canvas.paste(im, (x, 40))
        x += im.width + 40
    return canvas


def test_enrolled_candidate_is_found_in_another_photo(registry_with_obama: Path, face_photos: dict[str, Path],
                                                      face_models: Runtime) -> None:  # fmt: skip
    screener = Screener(registry_with_obama, runtime=face_models, detectors=["faces"])
    verdict = screener.screen(face_photos["obama2.jpg"], posting_date=DAY)
    assert verdict.verdict == "warn"
    (finding,) = verdict.findings
    assert finding.candidate == "obama" and finding.score >= 0.6
    assert {"similarity", "margin", "runner_up"} <= set(finding.detail)
    x, y, w, _h = finding.box.as_list()
    assert 0 <= x < verdict.width and 0 <= y < verdict.height and 80 < w < verdict.width
    assert verdict.violations[0].points == ("D7a",)


def test_stranger_gives_allow(registry_with_obama: Path, face_photos: dict[str, Path], face_models: Runtime) -> None:
    screener = Screener(registry_with_obama, runtime=face_models, detectors=["faces"])
    verdict = screener.screen(face_photos["biden.jpg"], posting_date=DAY)
    assert verdict.verdict == "allow" and verdict.findings == ()


def test_several_faces_each_matched(tmp_path: Path, face_photos: dict[str, Path], engine: FaceEngine,
                                    face_models: Runtime) -> None:  # fmt: skip
    init_registry(tmp_path)
    for cid, photo in (("obama", "obama.jpg"), ("biden", "biden.jpg")):
        add_candidate(tmp_path, Candidate(id=cid, name=cid.title(), office="dpr", election="pileg2024"),
                      [face_photos[photo]], engine)  # fmt: skip
    group = side_by_side(face_photos["obama2.jpg"], face_photos["biden.jpg"])
    verdict = Screener(tmp_path, runtime=face_models, detectors=["faces"]).screen(group, posting_date=DAY)
    found = sorted((f.candidate, f.box.x) for f in verdict.findings)
    assert [c for c, _ in found] == ["biden", "obama"]
    obama_x = dict(found)["obama"]
    assert obama_x < dict(found)["biden"]  # obama was pasted on the left
    assert len(verdict.violations) == 2


def test_rotated_exif_photo_still_matches_with_upright_box(registry_with_obama: Path, face_photos: dict[str, Path],
                                                           face_models: Runtime) -> None:  # fmt: skip
    upright = Image.open(face_photos["obama2.jpg"]).convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a camera held sideways stores
    exif = Image.Exif()
    exif[0x0112] = 6  # ... and the tag that tells viewers to turn it back
    buf = io.BytesIO()
    stored.save(buf, "JPEG", exif=exif, quality=92)
    screener = Screener(registry_with_obama, runtime=face_models, detectors=["faces"])
    verdict = screener.screen(buf.getvalue(), posting_date=DAY)
    assert (verdict.width, verdict.height) == upright.size
    (finding,) = verdict.findings
    assert finding.candidate == "obama"
    plain = screener.screen(upright, posting_date=DAY).findings[0]
    assert abs(finding.box.x - plain.box.x) < 10 and abs(finding.box.y - plain.box.y) < 10


def test_thread_safety_gives_identical_results(registry_with_obama: Path, face_photos: dict[str, Path],
                                               face_models: Runtime) -> None:  # fmt: skip
    screener = Screener(registry_with_obama, runtime=face_models, detectors=["faces"])
    inputs = [face_photos[n] for n in ("obama2.jpg", "biden.jpg", "obama.jpg")] * 4
    serial = [screener.screen(p, posting_date=DAY).to_dict() for p in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda p: screener.screen(p, posting_date=DAY).to_dict(), inputs))
    strip = [{k: v for k, v in d.items() if k != "timings_ms"} for d in serial]
    assert strip == [{k: v for k, v in d.items() if k != "timings_ms"} for d in parallel]


def test_enrolling_a_photo_without_one_face_is_refused(tmp_path: Path, face_photos: dict[str, Path],
                                                       engine: FaceEngine) -> None:  # fmt: skip
    init_registry(tmp_path)
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((300, 300, 3), 128, np.uint8)).save(blank)
    cand = Candidate(id="x", name="X", office="dpr", election="pileg2024")
    with pytest.raises(EnrollmentError, match="no face"):
        add_candidate(tmp_path, cand, [blank], engine)
    group = tmp_path / "group.jpg"
    side_by_side(face_photos["obama.jpg"], face_photos["biden.jpg"]).save(group)
    with pytest.raises(EnrollmentError, match="2 faces"):
        add_candidate(tmp_path, cand, [group], engine)
    assert load_registry(tmp_path).candidate("x") is None  # nothing half-enrolled
    with pytest.raises(RegistryError, match="unknown election"):
        add_candidate(tmp_path, Candidate(id="y", name="Y", office="dpr", election="nope"), [blank], engine)


def test_removal_deletes_photos_and_templates(registry_with_obama: Path, face_photos: dict[str, Path],
                                              engine: FaceEngine, face_models: Runtime) -> None:  # fmt: skip
    add_photos(registry_with_obama, "obama", [face_photos["obama2.jpg"]], engine)
    Screener(registry_with_obama, runtime=face_models, detectors=["faces"]).screen(face_photos["biden.jpg"])
    assert len(read_cache(registry_with_obama, engine.model_key)) == 2
    assert remove_candidate(registry_with_obama, "obama") == 2
    assert not (registry_with_obama / "faces" / "obama").exists()
    assert read_cache(registry_with_obama, engine.model_key) == {}
    assert cache_path(registry_with_obama).is_file()
    verdict = Screener(registry_with_obama, runtime=face_models, detectors=["faces"]).screen(face_photos["obama2.jpg"])
    assert verdict.verdict == "allow"


def test_changed_reference_photo_is_re_embedded(registry_with_obama: Path, face_photos: dict[str, Path],
                                                engine: FaceEngine, face_models: Runtime) -> None:  # fmt: skip
    reg = load_registry(registry_with_obama)
    photo = reg.resolve(reg.candidate("obama").photos[0])  # type: ignore[union-attr]
    photo.write_bytes(face_photos["biden.jpg"].read_bytes())  # operator swaps the file in place
    screener = Screener(registry_with_obama, runtime=face_models, detectors=["faces"])
    assert screener.screen(face_photos["biden.jpg"], posting_date=DAY).findings[0].candidate == "obama"


def test_one_persons_entries_for_two_elections_are_not_each_others_runner_up() -> None:
    from screening.detect.faces.gallery import Gallery

    rng = np.random.default_rng(0)
    a, b = (v / np.linalg.norm(v) for v in rng.normal(size=(2, 128)).astype(np.float32))
    gallery = Gallery(np.stack([a, a, b]), ("anies-2024", "anies-2029", "budi"))
    plain = gallery.match(a)
    assert plain.runner_up in {"anies-2024", "anies-2029"} and plain.margin < 1e-6  # would read "ambiguous"
    person = {"anies-2024": "anies baswedan", "anies-2029": "anies baswedan", "budi": "budi"}
    match = gallery.match(a, person)
    assert match.candidate in {"anies-2024", "anies-2029"} and match.runner_up == "budi" and match.margin > 0.5


def test_a_candidate_enrolled_again_for_the_next_election(
    registry_with_obama: Path, face_photos: dict[str, Path], engine: FaceEngine, face_models: Runtime
) -> None:
    """Enrolled again (same name, same photo) for 2029: recognised without being flagged ambiguous
    against himself, read as the 2029 prospective candidate before that election's determination, and
    removing the 2024 entry leaves the 2029 entry's template in the cache."""
    from screening.registry.elections import add_election
    from screening.registry.model import Election

    add_election(registry_with_obama, Election("pileg2029", "Pemilu DPR 2029", dt.date(2028, 11, 3),
                                               voting=dt.date(2029, 2, 14)))  # fmt: skip
    again = Candidate(id="obama-2029", name="Barack  Obama", office="dpr", election="pileg2029", party="pkb")
    add_candidate(registry_with_obama, again, [face_photos["obama.jpg"]], engine)
    screener = Screener(registry_with_obama, runtime=face_models, detectors=["faces"])
    verdict = screener.screen(face_photos["obama2.jpg"], posting_date=dt.date(2028, 6, 1))
    (finding,) = verdict.findings
    assert finding.detail["ambiguous"] is False and finding.detail["runner_up"] is None
    (violation,) = verdict.violations
    assert (violation.election, violation.points) == ("pileg2029", ("E5a",))

    remove_candidate(registry_with_obama, "obama")
    assert len(read_cache(registry_with_obama, engine.model_key)) == 1
    verdict = Screener(registry_with_obama, runtime=face_models, detectors=["faces"]).screen(face_photos["obama2.jpg"])
    assert [f.candidate for f in verdict.findings] == ["obama-2029"]
