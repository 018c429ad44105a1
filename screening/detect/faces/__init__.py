"""Registered candidate faces: locate (YuNet, two scales), embed (SFace), match (open-set gallery)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from screening.detect.faces.detector import FaceConfig, FaceDetector, FaceEngine

__all__ = ["FaceConfig", "FaceDetector", "FaceEngine"]


def __getattr__(name: str) -> Any:
    # Lazy, so that the registry can import this package's stages (which it shares with enrollment)
    # without importing the detector, which itself reads the registry: no import cycle.
    if name in __all__:
        from screening.detect.faces import detector

        return getattr(detector, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
