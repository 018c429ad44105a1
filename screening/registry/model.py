"""The registry as typed, immutable data: elections, parties, tickets, candidates, gestures and
lexicon phrases. It is operator data (a folder with ``registry.toml``), never code."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Election:
    """One election (or one contest of it) with the dates that decide the SKB track.

    Before ``determination`` people are prospective candidates (ethics points E*); from it on they
    are candidates (discipline points D*).
    """

    id: str
    name: str
    determination: dt.date
    campaign_start: dt.date | None = None
    campaign_end: dt.date | None = None
    voting: dt.date | None = None
    region: str | None = None

    def track(self, posting_date: dt.date) -> str:
        return "ethics" if posting_date < self.determination else "discipline"

    def currency(self, day: dt.date) -> tuple[int, int]:
        """How current the election is on ``day`` (larger: more): its campaign is running; else its
        candidates are determined and the vote is still to come; else it is still to come (the nearest
        first); else it is past (the latest first)."""
        determined = self.determination.toordinal()
        if self.campaign_start and self.campaign_end and self.campaign_start <= day <= self.campaign_end:
            return (4, determined)
        if self.determination <= day and (self.voting is None or day <= self.voting):
            return (3, determined)
        if day < self.determination:
            return (2, -determined)
        return (1, determined)


@dataclass(frozen=True)
class Party:
    """A party's entry for one election (its ballot number and logos are that election's)."""

    id: str
    name: str
    abbreviation: str
    election: str
    number: int | None = None
    aliases: tuple[str, ...] = ()
    logos: tuple[str, ...] = ()  # paths relative to the registry folder

    @property
    def key(self) -> str:
        """What the party's entries of different elections share (PKB 2024, PKB 2029): its abbreviation."""
        return " ".join(self.abbreviation.split()).casefold()


@dataclass(frozen=True)
class Ticket:
    """A numbered pair (president + vice, governor + vice...) and what campaigns for it."""

    election: str
    number: int
    name: str
    nickname: str | None = None
    parties: tuple[str, ...] = ()
    slogans: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    region: str | None = None


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    office: str
    election: str
    party: str | None = None
    ticket: int | None = None
    region: str | None = None
    aliases: tuple[str, ...] = ()
    photos: tuple[str, ...] = ()  # paths relative to the registry folder

    @property
    def key(self) -> str:
        """What one person's entries in different elections share (a 2024 and a 2029 run): the name."""
        return " ".join(self.name.split()).casefold()


@dataclass(frozen=True)
class GestureMeaning:
    """A hand pose that reads as partisan in an election, and the number it shows there."""

    election: str
    pose: str
    number: int | None = None
    region: str | None = None


@dataclass(frozen=True)
class Phrase:
    """An operator-added campaign phrase for the text lexicon."""

    election: str
    text: str
    party: str | None = None
    ticket: int | None = None


@dataclass(frozen=True)
class Registry:
    root: Path | None
    name: str
    elections: tuple[Election, ...] = ()
    parties: tuple[Party, ...] = ()
    tickets: tuple[Ticket, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    gestures: tuple[GestureMeaning, ...] = ()
    phrases: tuple[Phrase, ...] = ()
    fingerprint: str = ""  # sha256 over the TOML and every reference image: the registry version
    # sha256 of each reference image (path relative to the folder), computed once when loading.
    file_hashes: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    _index: dict[str, dict[str, object]] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index["election"] = {e.id: e for e in self.elections}
        self._index["party"] = {p.id: p for p in self.parties}
        self._index["candidate"] = {c.id: c for c in self.candidates}

    def election(self, election_id: str | None) -> Election | None:
        return self._index["election"].get(election_id or "")  # type: ignore[return-value]

    def party(self, party_id: str | None) -> Party | None:
        return self._index["party"].get(party_id or "")  # type: ignore[return-value]

    def party_entries(self, party_id: str) -> list[Party]:
        """Every entry of the party that ``party_id`` is an entry of, one per election, in registry order."""
        party = self.party(party_id)
        return [p for p in self.parties if p.key == party.key] if party else []

    def candidate(self, candidate_id: str | None) -> Candidate | None:
        return self._index["candidate"].get(candidate_id or "")  # type: ignore[return-value]

    def candidate_entries(self, candidate_id: str) -> list[Candidate]:
        """Every entry of the person ``candidate_id`` is an entry of, one per election, in registry order."""
        cand = self.candidate(candidate_id)
        return [c for c in self.candidates if c.key == cand.key] if cand else []

    def ticket(self, election_id: str, number: int) -> Ticket | None:
        return next((t for t in self.tickets if t.election == election_id and t.number == number), None)

    def gesture_meanings(self, pose: str, region: str | None = None) -> list[GestureMeaning]:
        """Every meaning ``pose`` has; given a ``region``, only the general ones and that region's.

        Photos carry no region, so a regional contest's sign counts everywhere by default (an ASN may
        post about a Pilkada anywhere)."""
        return [g for g in self.gestures if g.pose == pose and (region is None or g.region in (None, region))]

    def election_on(self, day: dt.date) -> Election | None:
        """The election most current on ``day`` (see :meth:`Election.currency`), None if there is none."""
        return max(self.elections, key=lambda e: e.currency(day), default=None)

    def file_sha256(self, relative: str) -> str:
        """sha256 of a reference image: the one recorded at load time, else read now."""
        known = self.file_hashes.get(relative)
        return known if known is not None else hashlib.sha256(self.resolve(relative).read_bytes()).hexdigest()

    def resolve(self, relative: str) -> Path:
        if self.root is None:
            raise ValueError("this registry has no folder")
        return self.root / relative
