"""Registry data: the shipped Pemilu 2024 facts, round trips and validation."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from screening.errors import RegistryError
from screening.registry import init_registry, load_registry, save_registry, validate


def test_shipped_pemilu_2024_facts() -> None:
    reg = load_registry()
    numbers = {p.abbreviation: p.number for p in reg.parties}
    assert numbers["PKB"] == 1 and numbers["PDI-P"] == 3 and numbers["PSI"] == 15 and numbers["Partai Ummat"] == 24
    assert len(reg.parties) == 24
    assert {t.number: t.nickname for t in reg.tickets}[1] == "AMIN"
    assert "Sat Set" in reg.ticket("pilpres2024", 3).slogans  # type: ignore[union-attr]
    assert reg.election("pilpres2024").determination == dt.date(2023, 11, 13)  # type: ignore[union-attr]
    assert {g.number for g in reg.gesture_meanings("metal")} == {3}
    assert not [p for p in validate(reg) if p.startswith("error")]


def test_init_save_load_round_trip(tmp_path: Path) -> None:
    init_registry(tmp_path / "reg")
    reg = load_registry(tmp_path / "reg")
    save_registry(reg, tmp_path / "copy")
    again = load_registry(tmp_path / "copy")
    assert again.parties == reg.parties and again.tickets == reg.tickets and again.elections == reg.elections
    with pytest.raises(RegistryError, match="already exists"):
        init_registry(tmp_path / "reg")


def test_validation_errors_name_the_problem(tmp_path: Path) -> None:
    reg = load_registry()
    bad = dataclasses.replace(reg, parties=(*reg.parties, dataclasses.replace(reg.parties[0], election="pemilu1955")))
    save_registry(bad, tmp_path)
    with pytest.raises(RegistryError, match="unknown election 'pemilu1955'"):
        load_registry(tmp_path)
    (tmp_path / "registry.toml").write_text('[[elections]]\nid = "x"\nname = "x"\ndetermination = "soon"\n')
    with pytest.raises(RegistryError, match="must be a date"):
        load_registry(tmp_path)
    with pytest.raises(RegistryError, match="no registry"):
        load_registry(tmp_path / "nowhere")


def test_fingerprint_follows_reference_images(tmp_path: Path) -> None:
    init_registry(tmp_path)
    reg = load_registry(tmp_path)
    (tmp_path / "faces").mkdir()
    (tmp_path / "faces" / "a.jpg").write_bytes(b"one")
    cand = dataclasses.replace(reg.candidates[0], photos=("faces/a.jpg",))
    save_registry(dataclasses.replace(reg, candidates=(cand, *reg.candidates[1:])), tmp_path)
    first = load_registry(tmp_path).fingerprint
    (tmp_path / "faces" / "a.jpg").write_bytes(b"two")
    assert load_registry(tmp_path).fingerprint != first


def test_election_on_a_date() -> None:
    reg = load_registry()
    assert reg.election_on(dt.date(2024, 10, 1)).id == "pilkada2024"  # type: ignore[union-attr]
    assert reg.election_on(dt.date(2024, 1, 1)).id in ("pilpres2024", "pileg2024")  # type: ignore[union-attr]
    # After the February vote, the Pilkada to come (its prospective candidates: ethics), not the past vote.
    june = reg.election_on(dt.date(2024, 6, 1))
    assert june is not None and (june.id, june.track(dt.date(2024, 6, 1))) == ("pilkada2024", "ethics")
    # Before anything is determined: the first to come.
    assert reg.election_on(dt.date(2023, 6, 1)).id == "pileg2024"  # type: ignore[union-attr]
    assert dataclasses.replace(reg, elections=()).election_on(dt.date(2024, 1, 1)) is None


def test_new_registry_keeps_its_cache_out_of_git(tmp_path: Path) -> None:
    """Agencies keep registries under version control; derived data (tens of MB) must not go in."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git not installed")
    root = tmp_path / "reg"
    init_registry(root)
    (root / ".cache" / "logos").mkdir()
    (root / ".cache" / "logos" / "forest-enrolled-x-y.flann").write_bytes(b"derived")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    status = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "registry.toml" in status and ".cache" not in status


