"""Registered candidate faces: locate (YuNet, two scales), embed (SFace), match (open-set gallery)."""

from screening.detect.faces.detector import FaceConfig, FaceDetector, FaceEngine

__all__ = ["FaceConfig", "FaceDetector", "FaceEngine"]
