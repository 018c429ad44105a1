"""Party logos: reference features (features), one FLANN index over every reference and its saved
search forests (index, forests), poses voted by matches (poses), geometric verification of each
candidate instance (verify) and the pixel comparisons it relies on (appearance), dense alignment of
small logos (dense), the closer look that drives them (detector), and the enrolment self-check
(selfcheck)."""

from typing import TYPE_CHECKING

from screening.detect.base import lazy_exports

if TYPE_CHECKING:
    from screening.detect.logos.detector import LogoConfig, LogoDetector

__all__ = ["LogoConfig", "LogoDetector"]
__getattr__ = lazy_exports(__name__, __all__)
