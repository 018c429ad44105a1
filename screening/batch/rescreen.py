"""Decide what a stored result needs after a registry or rules change, and do the pixel-free part.

- Nothing changed that it depends on: it is up to date.
- Only the SKB rules, the posting date or registry facts the detectors do not read (election dates)
  changed, or a detector was switched off: the stored findings are re-evaluated, no pixels needed.
- A detector's inputs changed (its config, its registry tables or reference files), or a detector is
  new: that detector alone is re-run on the photo and its findings replace the stored ones of its kind.
- ``--rescreen all``: everything is screened again.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from screening.batch.findings_io import findings_from_json, findings_to_json, public_verdict_dict
from screening.batch.versions import DETECTOR_KIND, Versions
from screening.findings import Finding, Verdict
from screening.registry import Registry
from screening.rules import RuleSet, evaluate
from screening.screener import DETECTORS

_KIND_ORDER = {DETECTOR_KIND[name]: i for i, name in enumerate(DETECTORS)}


@dataclass(frozen=True)
class Plan:
    """What to do with one stored result."""

    up_to_date: bool = False
    reapply: bool = False  # re-evaluate the rules on stored findings (no pixels)
    rerun: tuple[str, ...] | None = None  # detectors to re-run on the pixels; None with full=True: all
    full: bool = False  # screen from scratch
    drop: tuple[str, ...] = ()  # detectors that no longer run: their stored findings go

    @property
    def needs_pixels(self) -> bool:
        return self.full or bool(self.rerun)


# Errors that say nothing about the file itself: a later run tries again.
TRANSIENT_ERRORS = frozenset({"worker_crashed", "timeout", "screening_failed", "read_error"})

UP_TO_DATE = Plan(up_to_date=True)
FULL = Plan(full=True)


def plan_for(state: sqlite3.Row | Mapping[str, Any] | None, current: Versions, mode: str = "changed") -> Plan:
    """The plan for a result, given its stored version columns (``None``: never screened)."""
    if state is None or mode == "all":
        return FULL
    if state["error_code"]:
        # An undecodable file stays so whatever the registry says; a crash or timeout may not recur.
        return FULL if state["error_code"] in TRANSIENT_ERRORS else UP_TO_DATE
    stored: dict[str, str] = json.loads(state["detectors_json"] or "{}")
    stale = tuple(d for d, v in current.detectors.items() if stored.get(d) != v)
    dropped = tuple(d for d in stored if d not in current.detectors)
    if stale:
        return Plan(rerun=stale, drop=dropped)
    if dropped or (state["rules_part"], state["registry_version"], state["posting_date"]) != (
        current.rules,
        current.registry,
        current.posting_date,
    ):
        return Plan(reapply=True, drop=dropped)
    return UP_TO_DATE


def merge_findings(stored: Iterable[Finding], fresh: Iterable[Finding], replaced: Iterable[str]) -> list[Finding]:
    """Stored findings minus the kinds of ``replaced`` detectors, plus the fresh ones, in screener order
    (the order a full screen would give, so a partial re-screen stores exactly what a full one would)."""
    gone = {DETECTOR_KIND[d] for d in replaced}
    merged = [f for f in stored if f.kind not in gone] + list(fresh)
    merged.sort(key=lambda f: _KIND_ORDER.get(f.kind, len(_KIND_ORDER)))  # stable: keeps order within a kind
    return merged


def reevaluate(
    findings: list[Finding],
    old_verdict: Mapping[str, Any],
    registry: Registry,
    rules: RuleSet,
    posting_date: dt.date,
    timings: Mapping[str, float] | None = None,
) -> tuple[Verdict, dict[str, Any], str]:
    """Apply the current rules to ``findings`` of a stored photo: (Verdict, its public dict, findings JSON)."""
    width, height = int(old_verdict.get("width") or 0), int(old_verdict.get("height") or 0)
    violations = evaluate(findings, rules, registry, posting_date, (width, height))
    merged_timings = {k: float(v) for k, v in (old_verdict.get("timings_ms") or {}).items()}
    merged_timings.update(timings or {})
    verdict = Verdict(
        path=old_verdict.get("path"),
        sha256=old_verdict.get("sha256"),
        width=width,
        height=height,
        findings=tuple(findings),
        violations=tuple(violations),
        timings_ms=merged_timings,
        posting_date=posting_date.isoformat(),
    )
    return verdict, public_verdict_dict(verdict.to_dict()), findings_to_json(findings)


def stored_findings(findings_json: str) -> list[Finding]:
    return findings_from_json(findings_json)
