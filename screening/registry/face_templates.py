"""Face templates of enrolled candidates, cached beside the registry.

Templates are derived data: ``.cache/face_templates.npz`` maps each reference photo's sha256 to its
embedding, so a changed photo is re-embedded and a removed candidate's templates are dropped the
next time the cache is written. Only templates of enrolled candidates are ever stored; faces of
the people being screened are never written anywhere (UU 27/2022, PDP).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from screening.detect.faces.gallery import Gallery
from screening.errors import EnrollmentError
from screening.registry.model import Registry
from screening.registry.store import CACHE_DIR

CACHE_FILE = "face_templates.npz"


class FaceEnroller(Protocol):
    """Turns one reference photo into one unit-length template (raises EnrollmentError)."""

    @property
    def model_key(self) -> str: ...

    def enroll(self, data: bytes, name: str) -> np.ndarray: ...


def cache_path(root: Path) -> Path:
    return root / CACHE_DIR / CACHE_FILE


def read_cache(root: Path, model_key: str) -> dict[str, np.ndarray]:
    path = cache_path(root)
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["model"]) != model_key:
                return {}  # another embedding model: every template is stale
            return {str(k): v.astype(np.float32) for k, v in zip(data["sha256"], data["embeddings"], strict=True)}
    except (OSError, KeyError, ValueError):
        return {}  # a damaged cache is rebuilt, never trusted


def write_cache(root: Path, model_key: str, entries: dict[str, np.ndarray]) -> None:
    path = cache_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted(entries)
    emb = np.stack([entries[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, 128), np.float32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, sha256=np.array(keys, dtype="U64"), embeddings=emb, model=np.array(model_key))
    os.replace(tmp, path)


def add_templates(root: Path, model_key: str, new: dict[str, np.ndarray]) -> None:
    """Store freshly enrolled templates so the next start does not embed them again."""
    entries = read_cache(root, model_key)
    entries.update(new)
    write_cache(root, model_key, entries)


def build_gallery(registry: Registry, enroller: FaceEnroller) -> Gallery:
    """Templates for every candidate photo, from the cache where the photo is unchanged.

    The cache is rewritten when a photo was added or changed, and pruned of templates no
    candidate references any more.
    """
    if registry.root is None or not any(c.photos for c in registry.candidates):
        return Gallery.empty()
    root = registry.root
    model_key = enroller.model_key
    cached = read_cache(root, model_key)
    used: dict[str, np.ndarray] = {}
    templates, owners = [], []
    for cand in registry.candidates:
        for rel in cand.photos:
            sha = registry.file_sha256(rel)
            vec = cached.get(sha)
            if vec is None:  # new or changed photo: only now is it read and embedded
                try:
                    vec = enroller.enroll(registry.resolve(rel).read_bytes(), rel)
                except EnrollmentError as exc:
                    raise EnrollmentError(f"candidate '{cand.id}': {exc.message}") from exc
            used[sha] = vec
            templates.append(vec)
            owners.append(cand.id)
    if set(used) != set(cached):
        try:
            write_cache(root, model_key, used)
        except OSError:
            pass  # a read-only registry still works; it re-embeds on each start
    return Gallery(np.stack(templates).astype(np.float32), tuple(owners))


def purge(root: Path, shas: set[str]) -> None:
    """Delete the templates of these photos from the cache (on candidate removal)."""
    path = cache_path(root)
    if not path.is_file():
        return
    try:
        with np.load(path, allow_pickle=False) as data:
            model_key = str(data["model"])
            entries = {str(k): v for k, v in zip(data["sha256"], data["embeddings"], strict=True)}
    except (OSError, KeyError, ValueError):
        path.unlink(missing_ok=True)
        return
    write_cache(root, model_key, {k: v for k, v in entries.items() if k not in shas})
