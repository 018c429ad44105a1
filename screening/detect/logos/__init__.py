"""Party logos: reference features (features), one FLANN index over every reference (index), and
geometric + appearance verification of each candidate instance (verify)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from screening.detect.logos.detector import LogoConfig, LogoDetector

__all__ = ["LogoConfig", "LogoDetector"]


def __getattr__(name: str) -> Any:
    # Lazy, so that the registry can import this package's stages (which it shares with enrollment)
    # without importing the detector, which itself reads the registry: no import cycle.
    if name in __all__:
        from screening.detect.logos import detector

        return getattr(detector, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
