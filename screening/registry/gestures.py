"""Add and remove partisan hand signs (the registry's ``[[gestures]]`` table): which hand pose reads
as support in an election, and the ticket or ballot number it shows there."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from screening.detect.gestures.pose import POSES
from screening.errors import RegistryError
from screening.registry.model import GestureMeaning
from screening.registry.store import load_registry, save_registry

# "other" is the detector's name for a pose it cannot name: it cannot carry a meaning.
SIGN_POSES: tuple[str, ...] = tuple(p for p in POSES if p != "other")


def add_gesture(root: Path, gesture: GestureMeaning) -> GestureMeaning:
    """Add ``gesture`` to the registry folder ``root``: its pose must be one the detector names, its
    election exist, and the same pose not already mean something in that election and region."""
    registry = load_registry(root)
    if gesture.pose not in SIGN_POSES:
        raise RegistryError(f"unknown hand pose '{gesture.pose}' (known: {', '.join(SIGN_POSES)})")
    if registry.election(gesture.election) is None:
        known = ", ".join(e.id for e in registry.elections) or "none"
        raise RegistryError(f"no election '{gesture.election}' in the registry (known: {known})")
    if gesture.number is not None and gesture.number < 1:
        raise RegistryError(f"number {gesture.number} must be 1 or more")
    same = _matching(registry.gestures, gesture.pose, gesture.election, gesture.region)
    if same:
        meaning = f"number {same[0].number}" if same[0].number is not None else "support"
        where = _where(gesture.election, gesture.region)
        raise RegistryError(f"'{gesture.pose}' already means {meaning} in {where}: remove it first to change it")
    save_registry(dataclasses.replace(registry, gestures=(*registry.gestures, gesture)), root)
    return gesture


def remove_gesture(root: Path, pose: str, election: str, region: str | None = None) -> GestureMeaning:
    """Remove what ``pose`` means in ``election`` (and ``region``, for a regional entry)."""
    registry = load_registry(root)
    same = _matching(registry.gestures, pose, election, region)
    if not same:
        raise RegistryError(f"'{pose}' has no meaning in {_where(election, region)}")
    save_registry(dataclasses.replace(registry, gestures=tuple(g for g in registry.gestures if g not in same)), root)
    return same[0]


def _matching(
    gestures: tuple[GestureMeaning, ...], pose: str, election: str, region: str | None
) -> list[GestureMeaning]:
    return [g for g in gestures if (g.pose, g.election, g.region) == (pose, election, region)]


def _where(election: str, region: str | None) -> str:
    return f"'{election}'" + (f" ({region})" if region else "")
