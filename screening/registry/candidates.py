"""Enroll and remove candidates: reference photos beside registry.toml, templates in the cache."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from screening.errors import EnrollmentError, RegistryError
from screening.image import extension_for
from screening.registry.face_templates import FaceEnroller, add_templates, purge
from screening.registry.model import Candidate
from screening.registry.store import load_registry, save_registry

FACES_DIR = "faces"


def _store_photos(root: Path, candidate_id: str, photos: Sequence[Path], enroller: FaceEnroller) -> list[str]:
    """Check each photo shows exactly one face, then copy it in under a content-derived name.

    Every photo is checked before any is stored, so a refused photo leaves nothing behind.
    """
    checked: list[tuple[bytes, str, np.ndarray]] = []
    folder = root / FACES_DIR / candidate_id
    for photo in photos:
        try:
            data = Path(photo).read_bytes()
        except OSError as exc:
            raise EnrollmentError(f"cannot read {photo}: {exc.strerror}") from exc
        template = enroller.enroll(data, str(photo))  # typed error if it is no photo, has no face or several
        checked.append((data, extension_for(data), template))
    stored: list[str] = []
    templates: dict[str, np.ndarray] = {}
    folder.mkdir(parents=True, exist_ok=True)
    for data, ext, template in checked:
        sha = hashlib.sha256(data).hexdigest()
        name = sha[:16] + ext
        (folder / name).write_bytes(data)
        stored.append(f"{FACES_DIR}/{candidate_id}/{name}")
        templates[sha] = template
    add_templates(root, enroller.model_key, templates)
    return stored


def add_candidate(root: Path, candidate: Candidate, photos: Sequence[Path], enroller: FaceEnroller) -> Candidate:
    """Add a new candidate with reference photos (each must show exactly one face)."""
    registry = load_registry(root)
    if registry.candidate(candidate.id):
        raise RegistryError(f"candidate '{candidate.id}' already exists; use 'registry add-photo' to add photos")
    if registry.election(candidate.election) is None:
        known = ", ".join(e.id for e in registry.elections)
        raise RegistryError(f"unknown election '{candidate.election}' (known: {known})")
    if candidate.party and registry.party(candidate.party) is None:
        raise RegistryError(f"unknown party '{candidate.party}'")
    stored = _store_photos(root, candidate.id, photos, enroller)
    new = dataclasses.replace(candidate, photos=tuple(stored))
    save_registry(dataclasses.replace(registry, candidates=(*registry.candidates, new)), root)
    return new


def add_photos(root: Path, candidate_id: str, photos: Sequence[Path], enroller: FaceEnroller) -> Candidate:
    """Add reference photos to an existing candidate (named in the registry, with or without photos)."""
    registry = load_registry(root)
    cand = registry.candidate(candidate_id)
    if cand is None:
        raise RegistryError(f"no candidate '{candidate_id}' in {root}")
    stored = _store_photos(root, candidate_id, photos, enroller)
    new = dataclasses.replace(cand, photos=tuple(dict.fromkeys((*cand.photos, *stored))))
    cands = tuple(new if c.id == candidate_id else c for c in registry.candidates)
    save_registry(dataclasses.replace(registry, candidates=cands), root)
    return new


def remove_candidate(root: Path, candidate_id: str) -> int:
    """Remove a candidate completely: registry entry, reference photos and cached templates.

    Returns the number of reference photos deleted. Personal data of a removed person must not
    linger (UU 27/2022), so the photos folder and every template derived from it go.
    """
    registry = load_registry(root)
    cand = registry.candidate(candidate_id)
    if cand is None:
        raise RegistryError(f"no candidate '{candidate_id}' in {root}")
    shas = set()
    for rel in cand.photos:
        path = registry.resolve(rel)
        if path.is_file():
            shas.add(hashlib.sha256(path.read_bytes()).hexdigest())
            path.unlink()
    folder = root / FACES_DIR / candidate_id
    if folder.is_dir():
        for extra in folder.iterdir():
            if extra.is_file():
                shas.add(hashlib.sha256(extra.read_bytes()).hexdigest())
        shutil.rmtree(folder)
    # A photo of the same person's entry for another election keeps its template (the same content).
    kept = {registry.file_sha256(rel) for c in registry.candidates if c.id != candidate_id for rel in c.photos}
    purge(root, shas - kept)
    rest = tuple(c for c in registry.candidates if c.id != candidate_id)
    save_registry(dataclasses.replace(registry, candidates=rest), root)
    return len(cand.photos)
