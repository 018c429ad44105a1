"""The campaign-text lexicon: every name, abbreviation, slogan and hashtag the registry knows, plus
the generic words of a campaign, normalised the way OCR output is normalised before matching.

An entry is *strong* when reading it is enough (a party's full name, a candidate's full name, a
hashtag) and *weak* when the same letters are common outside campaigns: three-letter abbreviations
(PKB is also the motor-vehicle tax, PBB the land tax and the UN), everyday words used as slogans
("Perubahan", "Lanjutkan", "Amin"), one-word names. A weak entry only counts with corroboration
(see :mod:`screening.detect.text.match`). Campaign words ("Coblos", "Capres", "Nomor urut") never
count on their own: they corroborate weak entries and make a nearby number evidence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from screening.registry.model import Registry

# Characters OCR confuses, folded to one representative on BOTH sides of a comparison. Digits are
# folded only inside words (a token that is all digits stays a number).
_FOLD = str.maketrans({"0": "O", "1": "I", "L": "I", "|": "I", "!": "I", "5": "S", "8": "B", "6": "G", "$": "S"})

# Everyday Indonesian words (and very common names) that collide with one-word lexicon entries.
_COMMON = (
        "AMIN", "MAJU", "UNGGUL", "LANJUTKAN", "PERUBAHAN", "GELORA", "BURUH", "GARUDA", "UMMAT", "ACEH",
        "ISKANDAR", "SUBIANTO", "PRANOWO", "PERSATUAN", "KEADILAN", "SEJAHTERA", "AMANAT", "NASIONAL", "BANGSA",
        "RAKYAT", "INDONESIA", "KARYA", "BULAN", "BINTANG", "HATI", "NURANI", "DEMOKRASI", "PERJUANGAN",
)  # fmt: skip

# Generic campaign vocabulary: (display text, election hint). The hint narrows a bare "Coblos No. 2"
# to the right contest ("capres" -> the presidential election) when the registry has several.
CAMPAIGN_WORDS: tuple[tuple[str, str | None], ...] = (
    ("Capres", "president"),
    ("Cawapres", "president"),
    ("Calon Presiden", "president"),
    ("Calon Wakil Presiden", "president"),
    ("Presiden", "president"),
    ("Wapres", "president"),
    ("Caleg", "legislative"),
    ("Calon Legislatif", "legislative"),
    ("Partai", "legislative"),
    ("DPR RI", "legislative"),
    ("DPRD", "legislative"),
    ("Cagub", "regional"),
    ("Cabup", "regional"),
    ("Cawalkot", "regional"),
    ("Paslon", None),
    ("Coblos", None),
    ("Nomor urut", None),
    ("No urut", None),
    ("Nomor", None),
    ("Nomer", None),
    ("No", None),
    ("Pilih", None),
    ("Dukung", None),
    ("Menangkan", None),
    ("Kampanye", None),
    ("Relawan", None),
)


class EntrySource(StrEnum):
    PARTY_NAME = "party_name"
    PARTY_ABBREVIATION = "party_abbreviation"
    PARTY_ALIAS = "party_alias"
    TICKET_NICKNAME = "ticket_nickname"
    TICKET_PAIR = "ticket_pair"
    SLOGAN = "slogan"
    HASHTAG = "hashtag"
    CANDIDATE_NAME = "candidate_name"
    CANDIDATE_ALIAS = "candidate_alias"
    CANDIDATE_SURNAME = "candidate_name_part"
    PHRASE = "phrase"
    CAMPAIGN_WORD = "campaign_word"


@dataclass(frozen=True)
class LexiconEntry:
    """One thing to look for. ``tokens`` are folded words; ``key`` is them joined without spaces.

    ``number`` is the ballot number the entry implies (the party's or the ticket's).
    """

    text: str
    tokens: tuple[str, ...]
    source: EntrySource
    strong: bool
    election: str | None = None
    party: str | None = None
    candidate: str | None = None
    ticket: int | None = None
    number: int | None = None
    hint: str | None = None  # campaign words only: "president", "legislative", "regional"

    @cached_property
    def key(self) -> str:  # read in the fuzzy-matching loop: joined once
        return "".join(self.tokens)

    @property
    def is_campaign_word(self) -> bool:
        return self.source is EntrySource.CAMPAIGN_WORD


@dataclass(frozen=True)
class Lexicon:
    """All entries of a registry, with the largest ballot number (numbers above it are not ballots)."""

    entries: tuple[LexiconEntry, ...]
    max_ballot: int

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, text: str) -> list[LexiconEntry]:
        """Entries whose folded form equals ``text`` folded (handy in tests and diagnostics)."""
        key = "".join(fold_tokens(text))
        return [e for e in self.entries if e.key == key]


# -- normalisation ---------------------------------------------------------------------------------

_TOKEN = re.compile(r"[0-9A-Za-z\u00C0-\u024F|!$]+")


def strip_accents(text: str) -> str:
    """``Théâtre`` -> ``Theatre`` (NFKD, combining marks dropped)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def fold_word(word: str) -> str:
    """Upper-case, accent-free, OCR confusions folded; an all-digit word stays digits."""
    w = strip_accents(word).upper()
    if w.isdigit():
        return w
    return w.translate(_FOLD)


