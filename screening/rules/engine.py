"""Findings + registry + posting date -> SKB violations. No pixels here: only typed findings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Protocol, TypeVar

from screening.findings import Finding, FindingKind, Message, Violation
from screening.registry.model import Election, Registry
from screening.rules.config import Rule, RuleSet


def _has(finding: Finding, ref: str) -> bool:
    if ref.startswith("detail."):
        return bool(finding.detail.get(ref.removeprefix("detail.")))
    return getattr(finding, ref) is not None


def _matches(rule: Rule, finding: Finding, image_area: float) -> bool:
    if finding.kind not in rule.kinds or finding.score < rule.min_score:
        return False
    if not all(_has(finding, r) for r in rule.require):
        return False
    if rule.require_any and not any(_has(finding, r) for r in rule.require_any):
        return False
    if rule.min_area > 0 and rule.area_of == "each":
        return image_area > 0 and finding.box.area / image_area >= rule.min_area
    return True


def _union_area(findings: list[Finding]) -> float:
    x0 = min(f.box.x for f in findings)
    y0 = min(f.box.y for f in findings)
    x1 = max(f.box.x + f.box.w for f in findings)
    y1 = max(f.box.y + f.box.h for f in findings)
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def _subject_key(finding: Finding) -> tuple[str, str]:
    if finding.candidate:
        return ("candidate", finding.candidate)
    if finding.party:
        return ("party", finding.party)
    if finding.number is not None:
        return ("number", f"{finding.election or ''}#{finding.number}")
    return ("label", finding.label)


def _subject_text(finding: Finding, registry: Registry, lang: str) -> str:
    if finding.candidate and (c := registry.candidate(finding.candidate)):
        return c.name
    if finding.party and (p := registry.party(finding.party)):
        return f"{p.name} ({p.abbreviation})" if p.abbreviation.lower() not in p.name.lower() else p.name
    if finding.number is not None:
        word = "nomor" if lang == "id" else "number"
        return (
            f"{finding.label}, {word} {finding.number}"
            if finding.kind.value == "gesture"
            else f"{word} {finding.number}"
        )
    return finding.label


def _election_of(finding: Finding, registry: Registry, posting_date: dt.date) -> Election | None:
    election_id = finding.election
    if election_id is None and finding.candidate and (c := registry.candidate(finding.candidate)):
        election_id = c.election
    if election_id is None and finding.party and (p := registry.party(finding.party)):
        election_id = p.election
    return registry.election(election_id) or registry.election_on(posting_date)


class _OfAnElection(Protocol):
    @property
    def election(self) -> str: ...


_T = TypeVar("_T", bound=_OfAnElection)


def _most_current(items: Sequence[_T], registry: Registry, day: dt.date) -> _T:
    def currency(item: _T) -> tuple[int, int]:
        election = registry.election(item.election)
        return election.currency(day) if election else (0, 0)

    return max(items, key=currency)


def _read_on(finding: Finding, registry: Registry, day: dt.date) -> Finding:
    """A finding that belongs to several elections is read in the one most current on the posting day,
    for its number and SKB track: a hand sign with a meaning in several (four fingers: party 4 in 2024,
    ticket 4 of a 2029 Pilkada), a person who runs again (a bakal calon of 2029 in June 2028, not a
    candidate of 2024), or a party with an entry in several (PKB's logo, kept from 2024 to 2029, or its
    2024 design posted in 2029)."""
    pose = finding.detail.get("pose")
    if finding.kind is FindingKind.GESTURE and pose:
        if len(meanings := registry.gesture_meanings(str(pose))) > 1:
            meaning = _most_current(meanings, registry, day)
            return dataclasses.replace(finding, number=meaning.number, election=meaning.election)
    elif finding.candidate and len(people := registry.candidate_entries(finding.candidate)) > 1:
        person = _most_current(people, registry, day)
        return dataclasses.replace(finding, candidate=person.id, election=person.election)
    elif finding.party and len(entries := registry.party_entries(finding.party)) > 1:
        # Any number stays: a logo has none, and text's was read in the photo.
        party = _most_current(entries, registry, day)
        return dataclasses.replace(finding, party=party.id, election=party.election)
    return finding


def evaluate(
    findings: Sequence[Finding],
    rules: RuleSet,
    registry: Registry,
    posting_date: dt.date,
    image_size: tuple[int, int],
) -> list[Violation]:
    """Apply every rule to ``findings``; one violation per (rule, subject), most severe first."""
    area = float(image_size[0] * image_size[1])
    findings = [_read_on(f, registry, posting_date) for f in findings]
    fired: dict[str, dict[tuple[str, str], list[int]]] = {}
    for rule in rules.rules:
        groups: dict[tuple[str, str], list[int]] = {}
        for i, f in enumerate(findings):
            if _matches(rule, f, area):
                groups.setdefault(_subject_key(f), []).append(i)
        if groups and rule.min_area > 0 and rule.area_of == "union":
            # The findings together span the photo (a poster whose campaign text covers it).
            members = [findings[i] for idx in groups.values() for i in idx]
            if area <= 0 or _union_area(members) / area < rule.min_area:
                groups = {}
        if groups:
            fired[rule.id] = groups

    violations: list[Violation] = []
    for rule in rules.rules:
        groups = fired.get(rule.id)
        if not groups:
            continue
        severity = rule.severity
        if rule.escalate and any(r in fired for r in rule.escalate.with_rules if r != rule.id):
            severity = max(severity, rule.escalate.severity, key=lambda s: s.rank)
        for indexes in groups.values():
            lead = max((findings[i] for i in indexes), key=lambda f: f.score)
            election = _election_of(lead, registry, posting_date)
            track = election.track(posting_date) if election else "discipline"
            points = rule.points(track)
            values = {
                "election": election.name if election else "-",
                "point": "/".join(points),
                "score": f"{lead.score:.2f}",
                "count": str(len(indexes)),
            }
            message = Message(
                id=rule.message.id.format(subject=_subject_text(lead, registry, "id"), **values),
                en=rule.message.en.format(subject=_subject_text(lead, registry, "en"), **values),
            )
            violations.append(
                Violation(
                    rule=rule.id,
                    points=points,
                    track=track,
                    title=rule.title,
                    severity=severity,
                    findings=tuple(indexes),
                    message=message,
                    context=rule.context,
                    election=election.id if election else None,
                )
            )
    violations.sort(key=lambda v: -v.severity.rank)
    return violations
