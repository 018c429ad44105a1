"""Registered candidate faces: locate (YuNet, two scales), embed (SFace), match (open-set gallery)."""

from typing import TYPE_CHECKING

from screening.detect.base import lazy_exports

if TYPE_CHECKING:
    from screening.detect.faces.detector import FaceConfig, FaceDetector, FaceEngine

__all__ = ["FaceConfig", "FaceDetector", "FaceEngine"]
__getattr__ = lazy_exports(__name__, __all__)
