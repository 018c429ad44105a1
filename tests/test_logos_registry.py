"""Enrolling and removing reference logos: files, registry.toml, feature cache, CLI."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from screening.cli import app
from screening.detect.logos.features import FEATURE_VERSION
from screening.errors import EnrollmentError, RegistryError
from screening.registry import init_registry, load_registry
from screening.registry.logos import add_logo, logo_cache_dir, reference_features, remove_logo


def _logo(path: Path, seed: int) -> Path:
    """A small logo-like image with enough corners to describe."""
    rng = np.random.default_rng(seed)
    img = np.full((240, 240, 3), 255, np.uint8)
    cv2.circle(img, (120, 120), 100, tuple(int(v) for v in rng.integers(0, 200, 3)), -1)
    for _ in range(6):
        pts = rng.integers(40, 200, (5, 2)).astype(np.int32)
        cv2.fillPoly(img, [pts], tuple(int(v) for v in rng.integers(0, 255, 3)))
    cv2.putText(img, "P" + str(seed), (80, 200), cv2.FONT_HERSHEY_DUPLEX, 1.2, (255, 255, 255), 3)
    cv2.imwrite(str(path), img)
    return path


def _toml_logos(root: Path, party: str) -> list[str]:
    raw = tomllib.loads((root / "registry.toml").read_text())
    return next(p.get("logos", []) for p in raw["parties"] if p["id"] == party)


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    reg = tmp_path / "reg"
    init_registry(reg)
    return reg


def test_add_and_remove_update_toml_files_and_cache(root: Path, tmp_path: Path) -> None:
    a, b = _logo(tmp_path / "a.png", 1), _logo(tmp_path / "b.png", 2)
    added = add_logo(root, "pkb", [a, b])
    assert len(added) == 2 and all(rel.startswith("logos/pkb/") and rel.endswith(".png") for rel in added)
    assert _toml_logos(root, "pkb") == added
    assert load_registry(root).party("pkb").logos == tuple(added)
    assert all((root / rel).is_file() for rel in added)
    cached = sorted(logo_cache_dir(root).glob(f"*.{FEATURE_VERSION}.npz"))
    assert len(cached) == 2
    # The same image again is not a second logo.
    assert add_logo(root, "pkb", [a]) == [added[0]]
    assert _toml_logos(root, "pkb") == added

    gone = remove_logo(root, "pkb", Path(added[0]).name)
    assert gone == [added[0]]
    assert _toml_logos(root, "pkb") == [added[1]]
    assert not (root / added[0]).exists()
    assert len(list(logo_cache_dir(root).glob("*.npz"))) == 1

    assert remove_logo(root, "pkb") == [added[1]]
    assert _toml_logos(root, "pkb") == []
    assert not list(logo_cache_dir(root).glob("*.npz"))


def test_cache_follows_file_content(root: Path, tmp_path: Path) -> None:
    (rel,) = add_logo(root, "pkb", [_logo(tmp_path / "a.png", 1)])
    first = reference_features(root, rel)
    # An operator replaces the file by hand: new content, new cache entry, new features.
    _logo(root / rel, 7)
    second = reference_features(root, rel)
    assert len(list(logo_cache_dir(root).glob("*.npz"))) == 2
    assert not np.array_equal(first.features.desc[:10], second.features.desc[:10])


def test_bad_input_is_refused_without_changes(root: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(EnrollmentError):
        add_logo(root, "pkb", [_logo(tmp_path / "a.png", 1), junk])
    assert _toml_logos(root, "pkb") == []
    assert not (root / "logos").exists()
    assert not logo_cache_dir(root).exists()
    with pytest.raises(RegistryError, match="no party"):
        add_logo(root, "no-such-party", [_logo(tmp_path / "b.png", 2)])
    with pytest.raises(RegistryError, match="has no logo"):
        remove_logo(root, "pkb", "missing.png")


def test_cli_add_and_remove_logo(root: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    img = _logo(tmp_path / "a.png", 3)
    res = runner.invoke(app, ["registry", "add-logo", str(root), "gerindra", str(img)])
    assert res.exit_code == 0, res.output
    (rel,) = _toml_logos(root, "gerindra")
    assert f"added {rel}" in res.output
    assert "warning" not in res.output  # found as its own party in a clean view of itself
    # The next check loads the search forests instead of building them (see forests.py).
    assert "logo search index saved" in res.output
    assert "enrolled" in {p.name.split("-")[1] for p in logo_cache_dir(root).glob("forest-*.flann")}
    res = runner.invoke(app, ["registry", "remove-logo", str(root), "gerindra", "--name", Path(rel).name])
    assert res.exit_code == 0, res.output
    assert _toml_logos(root, "gerindra") == []
    assert list(logo_cache_dir(root).glob("forest-*.flann")) == []  # no logo left: nothing to search
    res = runner.invoke(app, ["registry", "add-logo", str(root), "nobody", str(img)])
    assert res.exit_code == 2 and "no party" in res.output


def test_enrolment_warns_of_a_logo_that_cannot_be_told_from_another_partys(root: Path, tmp_path: Path) -> None:
    """A logo found as another party in a clean view of itself (a copy enrolled under a second party, or
    the wrong file) would silently never be reported as its own: add-logo and validate --logos say so."""
    runner = CliRunner()
    img = _logo(tmp_path / "a.png", 3)
    assert "warning" not in runner.invoke(app, ["registry", "add-logo", str(root), "gerindra", str(img)]).output
    # The same emblem, saved smaller: another file, the same logo.
    smaller = tmp_path / "a_small.png"
    cv2.imwrite(str(smaller), cv2.resize(cv2.imread(str(img)), (180, 180), interpolation=cv2.INTER_AREA))
    res = runner.invoke(app, ["registry", "add-logo", str(root), "pkb", str(smaller)])
    assert res.exit_code == 0, res.output
    warned = [line for line in res.output.splitlines() if line.startswith("warning")]
    assert warned and all("'pkb'" in w and "'gerindra'" in w for w in warned), res.output
    # The very same file under a third party: named as such.
    res = runner.invoke(app, ["registry", "add-logo", str(root), "pdip", str(img)])
    assert any("party 'pdip'" in w and "same image as a logo of 'gerindra'" in w for w in res.output.splitlines())
    # validate checks every enrolled logo when asked.
    res = runner.invoke(app, ["registry", "validate", str(root), "--logos"])
    warned = [line for line in res.output.splitlines() if line.startswith("warning") and " logo " in line]
    assert {w.split("'")[1] for w in warned} == {"gerindra", "pdip"}, res.output
    plain = runner.invoke(app, ["registry", "validate", str(root)]).output
    assert not any(" logo " in line for line in plain.splitlines() if line.startswith("warning")), plain


def test_self_check_passes_distinct_logos(root: Path, tmp_path: Path) -> None:
    """Two emblems in a disc above a 'P' and a digit print much alike in one colour: guided matching of
    one's print on the other's view, with no ratio test, once reported the wrong party there; each
    guided print match must now be closer than any other party's descriptor."""
    from screening.detect.logos.detector import LogoDetector
    from screening.detect.logos.selfcheck import self_check

    added = add_logo(root, "gerindra", [_logo(tmp_path / "a.png", 3)])
    added += add_logo(root, "pkb", [_logo(tmp_path / "b.png", 5)])
    assert self_check(LogoDetector(load_registry(root)), added) == []


