"""Number hand gestures: palms (palm), where to look (search), 21-point landmarks (landmarks) and the
pose they form (pose)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from screening.detect.gestures.detector import GestureConfig, GestureDetector

__all__ = ["GestureConfig", "GestureDetector"]


def __getattr__(name: str) -> Any:
    # Lazy, so that the registry can import this package's stages (which it shares with enrollment)
    # without importing the detector, which itself reads the registry: no import cycle.
    if name in __all__:
        from screening.detect.gestures import detector

        return getattr(detector, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
