"""Campaign text: read banners, shirts and posters with PP-OCR and match what is read against the
election lexicon built from the registry (party and candidate names, ticket slogans and hashtags,
operator phrases, generic campaign words)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np

from screening.detect.base import reject_unknown
from screening.detect.text.lexicon import Lexicon, build_lexicon
from screening.detect.text.match import LexiconMatcher, MatchResult, NumberEvidence, TextMatch
from screening.detect.text.ocr import OcrConfig, OcrPipeline, TextLine
from screening.findings import Box, Finding, FindingKind
from screening.image import LoadedImage
from screening.registry.model import Registry
from screening.runtime.sessions import Runtime


@dataclass(frozen=True)
class TextConfig:
    """``[detectors.text]`` of rules.toml (every key optional; see the comments there).

    ``ocr`` holds the OCR pipeline's settings; the rest is about matching.
    """

    ocr: OcrConfig = field(default_factory=OcrConfig)
    fuzzy_scale: float = 1.0  # multiplies the edit tolerance (0 = exact matches only)
    phrases: tuple[str, ...] = ()  # extra campaign phrases with no party or ticket
    common_words: tuple[str, ...] = ()  # extra words that must never fire on their own
    min_score: float = 0.0  # drop findings below this (rec confidence x match quality)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TextConfig:
        """Build from the rules.toml table; unknown keys are an error so typos do not pass silently."""
        ocr_names = {f.name for f in dataclasses.fields(OcrConfig)}
        own_names = {f.name for f in dataclasses.fields(cls)} - {"ocr"}
        reject_unknown("text", raw, ocr_names | own_names)
        ocr = OcrConfig(**{k: v for k, v in raw.items() if k in ocr_names})
        own: dict[str, Any] = {k: v for k, v in raw.items() if k in own_names}
        for key in ("phrases", "common_words"):
            if key in own:
                own[key] = tuple(str(x) for x in own[key])
        return cls(ocr=ocr, **own)


class TextDetector:
    """Finds campaign text. Thread-safe: the lexicon and matcher are read-only, sessions shared."""

    name = "text"

    def __init__(self, runtime: Runtime, registry: Registry, config: TextConfig | None = None) -> None:
        self.config = config or TextConfig()
        self.registry = registry
        self.lexicon: Lexicon = build_lexicon(
            registry, extra_phrases=self.config.phrases, extra_common=self.config.common_words
        )
        self.matcher = LexiconMatcher(self.lexicon, registry, fuzzy_scale=self.config.fuzzy_scale)
        self.ocr = OcrPipeline(runtime, self.config.ocr)

    @classmethod
    def from_config(cls, runtime: Runtime, registry: Registry, config: dict[str, Any]) -> Self:
        """Build from the ``[detectors.text]`` table (``enabled`` already removed)."""
        return cls(runtime, registry, TextConfig.from_dict(dict(config)))

    def warmup(self) -> None:
        self.ocr.warmup()

    def read(self, image: LoadedImage) -> list[TextLine]:
        """The text lines OCR reads in the working copy (for diagnostics and evaluation)."""
        return self.ocr.read(image.bgr, image.gray)

    def detect(self, image: LoadedImage) -> list[Finding]:
        lines = self.ocr.read(image.bgr, image.gray)
        if not lines:
            return []
        return self.findings(self.matcher.match(lines), image.scale, image.work_size)

    def findings(self, result: MatchResult, scale: float, size: tuple[int, int] | None = None) -> list[Finding]:
        """Turn matches and free ballot numbers into findings with boxes in original pixels."""
        keep, hint = self.config.min_score, result.election_hint
        entries = [self._entry_finding(m, scale, size, hint) for m in result.matches if m.score >= keep]
        return self._one_per_subject(entries) + [
            self._number_finding(n, scale, size, hint) for n in result.numbers if n.score >= keep
        ]

    def _one_per_subject(self, findings: list[Finding]) -> list[Finding]:
        """One finding where the same text names a party's or a person's entries of several elections
        ("PKB" in 2024 and 2029): the rules read it in the election of the posting day."""
        reg = self.registry
        best: dict[tuple[str, str, Box], int] = {}
        other: list[int] = []
        for i, f in enumerate(findings):
            if f.candidate and (c := reg.candidate(f.candidate)):
                who = f"candidate:{c.key}"
            elif f.party and (p := reg.party(f.party)):
                who = f"party:{p.key}"
            else:
                other.append(i)
                continue
            j = best.setdefault((who, f.label, f.box), i)
            if f.score > findings[j].score:
                best[(who, f.label, f.box)] = i
        return [findings[i] for i in sorted(other + list(best.values()))]

    def _entry_finding(self, m: TextMatch, scale: float, size: tuple[int, int] | None, hint: str | None) -> Finding:
        e = m.entry
        number = m.number if m.number is not None else (e.number if e.party is None and e.candidate is None else None)
        detail: dict[str, Any] = {
            "text": m.line_text,
            "read": m.read,
            "entry": e.text,
            "source": e.source.value,
            "match": "exact" if m.exact else "fuzzy",
            "distance": m.distance,
            "strong": e.strong,
            "corroboration": m.corroboration,
        }
        if m.number_text:
            detail["number_text"] = m.number_text
        if e.ticket is not None:
            detail["ticket"] = e.ticket
        return Finding(
            kind=FindingKind.TEXT,
            label=e.text,
            score=round(m.score, 4),
            box=_box(m.quad, scale, size),
            candidate=e.candidate,
            party=e.party,
            number=number,
            election=e.election or hint,
            detail=detail,
        )

    def _number_finding(
        self, n: NumberEvidence, scale: float, size: tuple[int, int] | None, hint: str | None
    ) -> Finding:
        return Finding(
            kind=FindingKind.TEXT,
            label=n.text,
            score=round(n.score, 4),
            box=_box(n.quad, scale, size),
            number=n.number,
            election=hint,
            detail={"text": n.text, "entry": "ballot number", "match": "exact", "source": "number"},
        )


def _box(quad: np.ndarray, scale: float, size: tuple[int, int] | None) -> Box:
    """Box around a (working-copy) quad, clipped to the working copy, in original pixels."""
    return Box.from_points(np.asarray(quad, dtype=np.float64), *(size or (None, None))).scaled(scale)
