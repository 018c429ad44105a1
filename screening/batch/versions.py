"""What each stored result depends on, so a registry or rules change re-runs only what it can affect.

A result records, per detector that ran, a fingerprint of that detector's inputs: its ``[detectors.<name>]``
table in ``rules.toml`` plus the registry tables (and reference files) it reads. The SKB rules themselves
(the ``[[rule]]`` entries) get their own fingerprint: when only they change, the stored findings are
re-evaluated without pixels.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from screening.findings import FindingKind
from screening.registry import Registry
from screening.rules import RuleSet
from screening.screener import DETECTORS

# The kind of finding each detector emits (a re-run replaces exactly these in the stored findings).
DETECTOR_KIND: dict[str, FindingKind] = {
    "faces": FindingKind.FACE,
    "logos": FindingKind.LOGO,
    "text": FindingKind.TEXT,
    "gestures": FindingKind.GESTURE,
}

# Registry tables each detector reads. Election dates are not here on purpose: they decide the SKB track,
# which is the rules' job, so a changed date only re-applies the rules.
REGISTRY_INPUTS: dict[str, tuple[str, ...]] = {
    "faces": ("candidates",),  # reference photos -> gallery; findings carry candidate, party, election
    "logos": ("parties",),  # reference logos of each party
    "text": ("parties", "tickets", "candidates", "phrases"),  # the lexicon: names, aliases, slogans, hashtags
    "gestures": ("gestures",),  # pose -> number per election
}


@dataclass(frozen=True)
class Versions:
    """The versions a result is compared against."""

    detectors: dict[str, str]  # detector name -> input fingerprint, for the detectors that run now
    rules: str  # fingerprint of the [[rule]] entries only
    registry: str  # registry fingerprint (anything in it may change messages and tracks)
    posting_date: str


def available_detectors(rules: RuleSet, wanted: Iterable[str] | None = None) -> list[str]:
    """Detectors that will run: known, enabled in ``rules.toml`` and whose module exists (without importing it)."""
    names = list(DETECTORS) if wanted is None else list(wanted)
    out = []
    for name in names:
        if not rules.detector_config(name).get("enabled", True):
            continue
        module = DETECTORS[name].partition(":")[0]
        if importlib.util.find_spec(module) is not None:
            out.append(name)
    return out


def detector_version(name: str, registry: Registry, rules: RuleSet) -> str:
    """Fingerprint of everything detector ``name`` reads: its config, its registry tables, their files, and
    the screening release (a new release may change any detector, so its results are re-computed)."""
    import screening

    h = hashlib.sha256(name.encode())
    h.update(DETECTORS[name].encode())
    h.update(screening.__version__.encode())
    config = rules.detector_config(name)
    config.pop("enabled", None)
    h.update(_canon(config))
    for table in REGISTRY_INPUTS.get(name, ()):
        items = getattr(registry, table)
        h.update(_canon([asdict(x) for x in items]))
        for item in items:
            for rel in (*getattr(item, "photos", ()), *getattr(item, "logos", ())):
                h.update(rel.encode())
                h.update(_file_digest(registry, rel))
    return h.hexdigest()[:16]


def rules_version(rules: RuleSet) -> str:
    """Fingerprint of the SKB rules alone (not the detector settings in the same file)."""
    return hashlib.sha256(repr(rules.rules).encode()).hexdigest()[:16]


def current_versions(registry: Registry, rules: RuleSet, detectors: Iterable[str], posting_date: str) -> Versions:
    return Versions(
        detectors={d: detector_version(d, registry, rules) for d in detectors},
        rules=rules_version(rules),
        registry=registry.fingerprint,
        posting_date=posting_date,
    )


def _canon(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode()


def _file_digest(registry: Registry, rel: str) -> bytes:
    if registry.root is None:
        return b"shipped"
    p = registry.resolve(rel)
    try:
        return hashlib.sha256(p.read_bytes()).digest()
    except OSError:
        return b"missing"
