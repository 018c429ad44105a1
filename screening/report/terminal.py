"""A verdict as a short summary for a person at a terminal, in Indonesian or English."""

from __future__ import annotations

from screening.findings import Severity, Verdict
from screening.report.error_words import error_id

_TEXT = {
    "id": {
        "allow": "AMAN: tidak ditemukan pelanggaran netralitas ASN.",
        "warn": "PERINGATAN: foto ini dapat melanggar netralitas ASN (SKB No. 2/2022).",
        "error": "GALAT: foto tidak dapat diperiksa.",
        "severity": "tingkat",
        "evidence": "bukti",
        "points": "butir SKB",
        "note": "catatan",
        "sev": {"low": "ringan", "medium": "sedang", "high": "berat", "none": "-"},
        "track": {"ethics": "etik", "discipline": "disiplin"},
        "kind": {"face": "wajah", "logo": "logo", "text": "teks", "gesture": "gestur tangan"},
        "score": "skor",
        "at": "di",
        "decimal": ",",
    },
    "en": {
        "allow": "ALLOW: no breach of ASN neutrality found.",
        "warn": "WARN: posting this photo may breach ASN neutrality (SKB No. 2/2022).",
        "error": "ERROR: the photo could not be checked.",
        "severity": "severity",
        "evidence": "evidence",
        "points": "SKB points",
        "note": "note",
        "sev": {"low": "low", "medium": "medium", "high": "high", "none": "-"},
        "track": {"ethics": "ethics", "discipline": "discipline"},
        "kind": {"face": "face", "logo": "logo", "text": "text", "gesture": "hand gesture"},
        "score": "score",
        "at": "at",
        "decimal": ".",
    },
}

_COLOR = {"allow": "\x1b[32m", "warn": "\x1b[33m", "error": "\x1b[31m"}
_RESET = "\x1b[0m"


def render_verdict(verdict: Verdict, *, lang: str = "id", color: bool = False) -> str:
    """Multi-line summary: the verdict, then per violation its points, severity, message and evidence."""
    t = _TEXT["id" if lang == "id" else "en"]
    head = t[verdict.verdict]
    if color:
        head = f"{_COLOR[verdict.verdict]}{head}{_RESET}"
    lines = [f"{verdict.path or '<image>'}: {head}"]
    if verdict.error is not None:
        meaning = error_id(verdict.error.code) if lang == "id" else ""
        detail = f"{meaning} ({verdict.error.message})" if meaning else verdict.error.message
        lines.append(f"  {verdict.error.code}: {detail}")
        return "\n".join(lines)
    if verdict.severity is not Severity.NONE:
        lines[0] += f" [{t['severity']}: {t['sev'][verdict.severity.value]}]"
    for v in verdict.violations:
        lines.append(
            f"  - {v.title.get(lang)} ({t['points']} {'/'.join(v.points)}, {t['track'][v.track]}; "
            f"{t['severity']} {t['sev'][v.severity.value]})"
        )
        lines.append(f"    {v.message.get(lang)}")
        for i in v.findings:
            f = verdict.findings[i]
            x, y, w, h = f.box.as_list()
            score = f"{f.score:.2f}".replace(".", t["decimal"])
            lines.append(
                f"    {t['evidence']}: {t['kind'][f.kind.value]} '{f.label}' {t['score']} {score} "
                f"{t['at']} x={x} y={y} w={w} h={h}"
            )
        if v.context is not None:
            lines.append(f"    {t['note']}: {v.context.get(lang)}")
    return "\n".join(lines)
