"""Read, validate and write a registry folder.

Layout (everything an agency keeps under version control)::

    registry.toml            elections, parties, tickets, candidates, gestures, phrases
    faces/<candidate-id>/    reference photos of each candidate
    logos/<party-id>/        reference logo images of each party
    .cache/                  derived templates (safe to delete; rebuilt on demand)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tomllib
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from screening.errors import RegistryError
from screening.registry.model import Candidate, Election, GestureMeaning, Party, Phrase, Registry, Ticket
from screening.resources import default_registry_path

REGISTRY_FILE = "registry.toml"
CACHE_DIR = ".cache"

_TABLES: dict[str, type] = {
    "elections": Election,
    "parties": Party,
    "tickets": Ticket,
    "candidates": Candidate,
    "gestures": GestureMeaning,
    "phrases": Phrase,
}


def registry_file(root: Path) -> Path:
    return root / REGISTRY_FILE if root.is_dir() or root.suffix != ".toml" else root


def load_registry(root: str | Path | None = None) -> Registry:
    """Load a registry folder (or a ``registry.toml``); ``None`` loads the shipped Pemilu 2024 facts."""
    path = default_registry_path() if root is None else registry_file(Path(root))
    if not path.is_file():
        raise RegistryError(f"no registry at {path}; create one with 'screening registry init {path.parent}'")
    try:
        raw_text = path.read_bytes()
        raw = tomllib.loads(raw_text.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RegistryError(f"cannot read {path}: {exc}") from exc
    folder = path.parent if root is not None else None
    items: dict[str, tuple[Any, ...]] = {}
    for table, cls in _TABLES.items():
        items[table] = tuple(_build(cls, entry, f"{table}[{i}]", path) for i, entry in enumerate(raw.get(table, [])))
    hashes = _file_hashes(folder, items)
    registry = Registry(
        root=folder,
        name=str(raw.get("registry", {}).get("name", path.parent.name)),
        fingerprint=_fingerprint(raw_text, hashes),
        file_hashes=hashes,
        **items,
    )
    problems = [p for p in validate(registry) if p.startswith("error")]
    if problems:
        raise RegistryError(f"{path}: " + "; ".join(p.removeprefix("error: ") for p in problems))
    return registry


def _build(cls: type, entry: dict[str, Any], where: str, path: Path) -> Any:
    known = {f.name for f in fields(cls) if not f.name.startswith("_")}
    unknown = set(entry) - known
    if unknown:
        raise RegistryError(f"{path}: {where} has unknown field(s) {', '.join(sorted(unknown))}")
    values = {}
    for key, value in entry.items():
        values[key] = tuple(value) if isinstance(value, list) else value
    try:
        obj = cls(**values)
    except TypeError as exc:
        raise RegistryError(f"{path}: {where} is incomplete: {exc}") from exc
    for f in fields(cls):
        value = getattr(obj, f.name)
        if isinstance(value, dt.datetime):
            object.__setattr__(obj, f.name, value.date())
        elif f.name in ("determination", "campaign_start", "campaign_end", "voting") and value is not None:
            if not isinstance(value, dt.date):
                raise RegistryError(f"{path}: {where}.{f.name} must be a date like 2024-02-14, not {value!r}")
    return obj


def _file_hashes(folder: Path | None, items: dict[str, tuple[Any, ...]]) -> dict[str, str]:
    """sha256 of every reference image that exists (missing ones are reported by validate)."""
    if folder is None:
        return {}
    return {
        rel: hashlib.sha256((folder / rel).read_bytes()).hexdigest()
        for rel in sorted(_referenced_files(items))
        if (folder / rel).is_file()
    }


def _fingerprint(raw_text: bytes, hashes: dict[str, str]) -> str:
    h = hashlib.sha256(raw_text)
    for rel, digest in sorted(hashes.items()):
        h.update(rel.encode())
        h.update(digest.encode())
    return h.hexdigest()[:16]


def _referenced_files(items: dict[str, tuple[Any, ...]]) -> set[str]:
    files: set[str] = set()
    for c in items.get("candidates", ()):
        files.update(c.photos)
    for p in items.get("parties", ()):
        files.update(p.logos)
    return files


def validate(registry: Registry) -> list[str]:
    """Problems in a registry, each prefixed ``error:`` (unusable) or ``warning:`` (works, but weak)."""
    out: list[str] = []
    for table in ("elections", "parties", "candidates"):
        seen: set[str] = set()
        for item in getattr(registry, table):
            if item.id in seen:
                out.append(f"error: duplicate {table[:-1]} id '{item.id}'")
            seen.add(item.id)
    election_ids = {e.id for e in registry.elections}
    for e in registry.elections:
        if e.campaign_start and e.campaign_end and e.campaign_start > e.campaign_end:
            out.append(f"error: election '{e.id}' campaign ends before it starts")
    for kind in ("parties", "tickets", "candidates", "gestures", "phrases"):
        for item in getattr(registry, kind):
            if item.election not in election_ids:
                label = getattr(item, "id", None) or getattr(item, "name", None) or getattr(item, "pose", "?")
                out.append(f"error: {kind[:-1]} '{label}' names unknown election '{item.election}'")
    party_ids = {p.id for p in registry.parties}
    for c in registry.candidates:
        if c.party and c.party not in party_ids:
            out.append(f"error: candidate '{c.id}' names unknown party '{c.party}'")
        if not c.photos:
            out.append(f"warning: candidate '{c.id}' has no reference photo, so their face cannot be recognised")
    numbered: set[tuple[str, int]] = set()
    for t in registry.tickets:
        if (t.election, t.number) in numbered:
            out.append(f"error: two tickets numbered {t.number} in '{t.election}'")
        numbered.add((t.election, t.number))
        for p in t.parties:
            if p not in party_ids:
                out.append(f"error: ticket {t.number} of '{t.election}' names unknown party '{p}'")
    from screening.registry.gestures import SIGN_POSES  # the detector's pose names, read on demand

    for g in registry.gestures:
        if g.pose not in SIGN_POSES:
            out.append(f"error: gesture of '{g.election}' names unknown hand pose '{g.pose}'")
    if registry.root is not None:
        for c in registry.candidates:
            out += [
                f"error: candidate '{c.id}' photo {p} does not exist"
                for p in c.photos
                if not registry.resolve(p).is_file()
            ]
        for p in registry.parties:
            out += [
                f"error: party '{p.id}' logo {x} does not exist" for x in p.logos if not registry.resolve(x).is_file()
            ]
    return out


def save_registry(registry: Registry, root: Path) -> Path:
    """Write ``registry.toml`` (atomically) from a Registry."""
    import tomli_w

    doc: dict[str, Any] = {"registry": {"name": registry.name}}
    for table in _TABLES:
        rows = []
        for item in getattr(registry, table):
            row = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(item).items()}
            rows.append({k: v for k, v in row.items() if v is not None and v != [] and not k.startswith("_")})
        if rows:
            doc[table] = rows
    root.mkdir(parents=True, exist_ok=True)
    path = root / REGISTRY_FILE
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(_HEADER + tomli_w.dumps(doc), encoding="utf-8")
    tmp.replace(path)
    return path


_HEADER = (
    "# screening registry: operator data. Edit with 'screening registry ...' or by hand,\n"
    "# then run 'screening registry validate'.\n\n"
)


def init_registry(root: Path, *, empty: bool = False) -> Path:
    """Create a registry folder, seeded with the shipped Pemilu 2024 facts unless ``empty``."""
    if (root / REGISTRY_FILE).exists():
        raise RegistryError(f"{root / REGISTRY_FILE} already exists")
    root.mkdir(parents=True, exist_ok=True)
    # Derived data (features, templates, search forests: tens of MB) stays out of the agency's git.
    (root / CACHE_DIR).mkdir(exist_ok=True)
    (root / CACHE_DIR / ".gitignore").write_text("# derived data, rebuilt on demand\n*\n")
    if empty:
        return save_registry(Registry(root=root, name=root.name), root)
    shutil.copyfile(default_registry_path(), root / REGISTRY_FILE)
    return root / REGISTRY_FILE
