"""Detectors: each independent, each returning typed findings (faces, logos, text, gestures)."""

from screening.detect.base import Detector

__all__ = ["Detector"]
