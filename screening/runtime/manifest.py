"""The model manifest: which file comes from which package, and how to check it."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from screening.errors import ModelError
from screening.resources import manifest_path

ENV_MODEL_DIR = "SCREENING_MODELS"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    purpose: str
    package: str
    version: str
    member: str
    file: str
    size: int
    sha256: str
    licence: str
    inner: str | None = None


def load_manifest(path: Path | None = None) -> dict[str, ModelSpec]:
    """Read ``models/manifest.toml`` into specs keyed by model name."""
    path = path or manifest_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"cannot read the model manifest {path}: {exc}") from exc
    specs: dict[str, ModelSpec] = {}
    for entry in raw.get("model", []):
        spec = ModelSpec(**entry)
        specs[spec.name] = spec
    return specs


def default_model_dir() -> Path:
    """``$SCREENING_MODELS`` if set, else ``$XDG_CACHE_HOME/screening/models`` (``~/.cache/...``)."""
    env = os.environ.get(ENV_MODEL_DIR)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "screening" / "models"