# Campaign words that announce a ballot number right after them ("No. 2", "Coblos 3"), folded the way
# OCR text is, so they compare with what was read.
NUMBER_WORDS = frozenset(fold_word(w) for w in ("No", "Nomor", "Nomer", "Urut", "Coblos", "Pilih", "Paslon"))
# Words a number may be glued to by OCR ("URUT3"): the number words and contest words.
_GLUE_WORDS = NUMBER_WORDS | {fold_word(w) for w in ("Capres", "Cawapres", "Caleg", "NomorUrut")}


COMMON_WORDS = frozenset(fold_word(w) for w in _COMMON)


def split_camel(word: str) -> list[str]:
    """``PrabowoGibran`` -> ``["Prabowo", "Gibran"]``; all-caps words stay whole."""
    return re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", word) or [word]


@dataclass(frozen=True)
class Token:
    """A word of an OCR line: folded form, raw form, character span in the line, '#' before it."""

    folded: str
    raw: str
    start: int
    end: int
    hashed: bool


_GLUED_NUMBER = re.compile(r"^([A-Za-z]{2,})([0-9]{1,2})$")


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` (letters and digits; punctuation separates words and is otherwise dropped)."""
    out: list[Token] = []
    for m in _TOKEN.finditer(text):
        raw = m.group(0)
        # '|', '!' and '$' count as letters only inside a word ("PERUBAHAN!" keeps its '!' out).
        core = raw.strip("|!$")
        if not core:
            continue
        start = m.start() + (len(raw) - len(raw.lstrip("|!$")))
        end = start + len(core)
        hashed = start > 0 and text[start - 1] == "#"
        glued = _GLUED_NUMBER.match(core)
        if glued and fold_word(glued.group(1)) in _GLUE_WORDS:
            # OCR drops the space in "URUT 3" / "NO.2": split the number off a campaign word.
            cut = start + len(glued.group(1))
            out.append(Token(fold_word(glued.group(1)), glued.group(1), start, cut, hashed))
            out.append(Token(glued.group(2), glued.group(2), cut, end, False))
            continue
        out.append(Token(fold_word(core), core, start, end, hashed))
    return out


def fold_tokens(text: str) -> tuple[str, ...]:
    """Folded words of a lexicon text; hashtags are split at case changes (#AniesMuhaimin)."""
    words: list[str] = []
    for m in _TOKEN.finditer(strip_accents(text)):
        for part in split_camel(m.group(0)) if text.lstrip().startswith("#") else [m.group(0)]:
            words.append(fold_word(part))
    return tuple(w for w in words if w)


# -- building --------------------------------------------------------------------------------------


def _is_weak_word(tokens: tuple[str, ...], extra_common: frozenset[str]) -> bool:
    key = "".join(tokens)
    if len(key) <= 4:
        return True
    return len(tokens) == 1 and (key in COMMON_WORDS or key in extra_common)


def build_lexicon(
    registry: Registry,
    *,
    extra_phrases: Iterable[str] = (),
    extra_common: Iterable[str] = (),
) -> Lexicon:
    """Every lexicon entry the registry implies, plus the generic campaign words.

    ``extra_phrases`` are campaign phrases with no party or ticket (from rules.toml); the registry's
    ``phrases`` table is the place for phrases tied to a party or a ticket. ``extra_common`` adds
    words that must not fire alone (a local word that equals a party abbreviation, say).
    """
    common = frozenset(fold_word(w) for w in extra_common)
    entries: list[LexiconEntry] = []
    seen: set[tuple[str, str | None, str | None, int | None]] = set()

    def add(text: str, source: EntrySource, *, strong: bool | None = None, **refs: object) -> None:
        tokens = fold_tokens(text)
        if not tokens:
            return
        ident = ("".join(tokens), refs.get("party"), refs.get("candidate"), refs.get("ticket"))  # type: ignore[arg-type]
        if ident in seen:
            return
        seen.add(ident)
        if strong is None:
            strong = not _is_weak_word(tokens, common)
        entries.append(LexiconEntry(text=text, tokens=tokens, source=source, strong=strong, **refs))  # type: ignore[arg-type]

    numbers: list[int] = []
    for party in registry.parties:
        refs = {"election": party.election, "party": party.id, "number": party.number}
        add(party.name, EntrySource.PARTY_NAME, strong=True, **refs)
        for alias in (party.abbreviation, *party.aliases):
            source = EntrySource.PARTY_ABBREVIATION if alias == party.abbreviation else EntrySource.PARTY_ALIAS
            add(alias, source, **refs)
            if not fold_tokens(alias)[0] == "PARTAI":
                # "Partai Golkar", "Partai PKB": the word "Partai" makes even a short name unambiguous.
                add(f"Partai {alias}", source, strong=True, **refs)
        if party.number:
            numbers.append(party.number)

    for ticket in registry.tickets:
        refs = {"election": ticket.election, "ticket": ticket.number, "number": ticket.number}
        numbers.append(ticket.number)
        halves = [h.strip() for h in re.split(r"\s+[-–&]\s+|\s*/\s*", ticket.name) if h.strip()]
        if len(halves) == 2:
            first = [fold_tokens(h)[0] for h in halves if fold_tokens(h)]
            if len(first) == 2:
                add(" ".join(first).title(), EntrySource.TICKET_PAIR, strong=True, **refs)
        if ticket.nickname:
            add(ticket.nickname, EntrySource.TICKET_NICKNAME, **refs)
        for slogan in ticket.slogans:
            # Slogans are everyday words; only a long one ("Menuju Indonesia Unggul") stands alone.
            add(slogan, EntrySource.SLOGAN, strong=len(fold_tokens(slogan)) >= 3, **refs)
        for tag in ticket.hashtags:
            add(tag, EntrySource.HASHTAG, strong=len("".join(fold_tokens(tag))) >= 8, **refs)

    for cand in registry.candidates:
        refs = {"election": cand.election, "candidate": cand.id, "ticket": cand.ticket}
        add(cand.name, EntrySource.CANDIDATE_NAME, strong=len(fold_tokens(cand.name)) >= 2, **refs)
        for alias in cand.aliases:
            add(alias, EntrySource.CANDIDATE_ALIAS, **refs)
        for part in cand.name.split():
            folded = fold_word(part)
            # One word of a name: strong when long and unusual (Prabowo, Baswedan), else weak (Anies).
            if len(folded) >= 4 and len(fold_tokens(cand.name)) >= 2:
                strong = len(folded) >= 7 and folded not in COMMON_WORDS and folded not in common
                add(part, EntrySource.CANDIDATE_SURNAME, strong=strong, **refs)

    for phrase in registry.phrases:
        refs = {"election": phrase.election, "party": phrase.party, "ticket": phrase.ticket}
        if phrase.ticket is not None:
            refs["number"] = phrase.ticket
        elif phrase.party and (p := registry.party(phrase.party)):
            refs["number"] = p.number
        add(phrase.text, EntrySource.PHRASE, **refs)
    for text in extra_phrases:
        add(text, EntrySource.PHRASE)

    for text, hint in CAMPAIGN_WORDS:
        add(text, EntrySource.CAMPAIGN_WORD, strong=False, hint=hint)

    return Lexicon(entries=tuple(entries), max_ballot=max(numbers, default=20))
