"""``rules.toml`` as typed data: the SKB rules and each detector's settings."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from screening.errors import RulesError
from screening.findings import FindingKind, Message, Severity
from screening.resources import rules_path

REFERENCES = ("candidate", "party", "number", "election")


@dataclass(frozen=True)
class Escalation:
    severity: Severity
    with_rules: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    id: str
    ethics: tuple[str, ...]
    discipline: tuple[str, ...]
    severity: Severity
    kinds: tuple[FindingKind, ...]
    title: Message
    message: Message
    require: tuple[str, ...] = ()
    require_any: tuple[str, ...] = ()
    min_score: float = 0.0
    min_area: float = 0.0
    area_of: str = "each"  # "each": every finding must cover min_area; "union": their joint box must
    context: Message | None = None
    escalate: Escalation | None = None

    def points(self, track: str) -> tuple[str, ...]:
        return self.ethics if track == "ethics" else self.discipline


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: str = ""
    fingerprint: str = ""  # sha256 of the file: the rules version the results store records

    def detector_config(self, name: str) -> dict[str, Any]:
        return dict(self.detectors.get(name, {}))


def _message(raw: Any, where: str) -> Message:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("en"), str):
        raise RulesError(f"{where} needs both 'id' (Indonesian) and 'en' (English) texts")
    return Message(id=raw["id"], en=raw["en"])


def _check_refs(refs: tuple[str, ...], where: str) -> tuple[str, ...]:
    for ref in refs:
        if ref not in REFERENCES and not ref.startswith("detail."):
            raise RulesError(f"{where}: unknown reference '{ref}'; use {', '.join(REFERENCES)} or detail.<key>")
    return refs


def _area_of(value: str, where: str) -> str:
    if value not in ("each", "union"):
        raise RulesError(f"{where}: area_of must be 'each' or 'union', not {value!r}")
    return value


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read and check ``rules.toml`` (the shipped one when ``path`` is None)."""
    path = Path(path) if path else rules_path()
    try:
        data = path.read_bytes()
        raw = tomllib.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RulesError(f"cannot read rules file {path}: {exc}") from exc
    rules = []
    ids: set[str] = set()
    for i, entry in enumerate(raw.get("rule", [])):
        where = f"{path.name}: rule[{i}] ({entry.get('id', '?')})"
        try:
            rid = str(entry["id"])
            if rid in ids:
                raise RulesError(f"{where}: duplicate rule id")
            ids.add(rid)
            esc = entry.get("escalate")
            rule = Rule(
                id=rid,
                ethics=tuple(entry["ethics"]),
                discipline=tuple(entry["discipline"]),
                severity=Severity.parse(entry["severity"]),
                kinds=tuple(FindingKind(k) for k in entry["kinds"]),
                title=_message(entry.get("title"), f"{where} title"),
                message=_message(entry.get("message"), f"{where} message"),
                require=_check_refs(tuple(entry.get("require", ())), where),
                require_any=_check_refs(tuple(entry.get("require_any", ())), where),
                min_score=float(entry.get("min_score", 0.0)),
                min_area=float(entry.get("min_area", 0.0)),
                area_of=_area_of(entry.get("area_of", "each"), where),
                context=_message(entry["context"], f"{where} context") if "context" in entry else None,
                escalate=Escalation(Severity.parse(esc["severity"]), tuple(esc["with_rules"])) if esc else None,
            )
        except KeyError as exc:
            raise RulesError(f"{where}: missing field {exc}") from exc
        except ValueError as exc:
            raise RulesError(f"{where}: {exc}") from exc
        rules.append(rule)
    for rule in rules:
        if rule.escalate:
            unknown = set(rule.escalate.with_rules) - ids
            if unknown:
                raise RulesError(
                    f"{path.name}: rule {rule.id} escalates on unknown rule(s) {', '.join(sorted(unknown))}"
                )
    return RuleSet(
        rules=tuple(rules),
        detectors={k: dict(v) for k, v in raw.get("detectors", {}).items()},
        version=str(raw.get("version", "")),
        fingerprint=hashlib.sha256(data).hexdigest()[:16],
    )
