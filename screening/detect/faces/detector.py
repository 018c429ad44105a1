"""Registered candidate faces: locate every face, embed it, match it against the enrolled gallery."""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from screening.detect.base import reject_unknown
from screening.detect.faces.embed import FaceEmbedder, align
from screening.detect.faces.gallery import Gallery
from screening.detect.faces.locate import FaceBox, FaceLocator
from screening.errors import EnrollmentError
from screening.findings import Box, Finding, FindingKind
from screening.image import LoadedImage, decode_bytes
from screening.registry.face_templates import build_gallery
from screening.registry.model import Registry
from screening.rules import RuleSet, load_rules
from screening.runtime.sessions import Runtime


@dataclass(frozen=True)
class FaceConfig:
    """``[detectors.faces]`` in rules.toml.

    match_threshold: cosine similarity from which a face is taken as the candidate (open-set).
    min_margin: best minus runner-up candidate below which the match is flagged ``ambiguous``.
    detect_threshold: YuNet score from which a face counts.
    min_face_px: faces smaller than this (working-copy pixels) are ignored: too small to identify.
    report_unknown: also report faces that match no candidate (evidence for annotated output).
    """

    match_threshold: float = 0.42
    min_margin: float = 0.04
    detect_threshold: float = 0.6
    min_face_px: int = 20
    report_unknown: bool = False

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaceConfig:
        reject_unknown("faces", raw, (f.name for f in fields(cls)))
        return cls(**raw)


class FaceEngine:
    """Locate + align + embed, shared by screening and enrollment."""

    def __init__(self, runtime: Runtime, config: FaceConfig) -> None:
        self.runtime = runtime
        self.config = config
        self._locator: FaceLocator | None = None
        self._embedder: FaceEmbedder | None = None
        self._lock = threading.Lock()

    def _models(self) -> tuple[FaceLocator, FaceEmbedder]:
        if self._locator is None or self._embedder is None:
            with self._lock:
                if self._locator is None or self._embedder is None:
                    self._embedder = FaceEmbedder(self.runtime.onnx("face_embedder"))
                    self._locator = FaceLocator(
                        self.runtime.onnx("face_detector", free_spatial=True),
                        threshold=self.config.detect_threshold,
                        min_face=self.config.min_face_px,
                    )
        return self._locator, self._embedder

    @classmethod
    def configured(cls, runtime: Runtime | None = None, rules: RuleSet | None = None) -> FaceEngine:
        """The engine with the ``[detectors.faces]`` settings of ``rules`` (default: the shipped
        rules.toml), as enrollment and screening must share them."""
        cfg = (rules or load_rules()).detector_config("faces")
        cfg.pop("enabled", None)
        return cls(runtime or Runtime(), FaceConfig.from_dict(cfg))

    @property
    def model_key(self) -> str:
        """Identifies the models a template was made with; a different model invalidates the cache."""
        specs = self.runtime.specs
        return f"{specs['face_detector'].sha256[:12]}:{specs['face_embedder'].sha256[:12]}"

    def locate(self, bgr: np.ndarray) -> list[FaceBox]:
        return self._models()[0].locate(bgr)

    def embed(self, bgr: np.ndarray, face: FaceBox) -> np.ndarray:
        return self._models()[1].embed(align(bgr, face.landmarks))

    def enroll(self, data: bytes, name: str) -> np.ndarray:
        """The template of a reference photo that must show exactly one face."""
        image = decode_bytes(data, path=name)
        faces = self.locate(image.bgr)
        if not faces:
            raise EnrollmentError(f"no face found in {name}; use a clear, frontal photo of the candidate")
        largest = max(faces, key=lambda f: f.box[2] * f.box[3])
        # Small background faces do not make a photo ambiguous; comparable ones do.
        rivals = [f for f in faces if f is not largest and f.box[2] >= 0.4 * largest.box[2]]
        if rivals:
            raise EnrollmentError(f"{len(rivals) + 1} faces found in {name}; crop it to the candidate alone")
        return self.embed(image.bgr, largest)


class FaceDetector:
    """Finds registered candidates' faces, including faces printed on banners, posters and screens."""

    name = "faces"

    def __init__(self, runtime: Runtime, registry: Registry, config: FaceConfig) -> None:
        self.config = config
        self.registry = registry
        self.engine = FaceEngine(runtime, config)
        self._gallery: Gallery | None = None
        self._lock = threading.Lock()
        # One person's entries for several elections: not each other's runner-up (see Gallery.match).
        self._person = {c.id: c.key for c in registry.candidates}

    @classmethod
    def from_config(cls, runtime: Runtime, registry: Registry, config: dict[str, Any]) -> FaceDetector:
        return cls(runtime, registry, FaceConfig.from_dict(config))

    @property
    def gallery(self) -> Gallery:
        """Candidate templates, built (or read from the cache) on first use."""
        if self._gallery is None:
            with self._lock:
                if self._gallery is None:
                    self._gallery = build_gallery(self.registry, self.engine)
        return self._gallery

    def warmup(self) -> None:
        if len(self.gallery):
            self.engine._models()

    def detect(self, image: LoadedImage) -> list[Finding]:
        gallery = self.gallery
        if not len(gallery) and not self.config.report_unknown:
            return []  # nobody enrolled: no face can be evidence
        findings = []
        for face in self.engine.locate(image.bgr):
            match = gallery.match(self.engine.embed(image.bgr, face), self._person)
            x, y, w, h = (float(v) for v in face.box)
            box = Box(x, y, w, h).scaled(image.scale)
            detail = {
                "similarity": round(match.similarity, 4),
                "margin": round(match.margin, 4),
                "runner_up": match.runner_up,
                "detection_score": round(face.score, 4),
            }
            if match.candidate is not None and match.similarity >= self.config.match_threshold:
                cand = self.registry.candidate(match.candidate)
                assert cand is not None
                detail["ambiguous"] = match.margin < self.config.min_margin
                findings.append(
                    Finding(
                        kind=FindingKind.FACE,
                        label=cand.name,
                        score=match.similarity,
                        box=box,
                        candidate=cand.id,
                        election=cand.election,
                        detail=detail,
                    )
                )
            elif self.config.report_unknown:
                detail["best_candidate"] = match.candidate
                findings.append(Finding(FindingKind.FACE, "unknown face", face.score, box, detail=detail))
        return findings