def test_party_with_a_new_logo_for_the_next_election_is_found_as_that_entry(root: Path, tmp_path: Path) -> None:
    """A party's entry belongs to one election: a new design for the next one is enrolled on an entry of
    that election, and each design is reported as its own entry, the old one still as the old."""
    from screening.detect.logos.detector import LogoDetector
    from screening.image import load_image
    from screening.registry.elections import add_election, add_party
    from screening.registry.model import Election, Party

    add_election(root, Election("pileg2029", "Pemilu DPR 2029", dt.date(2028, 11, 3), voting=dt.date(2029, 2, 14)))
    add_party(root, Party("pkb-2029", "Partai Kebangkitan Bangsa", "PKB", "pileg2029", number=4))
    old, new = _logo(tmp_path / "old.png", 3), _logo(tmp_path / "new.png", 5)
    add_logo(root, "pkb", [old])
    add_logo(root, "pkb-2029", [new])
    registry = load_registry(root)
    assert registry.party("pkb-2029").election == "pileg2029" and len(registry.party("pkb").logos) == 1
    detector = LogoDetector(registry)
    for logo, party in ((old, "pkb"), (new, "pkb-2029")):
        photo = np.full((600, 800, 3), (90, 130, 160), np.uint8)
        photo[150:390, 280:520] = cv2.imread(str(logo))
        found = detector.detect(load_image(cv2.cvtColor(photo, cv2.COLOR_BGR2RGB)))
        assert [f.party for f in found] == [party]


