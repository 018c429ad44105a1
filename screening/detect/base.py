"""What every detector is: built once from the runtime, the registry and its own config section of
``rules.toml`` (``[detectors.<name>]``), then called from many threads on decoded images."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from screening.errors import RulesError
from screening.findings import Finding
from screening.image import LoadedImage


@runtime_checkable
class Detector(Protocol):
    """A detector turns pixels into typed findings. It never reads rules or decides verdicts."""

    name: str

    def detect(self, image: LoadedImage) -> list[Finding]:
        """Find everything this detector knows in ``image``; boxes in original pixels."""
        ...

    def warmup(self) -> None:
        """Load models now (otherwise the first ``detect`` does)."""
        ...


def reject_unknown(section: str, keys: Iterable[str], known: Iterable[str]) -> None:
    """Refuse settings a detector does not have, so a typo in rules.toml is an error, not a default."""
    unknown = set(keys) - set(known)
    if unknown:
        raise RulesError(f"[detectors.{section}] has unknown setting(s): {', '.join(sorted(unknown))}")


def lazy_exports(package: str, names: list[str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``<package>.detector`` only when one of ``names`` is used.

    The registry imports a detector package's stages (shared with enrollment) while the detector
    reads the registry; importing the detector lazily keeps that from being an import cycle.
    """

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(f"{package}.detector"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
