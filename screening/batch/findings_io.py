"""Findings to and from JSON for the results store.

The store keeps findings at full precision (``Finding.to_dict`` rounds scores to 4 decimals and boxes to
whole pixels, fine for a report but not for re-applying a ``min_score`` rule exactly), so that applying a
changed ``rules.toml`` to stored findings gives the same verdict as screening the pixels again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from screening.findings import Finding, finding_from_dict

# Detector evidence is meant to be flat JSON values; a long list of numbers is an embedding or a
# descriptor of a screened person's face, which the store must never keep (UU 27/2022).
MAX_VECTOR = 16


def finding_to_record(finding: Finding) -> dict[str, Any]:
    """A JSON-ready dict of a finding, at full precision, without biometric vectors."""
    return {**finding.to_dict(exact=True), "detail": strip_vectors(finding.detail)}


def findings_to_json(findings: Iterable[Finding]) -> str:
    return json.dumps([finding_to_record(f) for f in findings], ensure_ascii=False, sort_keys=True)


def findings_from_json(text: str | None) -> list[Finding]:
    return [finding_from_dict(d) for d in json.loads(text or "[]")]


def strip_vectors(detail: Mapping[str, Any]) -> dict[str, Any]:
    """``detail`` without long numeric lists (embeddings) or nested structures holding them; a short list
    of points (an outline) stays."""
    out: dict[str, Any] = {}
    for key, value in detail.items():
        if isinstance(value, (list, tuple)):
            if len(value) > MAX_VECTOR and all(isinstance(v, (int, float)) for v in value):
                continue
            # A few points (a logo's outline as found) are kept; nothing else nested, nor many points.
            value = [v for v in value if not isinstance(v, (list, tuple, dict)) or (len(value) <= 8 and _point(v))]
        elif isinstance(value, dict):
            value = strip_vectors(value)
        elif hasattr(value, "tolist"):  # numpy scalars and arrays
            value = value.tolist()
            if isinstance(value, list) and len(value) > MAX_VECTOR:
                continue
        out[str(key)] = value
    return out


def _point(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)


def public_verdict_dict(verdict_dict: dict[str, Any]) -> dict[str, Any]:
    """The versioned verdict JSON with biometric vectors removed from every finding's detail."""
    for f in verdict_dict.get("findings", []):
        f["detail"] = strip_vectors(f.get("detail") or {})
    return verdict_dict