def test_white_logo_on_a_transparent_backdrop_is_enrolled_and_found(root: Path, tmp_path: Path) -> None:
    """A logo published as white shapes on transparency (the variant for dark cloth) would vanish on
    the white that a photo's transparency becomes; enrolled against black, it is found on a dark flag."""
    from PIL import Image

    from screening.detect.logos.detector import LogoDetector
    from screening.detect.logos.selfcheck import self_check
    from screening.image import load_image

    rng = np.random.default_rng(4)
    shape = np.zeros((240, 240), np.uint8)
    cv2.circle(shape, (120, 120), 100, 255, 12)
    for _ in range(4):
        cv2.fillPoly(shape, [rng.integers(50, 190, (4, 2)).astype(np.int32)], 255)
    cv2.putText(shape, "P7", (70, 200), cv2.FONT_HERSHEY_DUPLEX, 1.6, 255, 4)
    rgba = np.zeros((240, 240, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[..., 3] = shape
    Image.fromarray(rgba).save(tmp_path / "white.png")

    added = add_logo(root, "pkb", [tmp_path / "white.png"])
    detector = LogoDetector(load_registry(root))
    flag = np.full((600, 800, 3), (110, 45, 25), np.uint8)  # BGR dark blue
    ink = shape[:, :, None].astype(np.float32) / 255.0
    flag[180:420, 300:540] = (flag[180:420, 300:540] * (1 - ink) + 245 * ink).astype(np.uint8)
    found = detector.detect(load_image(cv2.cvtColor(flag, cv2.COLOR_BGR2RGB)))
    assert [f.party for f in found] == ["pkb"]
    assert 280 <= found[0].box.x <= 330 and 160 <= found[0].box.y <= 210
    assert self_check(detector, added) == []  # its clean view is drawn on black too


def test_removing_a_party_takes_its_logos_and_is_refused_while_it_is_named(root: Path, tmp_path: Path) -> None:
    from screening.registry.elections import add_election, add_party, remove_election, remove_party
    from screening.registry.model import Election, Party

    with pytest.raises(RegistryError, match="ticket 1 of 'pilpres2024'"):
        remove_party(root, "pkb")  # the 2024 coalition names it
    add_election(root, Election("pileg2029", "Pemilu DPR 2029", dt.date(2028, 11, 3)))
    add_party(root, Party("pkb-2029", "Partai Kebangkitan Bangsa", "PKB", "pileg2029"))
    kept = add_logo(root, "pkb", [_logo(tmp_path / "a.png", 1)])
    add_logo(root, "pkb-2029", [tmp_path / "a.png", _logo(tmp_path / "b.png", 2)])  # a: the same design again
    with pytest.raises(RegistryError, match=r"still has parties \(1\)"):
        remove_election(root, "pileg2029")

    result = CliRunner().invoke(app, ["registry", "remove-party", str(root), "pkb-2029"])
    assert result.exit_code == 0 and "removed party pkb-2029 and 2 logo(s)" in result.output
    registry = load_registry(root)
    assert registry.party("pkb-2029") is None and registry.party("pkb").logos == tuple(kept)
    assert not (root / "logos" / "pkb-2029").exists()
    # b's features are gone; a's stay cached, since the 2024 entry still has that image.
    assert [p.name.split(".")[0][:16] for p in logo_cache_dir(root).glob("*.npz")] == [Path(kept[0]).stem]
    remove_election(root, "pileg2029")
    assert load_registry(root).election("pileg2029") is None


def test_check_says_when_logo_features_must_be_computed_first(root: Path, tmp_path: Path) -> None:
    """After an upgrade (another feature version) or enrolment by hand the first check computes every
    logo's features (~0.7 s each): it says so rather than look hung, and caches them for the next."""
    from screening.registry.logos import uncached_logos

    add_logo(root, "pkb", [_logo(tmp_path / "a.png", 1), _logo(tmp_path / "b.png", 2)])
    for cached in logo_cache_dir(root).glob("*.npz"):
        cached.unlink()
    assert len(uncached_logos(load_registry(root))) == 2
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), np.full((300, 400, 3), 200, np.uint8))
    runner = CliRunner()
    first = runner.invoke(app, ["check", str(photo), "-r", str(root), "--date", "2024-01-10"])
    assert first.exit_code == 0 and "preparing 2 enrolled logo image(s)" in first.output
    assert uncached_logos(load_registry(root)) == []
    again = runner.invoke(app, ["check", str(photo), "-r", str(root), "--date", "2024-01-10"])
    assert again.exit_code == 0 and "preparing" not in again.output


