"""Re-screening after a registry or rules change: rules-only changes re-apply the rules to stored
findings without pixels; a registry change re-runs only the detectors whose inputs changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from batch_helpers import jpeg, photo, rows, run

from screening.batch.findings_io import finding_from_dict, finding_to_record, findings_to_json
from screening.batch.rescreen import merge_findings, plan_for
from screening.batch.versions import current_versions, detector_version
from screening.findings import Box, Finding, FindingKind
from screening.registry import init_registry, load_registry
from screening.registry.model import GestureMeaning, Phrase
from screening.resources import rules_path
from screening.rules import load_rules

LOGO = Finding(FindingKind.LOGO, "PKB", 0.91234567, Box(10.5, 20.25, 100, 80), party="pkb", election="pileg2024",
               detail={"inliers": 42})  # fmt: skip


def _inject_logo(store: Path, member: str) -> None:
    """Make a stored result hold a party logo finding, as a logo detector would have stored it."""
    db = sqlite3.connect(store)
    sha = db.execute("SELECT sha256 FROM photos WHERE member = ?", (member,)).fetchone()[0]
    db.execute("UPDATE results SET findings_json = ? WHERE sha256 = ?", (findings_to_json([LOGO]), sha))
    db.commit()
    db.close()


def test_finding_round_trips_at_full_precision_and_from_public_json() -> None:
    assert finding_from_dict(finding_to_record(LOGO)) == LOGO
    public = finding_from_dict(LOGO.to_dict())
    assert public.party == "pkb" and public.box.as_list() == LOGO.box.as_list() and public.detail["inliers"] == 42


def test_embeddings_never_reach_the_store() -> None:
    outline = [[1.0, 2.0], [3.0, 2.0], [3.0, 4.5], [1.0, 4.0]]
    detail = {"similarity": 0.5, "embedding": [0.1] * 128, "nested": {"v": list(range(64))},
              "pairs": [[0.1, 0.2]] * 64, "outline": outline}  # fmt: skip
    f = dataclasses.replace(LOGO, detail=detail)
    rec = finding_to_record(f)
    assert rec["detail"] == {"similarity": 0.5, "nested": {}, "pairs": [], "outline": outline}


def _photo_folder(tmp_path: Path, n: int) -> tuple[Path, Path]:
    """A folder of ``n`` small JPEGs, and where its results store goes."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(n):
        (src / f"{i}.jpg").write_bytes(jpeg(i))
    return src, tmp_path / "r.sqlite"


def test_rules_only_change_reapplies_rules_without_running_detectors(tmp_path: Path) -> None:
    src, store = _photo_folder(tmp_path, 3)
    run([src], store)
    _inject_logo(store, "1.jpg")
    rules = tmp_path / "rules.toml"
    text = rules_path().read_text(encoding="utf-8")
    at = text.index('id = "party_attribute"')
    text = text[:at] + text[at:].replace('severity = "high"', 'severity = "medium"', 1)  # the agency softens it
    rules.write_text(text, encoding="utf-8")

    s = run([src], store, rules=str(rules))
    assert s.worker_pids == [] and s.counts.screened == 0  # no worker started: no pixels, no detectors
    assert s.counts.rules_reapplied == 3
    warned = photo(store, "1.jpg")
    assert warned["verdict"] == "warn" and warned["severity"] == "medium"
    v = json.loads(warned["verdict_json"])
    assert [x["rule"] for x in v["violations"]] == ["party_attribute"]
    assert v["violations"][0]["points"] == ["D7b", "D7c"]  # 2024-01-20: after determination, discipline
    assert photo(store, "0.jpg")["verdict"] == "allow"

    # A new posting date is a rules matter too: before determination the ethics points apply.
    s = run([src], store, rules=str(rules), posting_date=dt.date(2023, 8, 1))
    assert s.worker_pids == [] and s.counts.rules_reapplied == 3
    assert json.loads(photo(store, "1.jpg")["verdict_json"])["violations"][0]["points"] == ["E5b", "E5c"]
    before = rows(store)
    s = run([src], store, rules=str(rules), posting_date=dt.date(2023, 8, 1))
    assert s.counts.rules_reapplied == 0 and rows(store) == before  # nothing changed: nothing done


