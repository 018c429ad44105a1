"""Where the data files that ship with the code live.

The canonical copies are at the repository top level (``rules.toml``, ``models/manifest.toml``); a
wheel carries them inside the package as ``screening/data/``. Looking in both places keeps an
editable checkout and an installed wheel reading the same files.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DATA = Path(__file__).resolve().parent / "data"
_REPO_ROOT = Path(__file__).resolve().parent.parent


def data_file(packaged_name: str, repo_relative: str) -> Path:
    """Return the packaged copy if this is an installed wheel, else the repository's file."""
    packaged = _PACKAGE_DATA / packaged_name
    if packaged.is_file():
        return packaged
    return _REPO_ROOT / repo_relative


def rules_path() -> Path:
    return data_file("rules.toml", "rules.toml")


def manifest_path() -> Path:
    return data_file("models.toml", "models/manifest.toml")


def default_registry_path() -> Path:
    """The shipped Pemilu 2024 registry (facts only, no images)."""
    return _PACKAGE_DATA / "pemilu2024" / "registry.toml"
