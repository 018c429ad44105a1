"""Typed results shared by every stage: detectors emit Findings, rules emit Violations, the
screener wraps both in a Verdict, and reporters only read a Verdict."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

SCHEMA_VERSION = "screening.verdict/1"


class Severity(StrEnum):
    """Ordered severities; ``none`` is the severity of an allow verdict."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls(value.lower())
        except ValueError as exc:
            raise ValueError(f"unknown severity {value!r}; use one of none, low, medium, high") from exc


_SEVERITY_RANK = {Severity.NONE: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}


class FindingKind(StrEnum):
    FACE = "face"
    LOGO = "logo"
    TEXT = "text"
    GESTURE = "gesture"


@dataclass(frozen=True, slots=True)
class Box:
    """Axis-aligned box in *original* image pixels: top-left corner, width, height."""

    x: float
    y: float
    w: float
    h: float

    @classmethod
    def from_points(cls, points: Any, width: float | None = None, height: float | None = None) -> Box:
        """The box around ``points`` (N x 2), clipped to the image [0, width] x [0, height] on every side."""
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
        x0, y0 = max(0.0, min(xs)), max(0.0, min(ys))
        x1, y1 = max(xs), max(ys)
        if width is not None:
            x1 = min(x1, float(width))
        if height is not None:
            y1 = min(y1, float(height))
        return cls(x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))

    def scaled(self, factor: float) -> Box:
        return Box(self.x * factor, self.y * factor, self.w * factor, self.h * factor)

    def as_list(self) -> list[int]:
        return [round(self.x), round(self.y), round(self.w), round(self.h)]

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


def _frozen(detail: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(detail or {}))


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a detector saw.

    ``label`` is human readable ("Prabowo Subianto", "Gerindra", "V sign"). The typed references
    (candidate, party, number, election) are what the rules key on; ``detail`` holds
    detector-specific evidence (similarity, margin, inliers, text read) as flat JSON values.
    """

    kind: FindingKind
    label: str
    score: float
    box: Box
    candidate: str | None = None
    party: str | None = None
    number: int | None = None
    election: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", _frozen(self.detail))

    def to_dict(self, *, exact: bool = False) -> dict[str, Any]:
        """JSON-ready dict; rounded for people and reports, or ``exact`` (full precision, for stores
        that re-apply rules to it: a rounded score could cross a ``min_score``)."""
        box = [self.box.x, self.box.y, self.box.w, self.box.h] if exact else self.box.as_list()
        return {
            "kind": self.kind.value,
            "label": self.label,
            "score": float(self.score) if exact else round(float(self.score), 4),
            "box": [float(v) for v in box] if exact else box,
            "candidate": self.candidate,
            "party": self.party,
            "number": self.number,
            "election": self.election,
            "detail": dict(self.detail),
        }


def outline_of(detail: Mapping[str, Any] | None) -> list[tuple[float, float]] | None:
    """The ``outline`` a finding's evidence may carry (a logo's corners as found, original pixels), or
    ``None`` where there is none or it is not three or more finite points (detail read back from a
    store or a file is not trusted)."""
    try:
        points = [(float(x), float(y)) for x, y in (detail or {}).get("outline") or ()]
    except (TypeError, ValueError):
        return None
    if len(points) < 3 or not all(math.isfinite(v) for point in points for v in point):
        return None
    return points


def finding_from_dict(data: Mapping[str, Any]) -> Finding:
    """Rebuild a :class:`Finding` from :meth:`Finding.to_dict` output (exact or rounded)."""
    x, y, w, h = (float(v) for v in data["box"])
    number = data.get("number")
    return Finding(
        kind=FindingKind(data["kind"]),
        label=str(data.get("label", "")),
        score=float(data["score"]),
        box=Box(x, y, w, h),
        candidate=data.get("candidate"),
        party=data.get("party"),
        number=None if number is None else int(number),
        election=data.get("election"),
        detail=dict(data.get("detail") or {}),
    )


@dataclass(frozen=True, slots=True)
class Message:
    id: str  # Bahasa Indonesia
    en: str

    def get(self, lang: str) -> str:
        return self.id if lang == "id" else self.en


@dataclass(frozen=True, slots=True)
class Violation:
    """An SKB point that the findings trigger.

    ``points`` are the SKB ids for the track in force (ethics "E5a" or discipline "D7a");
    ``findings`` are indexes into the verdict's findings list.
    """

    rule: str
    points: tuple[str, ...]
    track: str  # "ethics" | "discipline"
    title: Message
    severity: Severity
    findings: tuple[int, ...]
    message: Message
    context: Message | None = None
    election: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "points": list(self.points),
            "track": self.track,
            "election": self.election,
            "title": {"id": self.title.id, "en": self.title.en},
            "severity": self.severity.value,
            "findings": list(self.findings),
            "message": {"id": self.message.id, "en": self.message.en},
            "context": None if self.context is None else {"id": self.context.id, "en": self.context.en},
        }


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one photo: ``allow`` or ``warn`` (or an error that stopped screening)."""

    path: str | None
    sha256: str | None
    width: int
    height: int
    findings: tuple[Finding, ...]
    violations: tuple[Violation, ...]
    timings_ms: Mapping[str, float]
    posting_date: str
    error: ErrorInfo | None = None

    @classmethod
    def failure(cls, path: str | None, error: ErrorInfo, posting_date: str, timings_ms: Mapping[str, float]) -> Verdict:
        """The verdict for a photo that could not be screened (unreadable, too large...)."""
        return cls(path, None, 0, 0, (), (), timings_ms, posting_date, error)

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "error"
        return "warn" if self.violations else "allow"

    @property
    def severity(self) -> Severity:
        best = Severity.NONE
        for v in self.violations:
            if v.severity.rank > best.rank:
                best = v.severity
        return best

    @property
    def exit_code(self) -> int:
        return {"allow": 0, "warn": 1}.get(self.verdict, 2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "path": self.path,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "posting_date": self.posting_date,
            "verdict": self.verdict,
            "severity": self.severity.value,
            "findings": [f.to_dict() for f in self.findings],
            "violations": [v.to_dict() for v in self.violations],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "error": None if self.error is None else self.error.to_dict(),
        }
