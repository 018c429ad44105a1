"""Enrol and remove a party's reference logo images, and keep their features cached.

Logo files live in ``logos/<party-id>/<sha256-prefix>.<ext>`` (content-hash names: enrolling the same
image twice is a no-op, and a name never hides a different image). Reference features are derived
data under ``.cache/logos/``, keyed by the image sha256 and the feature version, recomputed whenever a
file's content or the extraction code changes. The detector keeps its index's FLANN forests there too
(``forest-*.flann``, keyed by the rows they index: see :mod:`screening.detect.logos.forests`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from pathlib import Path

from screening.detect.logos.features import ReferenceFeatures, cache_path, describe_reference, load_reference
from screening.detect.logos.features import save_reference as _save_cached
from screening.errors import EnrollmentError, ImageError, RegistryError
from screening.image import EXTENSIONS, LoadOptions, load_image
from screening.registry.model import Registry
from screening.registry.store import CACHE_DIR, load_registry, save_registry

LOGO_DIR = "logos"
LOGO_CACHE = "logos"
# A logo published on a transparent backdrop is described against black or white, whichever its
# outline stands out from: a white emblem would vanish on the white a photo's transparency becomes.
REFERENCE_LOAD = LoadOptions(transparent="contrast")


def logo_cache_dir(root: Path) -> Path:
    return Path(root) / CACHE_DIR / LOGO_CACHE


def add_logo(root: str | Path, party_id: str, images: Iterable[str | Path]) -> list[str]:
    """Copy ``images`` into the registry as reference logos of ``party_id``; return their registry paths.

    Every image must decode (it is checked with the same loader the screener uses) before anything is
    written. Features are computed now so that the first screening does not pay for them.
    """
    root = Path(root)
    registry = load_registry(root)
    party = registry.party(party_id)
    if party is None:
        known = ", ".join(p.id for p in registry.parties) or "none"
        raise RegistryError(f"no party '{party_id}' in {root}; known parties: {known}")
    staged: list[tuple[bytes, str, str, ReferenceFeatures]] = []
    for image in images:
        path = Path(image)
        try:
            data = path.read_bytes()
            loaded = load_image(data, REFERENCE_LOAD, path=str(path))
        except OSError as exc:
            raise EnrollmentError(f"cannot read {path}: {exc.strerror}") from exc
        except ImageError as exc:
            raise EnrollmentError(f"{path} is not a usable logo image: {exc.message}") from exc
        ref = describe_reference(loaded.bgr)
        if len(ref.features) < 8:
            raise EnrollmentError(f"{path} has too little detail to be recognised ({len(ref.features)} keypoints)")
        digest = loaded.sha256 or hashlib.sha256(data).hexdigest()  # the loader hashed the bytes already
        ext = EXTENSIONS.get(loaded.format or "", ".img")
        staged.append((data, digest, f"{LOGO_DIR}/{party_id}/{digest[:16]}{ext}", ref))
    added: list[str] = []
    logos = list(party.logos)
    for data, digest, rel, ref in staged:
        _save_cached(cache_path(logo_cache_dir(root), digest), ref)
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_bytes(data)
        if rel not in logos:
            logos.append(rel)
        added.append(rel)
    _save_party_logos(root, registry, party_id, logos)
    return added


def remove_logo(root: str | Path, party_id: str, name: str | None = None) -> list[str]:
    """Remove one reference logo of ``party_id`` (by file name or registry path), or all when ``name`` is
    None, with their cached features. Returns the registry paths removed."""
    root = Path(root)
    registry = load_registry(root)
    party = registry.party(party_id)
    if party is None:
        raise RegistryError(f"no party '{party_id}' in {root}")
    if name is None:
        gone = list(party.logos)
    else:
        gone = [rel for rel in party.logos if rel == name or Path(rel).name == name]
        if not gone:
            listed = ", ".join(Path(r).name for r in party.logos) or "none"
            raise RegistryError(f"party '{party_id}' has no logo '{name}'; its logos: {listed}")
    keep = [rel for rel in party.logos if rel not in gone]
    still_used = {rel for p in registry.parties if p.id != party_id for rel in p.logos} | set(keep)
    # The same image enrolled for another party (its entry for another election) is another file with
    # the same features: those stay cached.
    used_digests = {registry.file_sha256(rel) for rel in still_used if registry.resolve(rel).is_file()}
    _save_party_logos(root, registry, party_id, keep)
    for rel in gone:
        path = root / rel
        if rel in still_used or not path.is_file():
            continue
        digest = registry.file_sha256(rel)
        path.unlink()
        if digest not in used_digests:
            for cached in logo_cache_dir(root).glob(f"{digest}.*"):
                cached.unlink(missing_ok=True)
    return gone


def _save_party_logos(root: Path, registry, party_id: str, logos: list[str]) -> None:
    parties = tuple(dataclasses.replace(p, logos=tuple(logos)) if p.id == party_id else p for p in registry.parties)
    save_registry(dataclasses.replace(registry, parties=parties), root)


def uncached_logos(registry: Registry) -> list[str]:
    """Enrolled logo files whose features are not in the cache for this feature version (enrolled by
    hand, or cached by an older version): the first detector built on the registry computes them."""
    if registry.root is None:
        return []
    cache = logo_cache_dir(registry.root)

    def cached(rel: str) -> bool:
        try:
            return cache_path(cache, registry.file_sha256(rel)).is_file()
        except OSError:  # missing or unreadable: the detector reports it
            return False

    return [rel for party in registry.parties for rel in party.logos if not cached(rel)]


def reference_features(root: Path, rel: str, digest: str | None = None) -> ReferenceFeatures:
    """Features of one enrolled logo file, from the cache when its content and version match.

    ``digest`` is the file's sha256 when the caller already knows it (``Registry.file_sha256``);
    the file is then read only on a cache miss.
    """
    path = Path(root) / rel
    try:
        if digest is None:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        cached_file = cache_path(logo_cache_dir(root), digest)
        ref = load_reference(cached_file)
        if ref is not None:
            return ref
        data = path.read_bytes()
    except OSError as exc:
        raise RegistryError(f"logo {rel} cannot be read: {exc.strerror}") from exc
    try:
        loaded = load_image(data, REFERENCE_LOAD, path=str(path))
    except ImageError as exc:
        raise RegistryError(f"logo {rel} no longer decodes: {exc.message}") from exc
    ref = describe_reference(loaded.bgr)
    try:
        _save_cached(cached_file, ref)
    except OSError:  # a read-only registry still screens; it just recomputes next time
        pass
    return ref
