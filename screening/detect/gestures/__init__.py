"""Number hand gestures: palms (palm), where to look (search), 21-point landmarks (landmarks) and the
pose they form (pose)."""

from typing import TYPE_CHECKING

from screening.detect.base import lazy_exports

if TYPE_CHECKING:
    from screening.detect.gestures.detector import GestureConfig, GestureDetector

__all__ = ["GestureConfig", "GestureDetector"]
__getattr__ = lazy_exports(__name__, __all__)
