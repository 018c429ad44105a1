"""The rule engine: SKB points from findings, tracks from dates, escalation, data-only rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

import screening.batch as batch_package
from screening.batch.rescreen import TRANSIENT_ERRORS
from screening.errors import RulesError, ScreeningError
from screening.findings import Box, ErrorInfo, Finding, FindingKind, Severity, Verdict
from screening.registry import load_registry
from screening.report.error_words import error_id
from screening.report.terminal import render_verdict
from screening.resources import rules_path
from screening.rules import evaluate, load_rules

REG = load_registry()
RULES = load_rules()
RULES_PATH = rules_path()
SIZE = (1000, 800)


def face(candidate: str = "prabowo-subianto") -> Finding:
    return Finding(FindingKind.FACE, "Prabowo Subianto", 0.7, Box(10, 10, 50, 50), candidate=candidate,
                   election="pilpres2024")  # fmt: skip


def gesture(pose: str = "two", number: int | None = 2, partisan: bool = True) -> Finding:
    return Finding(FindingKind.GESTURE, "V sign", 0.9, Box(100, 100, 40, 40), number=number, election="pilpres2024",
                   detail={"pose": pose, "partisan": partisan})  # fmt: skip


SMALL = Box(0, 0, 100, 100)


def logo(party: str = "gerindra", box: Box = SMALL) -> Finding:
    return Finding(FindingKind.LOGO, "Gerindra", 0.8, box, party=party, election="pileg2024")


def test_candidate_face_is_discipline_after_determination_and_ethics_before() -> None:
    after = evaluate([face()], RULES, REG, dt.date(2024, 1, 10), SIZE)
    assert [(v.rule, v.points, v.track, v.severity) for v in after] == [
        ("candidate_face", ("D7a",), "discipline", Severity.HIGH)
    ]
    before = evaluate([face()], RULES, REG, dt.date(2023, 11, 12), SIZE)
    assert before[0].points == ("E5a",) and before[0].track == "ethics"
    assert "Prabowo Subianto" in before[0].message.id and "E5a" in before[0].message.en


def test_gesture_alone_is_low_and_escalates_with_other_evidence() -> None:
    alone = evaluate([gesture()], RULES, REG, dt.date(2024, 1, 10), SIZE)
    assert [(v.rule, v.severity) for v in alone] == [("partisan_gesture", Severity.LOW)]
    with_logo = evaluate([gesture(), logo()], RULES, REG, dt.date(2024, 1, 10), SIZE)
    sev = {v.rule: v.severity for v in with_logo}
    assert sev["partisan_gesture"] is Severity.HIGH and sev["party_attribute"] is Severity.HIGH


def test_safe_pose_triggers_nothing() -> None:
    assert evaluate([gesture("fist", None, partisan=False)], RULES, REG, dt.date(2024, 1, 10), SIZE) == []


def test_one_violation_per_subject_and_findings_indexed() -> None:
    findings = [face("prabowo-subianto"), face("ganjar-pranowo"), face("prabowo-subianto")]
    out = evaluate(findings, RULES, REG, dt.date(2024, 1, 10), SIZE)
    assert sorted(v.findings for v in out) == [(0, 2), (1,)]


def test_large_logo_is_also_campaign_material() -> None:
    big = logo(box=Box(0, 0, 800, 600))  # 60 % of the photo
    rules = {v.rule for v in evaluate([big], RULES, REG, dt.date(2024, 1, 10), SIZE)}
    assert rules == {"party_attribute", "campaign_material"}
    small = {v.rule for v in evaluate([logo()], RULES, REG, dt.date(2024, 1, 10), SIZE)}
    assert small == {"party_attribute"}


def test_campaign_text_spread_over_a_poster_is_campaign_material() -> None:
    def text(x: float, y: float) -> Finding:
        return Finding(FindingKind.TEXT, "Coblos No. 2", 0.9, Box(x, y, 120, 40), number=2, election="pilpres2024")

    poster = [text(50, 40), text(820, 700)]  # small words, but at opposite corners of the image
    assert "campaign_material" in {v.rule for v in evaluate(poster, RULES, REG, dt.date(2024, 1, 10), SIZE)}
    corner = [text(50, 40), text(60, 100)]  # a sign in one corner of a street photo
    assert "campaign_material" not in {v.rule for v in evaluate(corner, RULES, REG, dt.date(2024, 1, 10), SIZE)}


def test_party_message_names_the_party_in_both_languages() -> None:
    (v,) = evaluate([logo("pdip")], RULES, REG, dt.date(2024, 1, 10), SIZE)
    assert "Partai Demokrasi Indonesia Perjuangan (PDI-P)" in v.message.id
    assert "PDI-P" in v.message.en and v.points == ("D7b", "D7c")


def test_terminal_evidence_is_worded_in_the_chosen_language() -> None:
    finding = dataclasses.replace(gesture(), score=0.875, box=Box(12, 34, 56, 78))
    violations = tuple(evaluate([finding], RULES, REG, dt.date(2024, 1, 10), SIZE))
    assert violations, "a two-finger sign during the 2024 campaign must warn"
    verdict = Verdict("p.jpg", None, *SIZE, (finding,), violations, {}, "2024-01-10")
    id_text, en_text = render_verdict(verdict, lang="id"), render_verdict(verdict, lang="en")
    assert "bukti: gestur tangan 'V sign' skor 0,88 di x=12 y=34 w=56 h=78" in id_text
    assert "evidence: hand gesture 'V sign' score 0.88 at x=12 y=34 w=56 h=78" in en_text
    assert " score " not in id_text and "skor" not in en_text


def test_terminal_error_is_explained_in_indonesian_by_its_code() -> None:
    failed = Verdict.failure("x.jpg", ErrorInfo("corrupt_image", "truncated JPEG at byte 512"), "2024-01-10", {})
    assert "corrupt_image: berkas gambar rusak atau terpotong (truncated JPEG at byte 512)" in render_verdict(failed)
    assert "corrupt_image: truncated JPEG at byte 512" in render_verdict(failed, lang="en")
    odd = Verdict.failure("x.jpg", ErrorInfo("new_code", "something else"), "2024-01-10", {})
    assert "new_code: something else" in render_verdict(odd)  # a code without a meaning: the detail alone


def test_every_error_code_has_an_indonesian_meaning() -> None:
    def codes(cls: type[ScreeningError]) -> set[str]:
        return {cls.code}.union(*(codes(sub) for sub in cls.__subclasses__()))

    # The batch's own codes, as its sources write them: SourceError("code", ...), _replace(w, "code", ...).
    batch_code = re.compile(r'(?:SourceError\(|_replace\(w, )"([a-z_]+)"')
    written = {c for f in Path(batch_package.__file__).parent.glob("*.py") for c in batch_code.findall(f.read_text())}
    assert {"zip_bomb", "symlink_outside_source", "worker_crashed", "timeout"} <= written  # the pattern reads them
    assert {c for c in codes(ScreeningError) | written | TRANSIENT_ERRORS if not error_id(c)} == set()


def test_a_new_rule_needs_only_toml(tmp_path: Path) -> None:
    text = (
        Path(RULES_PATH).read_text(encoding="utf-8")
        + """