def test_cli_adds_the_next_election_and_a_party_entry_for_it(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from screening.cli import app

    root = tmp_path / "reg"
    init_registry(root)
    run = CliRunner().invoke
    dates = ["--determination", "2028-11-03", "--campaign-start", "2028-11-28", "--campaign-end", "2029-02-10"]
    ok = run(app, ["registry", "add-election", str(root), "pileg2029", "--name", "Pemilu DPR 2029", *dates,
                   "--voting", "2029-02-14"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    ok = run(app, ["registry", "add-party", str(root), "pkb-2029", "--name", "Partai Kebangkitan Bangsa",
                   "--abbreviation", "PKB", "--election", "pileg2029", "--number", "1",
                   "--alias", "Kebangkitan"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    reg = load_registry(root)
    assert reg.election("pileg2029").voting == dt.date(2029, 2, 14)
    assert reg.election_on(dt.date(2029, 1, 5)).id == "pileg2029"
    party = reg.party("pkb-2029")
    assert (party.election, party.number, party.aliases) == ("pileg2029", 1, ("Kebangkitan",))
    assert reg.party("pkb").election == "pileg2024"  # the 2024 entry stays
    assert not [p for p in validate(reg) if p.startswith("error")]

    refused = {
        "ballot number 1 of 'pileg2029' is already 'pkb-2029'": ["add-party", str(root), "pdip-2029", "--name", "x",
                                                                 "--abbreviation", "X", "--election", "pileg2029",
                                                                 "--number", "1"],
        "'PKB' already has an entry for 'pileg2029': 'pkb-2029'": ["add-party", str(root), "pkb-b", "--name", "x",
                                                                   "--abbreviation", "pkb", "--election",
                                                                   "pileg2029"],
        "no election 'pileg2034'": ["add-party", str(root), "x", "--name", "x", "--abbreviation", "X",
                                    "--election", "pileg2034"],
        "party 'pkb-2029' is already": ["add-party", str(root), "pkb-2029", "--name", "x", "--abbreviation", "X",
                                        "--election", "pileg2029"],
        "must be lower-case": ["add-party", str(root), "PKB 2029", "--name", "x", "--abbreviation", "X",
                               "--election", "pileg2029"],
        "election 'pileg2029' is already": ["add-election", str(root), "pileg2029", "--name", "x",
                                            "--determination", "2028-01-01"],
        "the voting (2029-01-01) is before the campaign end (2029-02-10)": [
            "add-election", str(root), "e2", "--name", "x", *dates, "--voting", "2029-01-01"],
        "--voting must look like 2024-01-31": ["add-election", str(root), "e3", "--name", "x",
                                               "--determination", "2028-01-01", "--voting", "14/02/2029"],
    }  # fmt: skip
    before = (root / "registry.toml").read_bytes()
    for message, args in refused.items():
        out = run(app, ["registry", *args])
        assert out.exit_code == 2 and message in out.output, (args, out.output)
    assert (root / "registry.toml").read_bytes() == before


def test_cli_gives_a_hand_sign_its_meaning_in_a_new_election(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from screening.cli import app

    root = tmp_path / "reg"
    init_registry(root)
    run = CliRunner().invoke
    ok = run(app, ["registry", "add-election", str(root), "pilkada-jabar-2029", "--name", "Pilkada Jabar 2029",
                   "--determination", "2029-09-22", "--region", "Jawa Barat"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    ok = run(app, ["registry", "add-gesture", str(root), "four", "--election", "pilkada-jabar-2029", "--number", "4",
                   "--region", "Jawa Barat"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    reg = load_registry(root)
    meanings = [(g.election, g.number) for g in reg.gesture_meanings("four")]
    assert meanings == [("pileg2024", 4), ("pilkada-jabar-2029", 4)]  # party 4 of 2024 keeps its sign
    assert [g.election for g in reg.gesture_meanings("four", region="Bali")] == ["pileg2024"]
    assert not [p for p in validate(reg) if p.startswith("error")]

    before = (root / "registry.toml").read_bytes()
    jabar = ["--election", "pilkada-jabar-2029", "--region", "Jawa Barat"]
    refused = {
        "'four' already means number 4 in 'pilkada-jabar-2029' (Jawa Barat)": ["four", *jabar],
        "unknown hand pose 'wave'": ["wave", "--election", "pilkada-jabar-2029"],
        "unknown hand pose 'other'": ["other", "--election", "pilkada-jabar-2029"],
        "no election 'pilkada-jatim-2029'": ["four", "--election", "pilkada-jatim-2029"],
    }
    for message, args in refused.items():
        out = run(app, ["registry", "add-gesture", str(root), *args])
        assert out.exit_code == 2 and message in out.output, (args, out.output)
    assert (root / "registry.toml").read_bytes() == before

    out = run(app, ["registry", "remove-gesture", str(root), "four", "--election", "pilkada-jabar-2029"])
    assert out.exit_code == 2 and "no meaning in 'pilkada-jabar-2029'" in out.output  # its region not given
    ok = run(app, ["registry", "remove-gesture", str(root), "four", "--election", "pilkada-jabar-2029",
                   "--region", "Jawa Barat"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert [g.election for g in load_registry(root).gesture_meanings("four")] == ["pileg2024"]


def test_validation_names_a_hand_pose_the_detector_does_not_know(tmp_path: Path) -> None:
    from screening.registry.model import GestureMeaning

    reg = load_registry(None)
    reg = dataclasses.replace(reg, gestures=(*reg.gestures, GestureMeaning(election="pilpres2024", pose="salute")))
    assert "error: gesture of 'pilpres2024' names unknown hand pose 'salute'" in validate(reg)
