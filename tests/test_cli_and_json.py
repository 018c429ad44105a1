"""The command line: exit codes, JSON schema, languages, annotation, registry commands."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from screening.cli import app
from screening.image import load_image
from screening.resources import data_file

runner = CliRunner()
SCHEMA = json.loads(data_file("verdict.schema.json", "screening/data/verdict.schema.json").read_text())


@pytest.fixture()
def plain_photo(tmp_path: Path) -> Path:
    path = tmp_path / "landscape.jpg"
    Image.new("RGB", (320, 200), (90, 140, 200)).save(path)
    return path


@pytest.fixture()
def enrolled(tmp_path: Path, face_photos: dict[str, Path], face_models: object) -> Path:
    reg = tmp_path / "reg"
    assert runner.invoke(app, ["registry", "init", str(reg)]).exit_code == 0
    result = runner.invoke(app, ["registry", "add-candidate", str(reg), "obama", str(face_photos["obama.jpg"]),
                                 "--name", "Barack Obama", "--office", "dpr", "--election", "pileg2024"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return reg


def test_allow_exits_0_with_valid_json(plain_photo: Path) -> None:
    result = runner.invoke(app, ["check", str(plain_photo), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    jsonschema.validate(doc, SCHEMA)
    assert doc["verdict"] == "allow" and doc["width"] == 320 and len(doc["sha256"]) == 64


def test_bad_file_exits_2_with_error_in_json(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = runner.invoke(app, ["check", str(bad), "--json"])
    assert result.exit_code == 2
    doc = json.loads(result.output)
    jsonschema.validate(doc, SCHEMA)
    assert doc["verdict"] == "error" and doc["error"]["code"] in ("unsupported_format", "corrupt_image")


def test_bad_options_exit_2(plain_photo: Path) -> None:
    assert runner.invoke(app, ["check", str(plain_photo), "--date", "31/01/2024"]).exit_code == 2
    assert runner.invoke(app, ["check", str(plain_photo), "--lang", "fr"]).exit_code == 2
    assert runner.invoke(app, ["check", str(plain_photo), "--registry", "/nonexistent"]).exit_code == 2


@pytest.mark.models
def test_warn_exits_1_in_both_languages_and_annotates(enrolled: Path, face_photos: dict[str, Path],
                                                      tmp_path: Path) -> None:  # fmt: skip
    photo = str(face_photos["obama2.jpg"])
    out = tmp_path / "annotated.jpg"
    result = runner.invoke(app, ["check", photo, "-r", str(enrolled), "--date", "2024-01-10", "--annotate", str(out)])
    assert result.exit_code == 1
    assert "PERINGATAN" in result.output and "D7a" in result.output and "Barack Obama" in result.output
    drawn = np.asarray(Image.open(out).convert("RGB")).astype(int)
    plain = load_image(face_photos["obama2.jpg"]).rgb.astype(int)
    assert drawn.shape == plain.shape  # the working copy, with the box drawn on it
    assert np.abs(drawn - plain).max() > 100
    en = runner.invoke(app, ["check", photo, "-r", str(enrolled), "--date", "2023-06-01", "--lang", "en"])
    assert en.exit_code == 1 and "WARN" in en.output and "E5a" in en.output
    doc = json.loads(runner.invoke(app, ["check", photo, "-r", str(enrolled), "--json"]).output)
    jsonschema.validate(doc, SCHEMA)
    assert doc["findings"][0]["kind"] == "face" and doc["violations"][0]["findings"] == [0]


@pytest.mark.models
def test_several_photos_exit_with_the_worst(enrolled: Path, face_photos: dict[str, Path], plain_photo: Path) -> None:
    result = runner.invoke(app, ["check", str(plain_photo), str(face_photos["obama2.jpg"]), "-r", str(enrolled)])
    assert result.exit_code == 1
    assert "AMAN" in result.output and "PERINGATAN" in result.output  # one allow, one warn


@pytest.mark.models
def test_registry_commands(enrolled: Path, tmp_path: Path) -> None:
    listing = runner.invoke(app, ["registry", "list", str(enrolled)])
    assert "obama" in listing.output and "PDI-P" in listing.output
    assert runner.invoke(app, ["registry", "validate", str(enrolled)]).exit_code == 0
    dup = runner.invoke(app, ["registry", "add-candidate", str(enrolled), "obama", str(tmp_path),
                              "--name", "x", "--office", "dpr", "--election", "pileg2024"])  # fmt: skip
    assert dup.exit_code == 2
    gone = runner.invoke(app, ["registry", "remove-candidate", str(enrolled), "obama"])
    assert gone.exit_code == 0 and "deleted" in gone.output
    assert not (enrolled / "faces" / "obama").exists()


def test_models_status_reports_missing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["models", "status", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "missing" in result.output


def test_phrase_commands_edit_the_lexicon(tmp_path: Path) -> None:
    from screening.registry import load_registry

    reg = tmp_path / "reg"
    runner.invoke(app, ["registry", "init", str(reg)])
    added = runner.invoke(app, ["registry", "add-phrase", str(reg), "Gemoy Bersama", "--election", "pilpres2024",
                                "--ticket", "2"])  # fmt: skip
    assert added.exit_code == 0, added.output
    assert [p.text for p in load_registry(reg).phrases] == ["Gemoy Bersama"]
    bad = runner.invoke(app, ["registry", "add-phrase", str(reg), "x", "--election", "pemilu1955"])
    assert bad.exit_code == 2
    assert runner.invoke(app, ["registry", "remove-phrase", str(reg), "gemoy bersama"]).exit_code == 0
    assert load_registry(reg).phrases == ()
    assert runner.invoke(app, ["registry", "remove-phrase", str(reg), "gemoy bersama"]).exit_code == 2
