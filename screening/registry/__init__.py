"""Operator-owned registry: elections, parties, tickets, candidates, gestures, phrases."""

from screening.registry.model import Candidate, Election, GestureMeaning, Party, Phrase, Registry, Ticket
from screening.registry.store import init_registry, load_registry, save_registry, validate

__all__ = [
    "Candidate", "Election", "GestureMeaning", "Party", "Phrase", "Registry", "Ticket",
    "init_registry", "load_registry", "save_registry", "validate",
]  # fmt: skip
