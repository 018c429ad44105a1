"""Add elections and parties to a registry (its ``[[elections]]`` and ``[[parties]]`` tables).

A party's entry belongs to one election, so the next election is added with its dates, then an entry
for each party standing in it (its ballot number is drawn per election), and the party's logos and
candidates of that election are enrolled on the new entries; the old entries stay, since photos of
the old campaign are still posted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import re
from pathlib import Path

from screening.errors import RegistryError
from screening.registry.model import Election, Party
from screening.registry.store import load_registry, save_registry

# Ids name files and folders (logos/<party-id>/) and are typed on the command line.
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _check_id(kind: str, value: str) -> None:
    if not _ID.match(value):
        raise RegistryError(
            f"{kind} id '{value}' must be lower-case letters, digits, '-' or '_' (e.g. pileg2029, pkb-2029)"
        )


def add_election(root: Path, election: Election) -> Election:
    """Add ``election`` to the registry folder ``root``; its dates must be in order (campaign start,
    campaign end, voting; voting not before the determination of candidates)."""
    registry = load_registry(root)
    _check_id("election", election.id)
    if not election.name.strip():
        raise RegistryError("the election needs a name")
    if registry.election(election.id) is not None:
        raise RegistryError(f"election '{election.id}' is already in the registry")
    e = election
    order = [("campaign start", e.campaign_start), ("campaign end", e.campaign_end), ("voting", e.voting)]
    dated = [(name, day) for name, day in order if day is not None]
    for (first, a), (then, b) in itertools.pairwise(dated):
        if b < a:
            raise RegistryError(f"the {then} ({b}) is before the {first} ({a})")
    if e.voting is not None and e.voting < e.determination:
        raise RegistryError(f"voting ({e.voting}) is before the determination of candidates ({e.determination})")
    save_registry(dataclasses.replace(registry, elections=(*registry.elections, election)), root)
    return election


def add_party(root: Path, party: Party) -> Party:
    """Add ``party`` (an entry for one election, with no logos yet) to the registry folder ``root``."""
    registry = load_registry(root)
    _check_id("party", party.id)
    if not party.name.strip() or not party.abbreviation.strip():
        raise RegistryError("the party needs a name and an abbreviation")
    if registry.party(party.id) is not None:
        raise RegistryError(f"party '{party.id}' is already in the registry (one entry per party and election)")
    if registry.election(party.election) is None:
        known = ", ".join(e.id for e in registry.elections) or "none"
        raise RegistryError(f"no election '{party.election}' in the registry (known: {known})")
    twin = next((p for p in registry.parties if p.election == party.election and p.key == party.key), None)
    if twin is not None:
        # Entries with one abbreviation are one party (Party.key): one entry per election.
        raise RegistryError(f"'{twin.abbreviation}' already has an entry for '{party.election}': '{twin.id}'")
    if party.number is not None:
        taken = next((p for p in registry.parties if p.election == party.election and p.number == party.number), None)
        if taken is not None:
            raise RegistryError(f"ballot number {party.number} of '{party.election}' is already '{taken.id}'")
    party = dataclasses.replace(party, logos=())
    save_registry(dataclasses.replace(registry, parties=(*registry.parties, party)), root)
    return party


def remove_party(root: Path, party_id: str) -> list[str]:
    """Remove a party's entry and its reference logos (files and cached features); returns the logo
    paths removed. Refused while a candidate, ticket or phrase names the party."""
    from screening.registry.logos import LOGO_DIR, remove_logo  # imports the detector's features: on demand

    registry = load_registry(root)
    if registry.party(party_id) is None:
        raise RegistryError(f"no party '{party_id}' in {root}")
    users = [f"candidate '{c.id}'" for c in registry.candidates if c.party == party_id]
    users += [f"ticket {t.number} of '{t.election}'" for t in registry.tickets if party_id in t.parties]
    users += [f"phrase '{p.text}'" for p in registry.phrases if p.party == party_id]
    if users:
        raise RegistryError(f"party '{party_id}' is still named by {', '.join(users)}: remove or change those first")
    gone = remove_logo(root, party_id)
    with contextlib.suppress(OSError):  # its folder, once empty (a file the operator put there stays)
        (Path(root) / LOGO_DIR / party_id).rmdir()
    registry = load_registry(root)
    save_registry(dataclasses.replace(registry, parties=tuple(p for p in registry.parties if p.id != party_id)), root)
    return gone


def remove_election(root: Path, election_id: str) -> None:
    """Remove an election; refused while any party, ticket, candidate, gesture or phrase belongs to it."""
    registry = load_registry(root)
    if registry.election(election_id) is None:
        raise RegistryError(f"no election '{election_id}' in {root}")
    tables = ("parties", "tickets", "candidates", "gestures", "phrases")
    counts = {t: sum(1 for item in getattr(registry, t) if item.election == election_id) for t in tables}
    users = [f"{t} ({n})" for t, n in counts.items() if n]
    if users:
        raise RegistryError(f"election '{election_id}' still has {', '.join(users)}: remove those first")
    save_registry(
        dataclasses.replace(registry, elections=tuple(e for e in registry.elections if e.id != election_id)), root
    )
