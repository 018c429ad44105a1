"""Operator-added campaign phrases (the registry's ``[[phrases]]`` table), read by the text
detector's lexicon: a local slogan, a candidate's nickname, a regional ticket's jingle."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from screening.errors import RegistryError
from screening.registry.model import Phrase
from screening.registry.store import load_registry, save_registry


def add_phrase(root: Path, phrase: Phrase) -> Phrase:
    """Add ``phrase`` to the registry folder ``root`` after checking what it refers to.

    A phrase names its election and at most one of a party or a ticket number of that election;
    a phrase with neither is still read (it makes a finding only with a ballot number next to it).
    """
    registry = load_registry(root)
    text = " ".join(phrase.text.split())
    if not text:
        raise RegistryError("the phrase is empty")
    if registry.election(phrase.election) is None:
        known = ", ".join(e.id for e in registry.elections) or "none"
        raise RegistryError(f"no election '{phrase.election}' in the registry (known: {known})")
    if phrase.party is not None and phrase.ticket is not None:
        raise RegistryError("give a party or a ticket, not both")
    if phrase.party is not None and registry.party(phrase.party) is None:
        raise RegistryError(f"no party '{phrase.party}' in the registry")
    if phrase.ticket is not None and registry.ticket(phrase.election, phrase.ticket) is None:
        raise RegistryError(f"no ticket number {phrase.ticket} in election '{phrase.election}'")
    phrase = dataclasses.replace(phrase, text=text)
    if any(p.text.casefold() == text.casefold() and p.election == phrase.election for p in registry.phrases):
        raise RegistryError(f"the phrase '{text}' is already in the registry for {phrase.election}")
    save_registry(dataclasses.replace(registry, phrases=(*registry.phrases, phrase)), root)
    return phrase


def remove_phrase(root: Path, text: str, election: str | None = None) -> int:
    """Remove the phrases equal to ``text`` (case-insensitive), in ``election`` if given; returns how many."""
    registry = load_registry(root)
    want = " ".join(text.split()).casefold()
    keep = tuple(
        p for p in registry.phrases if not (p.text.casefold() == want and (election is None or p.election == election))
    )
    removed = len(registry.phrases) - len(keep)
    if removed:
        save_registry(dataclasses.replace(registry, phrases=keep), root)
    return removed
