"""What every detector is: built once from the runtime, the registry and its own config section of
``rules.toml`` (``[detectors.<name>]``), then called from many threads on decoded images."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

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
