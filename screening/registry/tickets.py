"""Add and remove tickets (the registry's ``[[tickets]]`` table): the numbered pairs of a presidential
or regional contest, with the parties behind them and the slogans and hashtags the text lexicon reads.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from screening.errors import RegistryError
from screening.registry.model import Ticket
from screening.registry.store import load_registry, save_registry


def add_ticket(root: Path, ticket: Ticket) -> Ticket:
    """Add ``ticket`` to the registry folder ``root``: its election must exist, its number be free in
    that election (and positive), and every party it names be in the registry."""
    registry = load_registry(root)
    if not ticket.name.strip():
        raise RegistryError("the ticket needs a name (e.g. 'Budi Santoso - Siti Aminah')")
    if registry.election(ticket.election) is None:
        known = ", ".join(e.id for e in registry.elections) or "none"
        raise RegistryError(f"no election '{ticket.election}' in the registry (known: {known})")
    if ticket.number < 1:
        raise RegistryError(f"ticket number {ticket.number} must be 1 or more")
    taken = registry.ticket(ticket.election, ticket.number)
    if taken is not None:
        raise RegistryError(f"ticket number {ticket.number} of '{ticket.election}' is already '{taken.name}'")
    unknown = [p for p in ticket.parties if registry.party(p) is None]
    if unknown:
        raise RegistryError(f"no party {', '.join(repr(p) for p in unknown)} in the registry (add it with add-party)")
    # Hashtags are matched with their '#'; the operator may type them without it on a shell.
    tags = tuple(h if h.startswith("#") else f"#{h}" for h in ticket.hashtags)
    ticket = dataclasses.replace(ticket, name=" ".join(ticket.name.split()), hashtags=tags)
    save_registry(dataclasses.replace(registry, tickets=(*registry.tickets, ticket)), root)
    return ticket


def remove_ticket(root: Path, election: str, number: int) -> Ticket:
    """Remove ticket ``number`` of ``election``; refused while a candidate or phrase names it."""
    registry = load_registry(root)
    ticket = registry.ticket(election, number)
    if ticket is None:
        raise RegistryError(f"no ticket number {number} in election '{election}'")
    users = [f"candidate '{c.id}'" for c in registry.candidates if c.election == election and c.ticket == number]
    users += [f"phrase '{p.text}'" for p in registry.phrases if p.election == election and p.ticket == number]
    if users:
        raise RegistryError(f"ticket {number} of '{election}' is still named by {', '.join(users)}: remove those first")
    keep = tuple(t for t in registry.tickets if t is not ticket)
    save_registry(dataclasses.replace(registry, tickets=keep), root)
    return ticket
