"""Party logos: reference features (features), one FLANN index over every reference (index), and
geometric + appearance verification of each candidate instance (verify)."""

from typing import TYPE_CHECKING

from screening.detect.base import lazy_exports

if TYPE_CHECKING:
    from screening.detect.logos.detector import LogoConfig, LogoDetector

__all__ = ["LogoConfig", "LogoDetector"]
__getattr__ = lazy_exports(__name__, __all__)
