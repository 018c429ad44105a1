"""Party logos: reference features (features), one FLANN index over every reference (index), and
geometric + appearance verification of each candidate instance (verify)."""

from screening.detect.logos.detector import LogoConfig, LogoDetector

__all__ = ["LogoConfig", "LogoDetector"]
