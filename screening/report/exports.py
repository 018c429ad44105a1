"""JSON lines and CSV exports of a batch results store, one line or row per photo, streamed (a store may
hold hundreds of thousands of photos)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from screening.batch.sources import Key
from screening.batch.store import ResultStore

CSV_FIELDS = (
    "source",
    "member",
    "path",
    "sha256",
    "size",
    "verdict",
    "severity",
    "rules",
    "points",
    "parties",
    "candidates",
    "numbers",
    "error_code",
    "error_message",
    "registry_version",
    "rules_version",
    "screened_at",
)


@dataclass(frozen=True)
class PhotoReport:
    """One photo of the store as reporters see it."""

    source: str
    member: str
    sha256: str | None
    size: int | None
    verdict: str
    severity: str
    result: dict[str, Any] | None  # screening.verdict/1 with this photo's path
    error_code: str | None
    error_message: str | None
    registry_version: str | None
    rules_version: str | None
    screened_at: str | None

    @property
    def path(self) -> str:
        return Key(self.source, self.member).display()

    @property
    def rules(self) -> list[str]:
        return _unique(v["rule"] for v in (self.result or {}).get("violations", []))

    @property
    def points(self) -> list[str]:
        return _unique(p for v in (self.result or {}).get("violations", []) for p in v.get("points", []))

    def refs(self, field: str) -> list[str]:
        """Distinct values of a finding field (party, candidate, number) among the findings behind violations."""
        result = self.result or {}
        findings = result.get("findings", [])
        used = {i for v in result.get("violations", []) for i in v.get("findings", [])}
        return _unique(str(f[field]) for i, f in enumerate(findings) if i in used and f.get(field) not in (None, ""))


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def iter_photo_reports(store: ResultStore, *, where: str = "", order: str = "source, member") -> Iterator[PhotoReport]:
    """Every photo of the store (``where``/``order`` are trusted SQL fragments over ``photo_results``)."""
    for row in store.iter_photo_results(where, order):
        result = json.loads(row["verdict_json"]) if row["verdict_json"] and not _photo_level_error(row) else None
        if result is not None:
            result["path"] = Key(row["source"], row["member"]).display()
        yield PhotoReport(
            source=row["source"],
            member=row["member"],
            sha256=row["sha256"],
            size=row["size"],
            verdict=row["verdict"] or "error",
            severity=row["severity"] or "none",
            result=result,
            error_code=row["error_code"],
            error_message=row["error_message"],
            registry_version=row["registry_version"],
            rules_version=row["rules_version"],
            screened_at=row["screened_at"] or row["recorded_at"],
        )


def _photo_level_error(row: Any) -> bool:
    return row["verdict"] == "error" and row["verdict_json"] is None


def write_jsonl(store: ResultStore, out: Path) -> int:
    """One JSON object per photo: its key, verdict and the full versioned verdict. Returns the count."""
    n = 0
    with open(out, "w", encoding="utf-8") as fh:
        for p in iter_photo_reports(store):
            record = {
                "source": p.source,
                "member": p.member,
                "path": p.path,
                "sha256": p.sha256,
                "size": p.size,
                "verdict": p.verdict,
                "severity": p.severity,
                "error": None if not p.error_code else {"code": p.error_code, "message": p.error_message},
                "registry_version": p.registry_version,
                "rules_version": p.rules_version,
                "screened_at": p.screened_at,
                "result": p.result,
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_csv(store: ResultStore, out: Path) -> int:
    """One CSV row per photo (UTF-8 with BOM so spreadsheet programs read Indonesian names right)."""
    n = 0
    with open(out, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_FIELDS)
        for p in iter_photo_reports(store):
            row = [
                p.source,
                p.member,
                p.path,
                p.sha256 or "",
                p.size if p.size is not None else "",
                p.verdict,
                p.severity,
                " ".join(p.rules),
                " ".join(p.points),
                " ".join(p.refs("party")),
                " ".join(p.refs("candidate")),
                " ".join(p.refs("number")),
                p.error_code or "",
                p.error_message or "",
                p.registry_version or "",
                p.rules_version or "",
                p.screened_at or "",
            ]
            w.writerow([_cell(v) for v in row])
            n += 1
    return n


def _cell(value: Any) -> Any:
    # File names are attacker-controlled: a name starting with "=" would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