def test_a_logo_kept_for_the_next_election_is_found_and_read_in_that_election(root: Path, tmp_path: Path) -> None:
    """Most parties keep their logo from one election to the next: enrolled on both entries, the two
    copies must not veto each other's matches as two parties' would (a clean view of it was reported
    as no party, and a flag scored 0.71 instead of 0.97), and the rules read it in the election of the
    posting day."""
    from screening.detect.logos.detector import LogoDetector
    from screening.detect.logos.selfcheck import self_check
    from screening.image import load_image
    from screening.registry.elections import add_election, add_party
    from screening.registry.model import Election, Party
    from screening.rules import evaluate, load_rules

    add_election(root, Election("pileg2029", "Pemilu DPR 2029", dt.date(2028, 11, 3), dt.date(2028, 11, 28),
                                dt.date(2029, 2, 10), dt.date(2029, 2, 14)))  # fmt: skip
    add_party(root, Party("pkb-2029", "Partai Kebangkitan Bangsa", "PKB", "pileg2029", number=4))
    logo = _logo(tmp_path / "pkb.png", 3)
    added = add_logo(root, "pkb", [logo]) + add_logo(root, "pkb-2029", [logo])
    detector = LogoDetector(load_registry(root))
    assert [r.party for r in detector.index.references[: detector.index.plain]] == ["pkb"]  # indexed once
    assert self_check(detector, added) == []

    photo = np.full((600, 800, 3), (90, 130, 160), np.uint8)
    photo[150:390, 280:520] = cv2.imread(str(logo))
    image = load_image(cv2.cvtColor(photo, cv2.COLOR_BGR2RGB))
    found = detector.detect(image)
    assert [f.party for f in found] == ["pkb"] and found[0].score > 0.9
    registry = detector.registry
    for day, election in ((dt.date(2024, 1, 10), "pileg2024"), (dt.date(2028, 12, 10), "pileg2029")):
        (violation,) = evaluate(found, load_rules(), registry, day, (800, 600))
        assert violation.election == election and "Partai Kebangkitan Bangsa" in violation.message.en
