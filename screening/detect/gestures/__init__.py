"""Number hand gestures: palms (palm), where to look (search), 21-point landmarks (landmarks) and the
pose they form (pose)."""

from screening.detect.gestures.detector import GestureConfig, GestureDetector

__all__ = ["GestureConfig", "GestureDetector"]