def test_registry_change_touches_only_the_detectors_that_read_it(tmp_path: Path) -> None:
    init_registry(tmp_path)
    base = load_registry(tmp_path)
    rules = load_rules(None)
    names = ("faces", "logos", "text", "gestures")
    v0 = {n: detector_version(n, base, rules) for n in names}
    phrase = Phrase(election="pileg2024", text="coblos nomor satu", party="pkb")
    with_phrase = dataclasses.replace(base, phrases=(*base.phrases, phrase))
    assert {n for n in names if detector_version(n, with_phrase, rules) != v0[n]} == {"text"}
    with_gesture = dataclasses.replace(base, gestures=(*base.gestures, GestureMeaning("pileg2024", "three", 3)))
    assert {n for n in names if detector_version(n, with_gesture, rules) != v0[n]} == {"gestures"}
    moved = dataclasses.replace(base.elections[0], determination=dt.date(2023, 12, 1))
    with_date = dataclasses.replace(base, elections=(moved, *base.elections[1:]), fingerprint="changed")
    assert all(detector_version(n, with_date, rules) == v0[n] for n in names)

    stored = current_versions(base, rules, names, "2024-01-20")
    state = {
        "error_code": None,
        "detectors_json": json.dumps(stored.detectors),
        "rules_part": stored.rules,
        "registry_version": stored.registry,
        "posting_date": "2024-01-20",
    }
    assert plan_for(state, current_versions(with_phrase, rules, names, "2024-01-20")).rerun == ("text",)
    date_plan = plan_for(state, current_versions(with_date, rules, names, "2024-01-20"))
    assert date_plan.reapply and not date_plan.needs_pixels
    assert plan_for(state, stored).up_to_date
    assert plan_for(state, stored, mode="all").full


def test_merge_replaces_only_the_rerun_kind_in_screener_order() -> None:
    face = Finding(FindingKind.FACE, "unknown face", 0.9, Box(0, 0, 10, 10))
    old_text = Finding(FindingKind.TEXT, "old", 0.8, Box(0, 0, 5, 5), party="pkb")
    gesture = Finding(FindingKind.GESTURE, "V sign", 0.7, Box(1, 1, 5, 5), number=2, election="pilpres2024")
    new_text = Finding(FindingKind.TEXT, "new", 0.8, Box(0, 0, 5, 5), party="gerindra")
    merged = merge_findings([face, LOGO, old_text, gesture], [new_text], ["text"])
    assert merged == [face, LOGO, new_text, gesture]


@pytest.mark.models
def test_enrolling_a_candidate_reruns_faces_only_and_matches_a_full_rescreen(
    tmp_path: Path, face_photos: dict[str, Path], face_models: object
) -> None:
    from screening.detect.faces.detector import FaceEngine
    from screening.registry.candidates import add_candidate
    from screening.registry.model import Candidate

    reg = tmp_path / "registry"
    init_registry(reg)
    src = tmp_path / "src"
    src.mkdir()
    for name in ("obama2.jpg", "biden.jpg"):
        (src / name).write_bytes(face_photos[name].read_bytes())
    store = tmp_path / "r.sqlite"
    kw = {"registry": str(reg), "detectors": ("faces",), "workers": 1}
    first = run([src], store, **kw)
    assert first.counts.allow == 2
    cand = Candidate(id="obama", name="Barack Obama", office="dpr", election="pileg2024", party="pkb")
    add_candidate(reg, cand, [face_photos["obama.jpg"]], FaceEngine.configured(face_models))  # type: ignore[arg-type]

    second = run([src], store, **kw)
    assert second.counts.rescreened == 2 and second.counts.resumed == 0
    assert photo(store, "obama2.jpg")["verdict"] == "warn"
    assert photo(store, "biden.jpg")["verdict"] == "allow"
    fresh = tmp_path / "fresh.sqlite"
    run([src], fresh, **kw)
    assert rows(store) == rows(fresh)  # partial re-screen == screening from scratch
    db = sqlite3.connect(store)
    for (fj,) in db.execute("SELECT findings_json FROM results"):
        for f in json.loads(fj):
            assert not any(isinstance(v, list) and len(v) > 16 for v in f["detail"].values())


def test_a_rules_file_change_no_result_depends_on_only_restamps_the_rules_version(tmp_path: Path) -> None:
    src, store = _photo_folder(tmp_path, 2)
    run([src], store)
    before = rows(store)
    rules = tmp_path / "rules.toml"
    text = rules_path().read_text(encoding="utf-8")
    rules.write_text(text.replace("det_side = 800", "det_side = 960", 1), encoding="utf-8")  # text did not run
    new = load_rules(str(rules)).fingerprint
    assert new != load_rules(None).fingerprint

    s = run([src], store, rules=str(rules))
    assert s.worker_pids == [] and s.counts.rules_reapplied == 0 and s.counts.resumed == 2
    db = sqlite3.connect(store)
    assert {r[0] for r in db.execute("SELECT rules_version FROM results")} == {new}
    db.close()
    strip = [r[:15] + r[16:] if r[0] != "skipped" else r for r in rows(store)]  # all but rules_version
    assert strip == [r[:15] + r[16:] if r[0] != "skipped" else r for r in before]
