"""Match OCR lines against the campaign lexicon: whole words and phrases only, tolerant of OCR
errors, with the corroboration rules that keep common words and bare numbers quiet.

What fires:
* a strong entry (full party or candidate name, long hashtag, long slogan, operator phrase);
* a weak entry (PKB, PAN, "Perubahan", "AMIN", "Anies") only with corroboration in the same photo:
  a consistent second entry (same party or ticket, or a party of that ticket), a campaign word
  ("Coblos", "Capres", "Caleg", "Partai"...), or its own ballot number next to it;
* a ballot number ("No. 2", "02", "Coblos 3") only next to a campaign word or a matched name; a
  lone "2", a date ("14 Februari"), a year ("2024"), a price or an address number are never one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from screening.detect.text.lexicon import NUMBER_WORDS, Lexicon, LexiconEntry, Token, fold_word, tokenize
from screening.registry.model import Registry

# Campaign words that are context by themselves: they corroborate any weak entry and any number.
_CONTEXT_WORDS = frozenset(
    fold_word(w)
    for w in (
        "CAPRES", "CAWAPRES", "CALONPRESIDEN", "CALONWAKILPRESIDEN", "CALEG", "CALONLEGISLATIF", "CAGUB",
        "CABUP", "CAWALKOT", "PASLON", "COBLOS", "NOMORURUT", "NOURUT", "MENANGKAN", "KAMPANYE", "RELAWAN",
    )
)  # fmt: skip
# Words that are context only for one kind of entry: "Partai" for party abbreviations ("Partai ... PKS"),
# "Presiden" for candidates' names (a government banner says "Presiden" next to "Indonesia Maju").
_PARTY_CONTEXT = frozenset({fold_word("PARTAI")})
_CANDIDATE_CONTEXT = frozenset(fold_word(w) for w in ("PRESIDEN", "WAPRES"))
# Words right before a number that make it a ballot number even with nothing else around.
_STRONG_LICENSERS = frozenset(fold_word(w) for w in ("COBLOS", "URUT", "PASLON", "CAPRES", "CAWAPRES", "CALEG"))
_LICENSERS = NUMBER_WORDS | _STRONG_LICENSERS
_MONTHS = frozenset(
    fold_word(m)
    for m in (
        "JANUARI", "FEBRUARI", "MARET", "APRIL", "MEI", "JUNI", "JULI", "AGUSTUS", "SEPTEMBER", "OKTOBER",
        "NOVEMBER", "DESEMBER", "JAN", "FEB", "MAR", "APR", "JUN", "JUL", "AGU", "AGS", "SEP", "OKT", "NOV",
        "DES", "DEC", "AUG", "OCT", "MAY",
    )
)  # fmt: skip
# Words next to a number that make it something other than a ballot number (folded).
_NOT_BALLOT = frozenset(
    fold_word(w)
    for w in ("RP", "KM", "M", "KG", "RT", "RW", "JAM", "JL", "JALAN", "GANG", "GG", "DAPIL", "KE", "LANTAI", "BLOK")
)
_NUMBER_TOKEN = re.compile(r"^[0Oo]?[0-9][0-9Oo]?$")


def tolerance(length: int, scale: float = 1.0) -> int:
    """Edits allowed between a lexicon key of ``length`` letters and what OCR read.

    Short keys must match exactly (a one-letter slip turns PKB into PKS); longer ones allow about
    one edit per seven letters. ``scale`` (rules.toml ``fuzzy_scale``) tightens or loosens it.
    """
    if length <= 5:
        base = 0
    elif length <= 9:
        base = 1
    elif length <= 15:
        base = 2
    else:
        base = 3
    return int(base * scale + 1e-9)


def bounded_levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance of ``a`` and ``b``, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        best = i
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            best = min(best, cur[j])
        if best > limit:
            return limit + 1
        prev = cur
    return prev[-1]


class LineLike:  # pragma: no cover - documentation of what the matcher reads
    """What the matcher needs from an OCR line (``ocr.TextLine`` is one)."""

    text: str
    score: float
    quad: np.ndarray

    def sub_quad(self, start: int, end: int) -> np.ndarray: ...


@dataclass(frozen=True)
class TextMatch:
    """One lexicon entry read in one line (``tok_start``..``tok_end`` are token indexes)."""

    entry: LexiconEntry
    line: int
    tok_start: int
    tok_end: int
    char_start: int
    char_end: int
    distance: int
    read: str  # the characters of the line that matched
    line_text: str
    score: float
    quad: np.ndarray
    number: int | None = None  # a ballot number read next to it
    number_text: str | None = None
    corroboration: str | None = None  # why a weak entry counts

    @property
    def exact(self) -> bool:
        return self.distance == 0


@dataclass(frozen=True)
class NumberEvidence:
    """A ballot number read next to a campaign word or a matched name."""

    number: int
    line: int
    token: int
    text: str  # the words that make it a ballot number and the number ("Coblos No. 2")
    score: float
    quad: np.ndarray
    licenser: str | None  # folded campaign word right before it, if any


@dataclass(frozen=True)
class MatchResult:
    matches: tuple[TextMatch, ...]
    numbers: tuple[NumberEvidence, ...]  # valid ballot numbers not attached to a fired entry
    election_hint: str | None = None
    rejected: tuple[TextMatch, ...] = field(default_factory=tuple)  # weak entries without corroboration


@dataclass(frozen=True)
class _Hit:
    entry: LexiconEntry
    line: int
    start: int  # token index
    end: int
    distance: int


class LexiconMatcher:
    """Finds lexicon entries in OCR lines. Read-only after construction, so thread-safe."""

    def __init__(self, lexicon: Lexicon, registry: Registry | None = None, *, fuzzy_scale: float = 1.0) -> None:
        self.lexicon = lexicon
        self.fuzzy_scale = fuzzy_scale
        self._exact: dict[str, list[LexiconEntry]] = {}
        self._fuzzy: dict[int, list[tuple[LexiconEntry, int]]] = {}
        self._max_tokens = max((len(e.tokens) for e in lexicon.entries), default=1)
        for e in lexicon.entries:
            self._exact.setdefault(e.key, []).append(e)
            tol = tolerance(len(e.key), fuzzy_scale)
            if tol:
                self._fuzzy.setdefault(len(e.key), []).append((e, tol))
        self._coalition: dict[int | None, set[str]] = {}
        self._ticket_election: dict[int, str] = {}
        self._hint_election: dict[str, str | None] = {}
        if registry is not None:
            for t in registry.tickets:
                self._coalition.setdefault(t.number, set()).update(t.parties)
            president = {t.election for t in registry.tickets}
            legislative = {p.election for p in registry.parties}
            self._hint_election = {
                "president": next(iter(president)) if len(president) == 1 else None,
                "legislative": next(iter(legislative)) if len(legislative) == 1 else None,
            }

    # -- public ---------------------------------------------------------------------------------
    def match(self, lines: Sequence[LineLike]) -> MatchResult:
        """Entries and ballot numbers read in ``lines`` (one photo), after corroboration."""
        tokens = [tokenize(line.text) for line in lines]
        hits: list[_Hit] = []
        for li, toks in enumerate(tokens):
            hits.extend(self._line_hits(li, toks))
        adjacency = _adjacency(lines)
        entries = [h for h in hits if not h.entry.is_campaign_word]
        words = [h for h in hits if h.entry.is_campaign_word]
        context = next((h.entry.text for h in words if h.entry.key in _CONTEXT_WORDS), None)
        party_context = next((h.entry.text for h in words if h.entry.key in _PARTY_CONTEXT), None)
        candidate_context = next((h.entry.text for h in words if h.entry.key in _CANDIDATE_CONTEXT), None)
        strong_seen = any(h.entry.strong for h in entries)
        numbers = self._numbers(
            lines, tokens, adjacency, words, entries, context is not None or party_context is not None or strong_seen
        )

        fired: list[TextMatch] = []
        rejected: list[TextMatch] = []
        used_numbers: set[tuple[int, int]] = set()
        for h in entries:
            near = [n for n in numbers if _near(n.line, h.line, adjacency)]
            own = next((n for n in near if h.entry.number is not None and n.number == h.entry.number), None)
            reason: str | None = None
            if h.entry.strong:
                reason = "strong"
            elif tokens[h.line][h.start].hashed and h.entry.party is None and h.entry.candidate is None:
                reason = "hashtag"  # "#AMIN", "#Perubahan": a hashtag is campaign use of the word
            elif own is not None:
                reason = f"number {own.number}"
            elif (other := self._consistent(h, entries)) is not None:
                reason = f"entry {other.entry.text}"
            elif context is not None:
                reason = f"word {context}"
            elif party_context is not None and h.entry.party is not None:
                reason = f"word {party_context}"
            elif candidate_context is not None and h.entry.candidate is not None:
                reason = f"word {candidate_context}"
            # A number next to the entry belongs to it (its own number first).
            attach = own or (near[0] if near and reason else None)
            if attach is not None and reason:
                used_numbers.add((attach.line, attach.token))
            m = self._to_match(h, lines, tokens, attach, reason)
            (fired if reason else rejected).append(m)
        free = tuple(n for n in numbers if (n.line, n.token) not in used_numbers)
        hint = self._election_hint(words, fired)
        return MatchResult(matches=tuple(fired), numbers=free, election_hint=hint, rejected=tuple(rejected))

    # -- hits -----------------------------------------------------------------------------------
    def _line_hits(self, li: int, toks: list[Token]) -> list[_Hit]:
        found: list[_Hit] = []
        n = len(toks)
        for i in range(n):
            concat = ""
            for k in range(1, min(self._max_tokens + 1, n - i) + 1):
                tok = toks[i + k - 1]
                if tok.folded.isdigit():
                    break  # numbers are never part of a word match
                concat += tok.folded
                short_run = all(len(t.folded) == 1 for t in toks[i : i + k])
                for e in self._exact.get(concat, ()):
                    if self._span_ok(e, k, short_run):
                        found.append(_Hit(e, li, i, i + k, 0))
                for length in range(len(concat) - 3, len(concat) + 4):
                    for e, tol in self._fuzzy.get(length, ()):
                        if abs(length - len(concat)) > tol or not self._span_ok(e, k, short_run):
                            continue
                        d = bounded_levenshtein(concat, e.key, tol)
                        if 0 < d <= tol:
                            found.append(_Hit(e, li, i, i + k, d))
        return _resolve(found)

    @staticmethod
    def _span_ok(entry: LexiconEntry, k: int, short_run: bool) -> bool:
        """Whole words only: a window may merge or split at most one word boundary.

        Letter-spaced text ("P K B") is the one case where many one-letter tokens make one word.
        """
        m = len(entry.tokens)
        return abs(k - m) <= 1 or short_run

    # -- numbers --------------------------------------------------------------------------------
    def _numbers(
        self,
        lines: Sequence[LineLike],
        tokens: list[list[Token]],
        adjacency: dict[int, set[int]],
        words: list[_Hit],
        entries: list[_Hit],
        context: bool,
    ) -> list[NumberEvidence]:
        out: list[NumberEvidence] = []
        for li, toks in enumerate(tokens):
            for ti, tok in enumerate(toks):
                value = _ballot_value(lines[li].text, toks, ti, self.lexicon.max_ballot)
                if value is None:
                    continue
                licenser = _licenser(toks, ti, tokens, li, adjacency, lines)
                near_entry = [h for h in entries if _near(h.line, li, adjacency)]
                valid = False
                if licenser is not None and licenser in _STRONG_LICENSERS:
                    valid = True
                elif licenser is not None and (context or near_entry):
                    valid = True
                elif any(h.entry.strong or h.entry.number == value for h in near_entry):
                    valid = True
                if not valid:
                    continue
                start = ti
                while start > 0 and toks[start - 1].folded in _LICENSERS and ti - start < 3:
                    start -= 1
                text = lines[li].text[toks[start].start : tok.end]
                quad = lines[li].sub_quad(toks[start].start, tok.end)
                if start == ti and licenser is not None and licenser not in {t.folded for t in toks[:ti]}:
                    # The campaign word is on a neighbouring line ("NOMOR URUT" above a big "3").
                    src = next(o for o in adjacency.get(li, ()) if tokens[o] and tokens[o][-1].folded == licenser)
                    text = f"{lines[src].text} {text}"
                    quad = np.concatenate([np.asarray(lines[src].quad), quad])
                out.append(NumberEvidence(value, li, ti, text, float(lines[li].score), quad, licenser))
        return out

    # -- corroboration --------------------------------------------------------------------------
    def _consistent(self, hit: _Hit, entries: list[_Hit]) -> _Hit | None:
        """Another entry of the same party, ticket or coalition (not the same words again)."""
        e = hit.entry
        for other in entries:
            o = other.entry
            if other is hit or o.key == e.key:
                continue
            if e.party and o.party == e.party:
                return other
            if e.ticket is not None and o.ticket == e.ticket and (e.party is None or o.party is None):
                return other
            if e.candidate and o.candidate == e.candidate:
                return other
            if e.party and o.ticket is not None and o.party is None and e.party in self._coalition.get(o.ticket, ()):
                return other
            if o.party and e.ticket is not None and e.party is None and o.party in self._coalition.get(e.ticket, ()):
                return other
        return None

    def _election_hint(self, words: list[_Hit], fired: list[TextMatch]) -> str | None:
        for h in words:
            if h.entry.hint and (eid := self._hint_election.get(h.entry.hint)):
                return eid
        elections = {m.entry.election for m in fired if m.entry.election}
        return next(iter(elections)) if len(elections) == 1 else None

    def _to_match(
        self,
        hit: _Hit,
        lines: Sequence[LineLike],
        tokens: list[list[Token]],
        number: NumberEvidence | None,
        reason: str | None,
    ) -> TextMatch:
        line = lines[hit.line]
        toks = tokens[hit.line]
        cs, ce = toks[hit.start].start, toks[hit.end - 1].end
        quality = 1.0 - hit.distance / max(1, len(hit.entry.key))
        return TextMatch(
            entry=hit.entry,
            line=hit.line,
            tok_start=hit.start,
            tok_end=hit.end,
            char_start=cs,
            char_end=ce,
            distance=hit.distance,
            read=line.text[cs:ce],
            line_text=line.text,
            score=float(line.score) * quality,
            quad=line.sub_quad(cs, ce),
            number=number.number if number else None,
            number_text=number.text if number else None,
            corroboration=reason,
        )


# -- helpers --------------------------------------------------------------------------------------


def _resolve(hits: list[_Hit]) -> list[_Hit]:
    """Keep the hits covering the most words, closest first, that do not share a token (several entries
    may share one span). On the same words an exact entry beats a longer fuzzy one ("PARTAI PPP" is
    two edits from "Partai PDI-P")."""
    hits.sort(key=lambda h: (-(h.end - h.start), h.distance, -len(h.entry.key), not h.entry.strong))
    taken: list[tuple[int, int]] = []
    kept: list[_Hit] = []
    for h in hits:
        clash = [(s, e) for s, e in taken if h.start < e and s < h.end]
        if clash and (h.start, h.end) not in clash:
            continue
        if clash and any(k.start == h.start and k.end == h.end and len(k.entry.key) > len(h.entry.key) for k in kept):
            continue
        if clash and any(k.start == h.start and k.end == h.end and k.distance < h.distance for k in kept):
            continue
        kept.append(h)
        taken.append((h.start, h.end))
    return kept


def _ballot_value(text: str, toks: list[Token], ti: int, max_ballot: int) -> int | None:
    """The ballot number a token shows ("2", "02", "O2"), or None for years, dates, prices, letters."""
    tok = toks[ti]
    raw = tok.raw
    if not _NUMBER_TOKEN.match(raw) or not any(c.isdigit() for c in raw):
        return None
    value = int(raw.replace("O", "0").replace("o", "0"))
    if not 1 <= value <= max_ballot:
        return None
    after = text[tok.end : tok.end + 2]
    before = text[max(0, tok.start - 2) : tok.start]
    # Part of a bigger number or a measure: 14.000, 10:30, 1/2, 50%, 2-3, Rp5.
    if after[:1] in ("%", "°") or (after[:1] in ".,:/-" and after[1:2].isdigit()):
        return None
    if before[-1:] in (".", ",", ":", "/", "-") and before[:1].isdigit():
        return None
    neighbours = [toks[j].folded for j in (ti - 1, ti + 1) if 0 <= j < len(toks)]
    if any(n in _MONTHS for n in neighbours):
        return None  # a date: "14 Februari"
    if ti + 1 < len(toks) and toks[ti + 1].folded.isdigit() and len(toks[ti + 1].folded) == 4:
        return None  # "14 2024"
    if any(n in _NOT_BALLOT for n in neighbours):
        return None  # money, distance, RT/RW, addresses, electoral districts
    return value


def _licenser(
    toks: list[Token],
    ti: int,
    tokens: list[list[Token]],
    li: int,
    adjacency: dict[int, set[int]],
    lines: Sequence[LineLike],
) -> str | None:
    """The campaign word that makes this number a ballot number: up to two words before it on its
    line, else the last word of an adjacent line when the number stands alone ("NOMOR URUT" / "2")."""
    licensers = _LICENSERS
    found: str | None = None
    for j in range(ti - 1, max(-1, ti - 3), -1):
        w = toks[j].folded
        if w in licensers:
            if w in _STRONG_LICENSERS:
                return w
            found = found or w
        elif not w.isalpha() or j < ti - 1:
            break
        else:
            break
    if found:
        return found
    if len(toks) <= 2:
        for other in adjacency.get(li, ()):
            otoks = tokens[other]
            if otoks and otoks[-1].folded in licensers:
                return otoks[-1].folded
    return None


def _bbox(quad: np.ndarray) -> tuple[float, float, float, float]:
    return float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max())


def _adjacency(lines: Sequence[LineLike]) -> dict[int, set[int]]:
    """Lines that touch once grown by most of a line height: stacked lines of a banner, or a big
    number read as its own box beside a word."""
    boxes = [_bbox(np.asarray(line.quad)) for line in lines]
    out: dict[int, set[int]] = {i: set() for i in range(len(lines))}
    for i, a in enumerate(boxes):
        ha = a[3] - a[1]
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            g = 0.9 * max(ha, b[3] - b[1])
            if a[0] - g < b[2] and b[0] - g < a[2] and a[1] - g < b[3] and b[1] - g < a[3]:
                out[i].add(j)
                out[j].add(i)
    return out


def _near(a: int, b: int, adjacency: dict[int, set[int]]) -> bool:
    return a == b or b in adjacency.get(a, ())