[[rule]]
id = "any_thumbs"
ethics = ["E5b"]
discipline = ["D7b"]
severity = "medium"
kinds = ["gesture"]
require = ["detail.thumb"]
title = { id = "Jempol", en = "Thumb" }
message = { id = "jempol {subject}", en = "thumb {subject}" }
"""
    )
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    rules = load_rules(path)
    f = Finding(FindingKind.GESTURE, "thumbs up", 0.9, Box(0, 0, 1, 1), detail={"thumb": True})
    assert [v.rule for v in evaluate([f], rules, REG, dt.date(2024, 1, 10), SIZE)] == ["any_thumbs"]


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ('kinds = ["selfie"]', "selfie"),
        ('require = ["colour"]', "unknown reference"),
        ('severity = "dire"', "unknown severity"),
        ('area_of = "most"', "area_of"),
    ],
)
def test_bad_rules_files_are_refused_with_a_reason(tmp_path: Path, snippet: str, message: str) -> None:
    key = snippet.split(" =")[0]
    body = {
        "kinds": 'kinds = ["face"]', "require": "", "severity": 'severity = "high"', "area_of": "",
    }  # fmt: skip
    body[key] = snippet
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rule]]\nid = "x"\nethics = ["E5a"]\ndiscipline = ["D7a"]\n'
        + "\n".join(v for v in body.values() if v)
        + '\ntitle = { id = "a", en = "b" }\nmessage = { id = "a", en = "b" }\n',
        encoding="utf-8",
    )
    with pytest.raises(RulesError, match=message):
        load_rules(path)


def test_a_sign_with_meanings_in_two_elections_is_read_in_the_current_one() -> None:
    import dataclasses

    from screening.registry.model import Election, GestureMeaning

    pilkada = Election(id="pilkada-jabar-2029", name="Pilkada Jawa Barat 2029", determination=dt.date(2029, 9, 22),
                       campaign_start=dt.date(2029, 9, 25), campaign_end=dt.date(2029, 11, 23))  # fmt: skip
    reg = dataclasses.replace(REG, elections=(*REG.elections, pilkada),
                              gestures=(*REG.gestures, GestureMeaning(pilkada.id, "phone", 1)))  # fmt: skip
    # As the detector reports it: the first meaning in the registry (ticket 2 of Pilpres 2024).
    phone = Finding(FindingKind.GESTURE, "phone sign", 0.9, Box(100, 100, 40, 40), number=2, election="pilpres2024",
                    detail={"pose": "phone", "partisan": True})  # fmt: skip
    (in_2029,) = evaluate([phone], RULES, reg, dt.date(2029, 10, 10), SIZE)
    assert in_2029.election == "pilkada-jabar-2029" and in_2029.track == "discipline"
    assert "nomor 1" in in_2029.message.id and "number 1" in in_2029.message.en
    (in_2024,) = evaluate([phone], RULES, reg, dt.date(2024, 1, 10), SIZE)
    assert in_2024.election == "pilpres2024" and "number 2" in in_2024.message.en


def test_a_party_logo_is_read_in_the_election_of_the_posting_day() -> None:
    import dataclasses

    from screening.registry.model import Election

    pileg2029 = Election(id="pileg2029", name="Pemilu DPR 2029", determination=dt.date(2028, 11, 3),
                         campaign_start=dt.date(2028, 11, 28), campaign_end=dt.date(2029, 2, 10))  # fmt: skip
    gerindra = REG.party("gerindra")
    later = dataclasses.replace(gerindra, id="gerindra-2029", election="pileg2029", number=7)
    reg = dataclasses.replace(REG, elections=(*REG.elections, pileg2029), parties=(*REG.parties, later))
    # Its 2024 design, posted before the 2029 candidates are determined, then during that campaign.
    (before,) = evaluate([logo()], RULES, reg, dt.date(2028, 6, 1), SIZE)
    assert (before.election, before.track, before.points) == ("pileg2029", "ethics", ("E5b", "E5c"))
    (during,) = evaluate([logo()], RULES, reg, dt.date(2029, 1, 5), SIZE)
    assert during.election == "pileg2029" and during.track == "discipline"
    assert gerindra.name in during.message.en
    # A party of one election only is read there, whatever the day.
    (alone,) = evaluate([logo()], RULES, REG, dt.date(2029, 1, 5), SIZE)
    assert alone.election == "pileg2024"


def test_a_candidate_who_runs_again_is_read_in_the_election_of_the_posting_day() -> None:
    import dataclasses

    from screening.registry.model import Election

    pilpres2029 = Election(id="pilpres2029", name="Pemilu Presiden 2029", determination=dt.date(2028, 11, 13),
                           campaign_start=dt.date(2028, 11, 28), campaign_end=dt.date(2029, 2, 10),
                           voting=dt.date(2029, 2, 14))  # fmt: skip
    again = dataclasses.replace(REG.candidate("prabowo-subianto"), id="prabowo-2029", election="pilpres2029")
    reg = dataclasses.replace(REG, elections=(*REG.elections, pilpres2029), candidates=(*REG.candidates, again))
    # Before the 2029 determination he is a prospective candidate again: ethics (E5a), not D7a of 2024.
    (before,) = evaluate([face()], RULES, reg, dt.date(2028, 6, 1), SIZE)
    assert (before.election, before.points) == ("pilpres2029", ("E5a",))
    (during,) = evaluate([face()], RULES, reg, dt.date(2024, 1, 10), SIZE)
    assert (during.election, during.points) == ("pilpres2024", ("D7a",))
    assert "Prabowo Subianto" in before.message.en
