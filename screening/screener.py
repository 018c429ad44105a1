"""The library entry point: build a Screener once, then screen many photos from many threads."""

from __future__ import annotations

import datetime as dt
import importlib
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from screening.detect.base import Detector
from screening.errors import ScreeningError
from screening.findings import ErrorInfo, Finding, Verdict
from screening.image import ImageSource, LoadedImage, LoadOptions, load_image
from screening.registry import Registry, load_registry
from screening.rules import RuleSet, evaluate, load_rules
from screening.runtime.sessions import Runtime

# name -> "module:Class"; each class has ``from_config(runtime, registry, config) -> Detector``.
# Imported only when used, so a Screener with fewer detectors starts faster.
DETECTORS: dict[str, str] = {
    "faces": "screening.detect.faces:FaceDetector",
    "logos": "screening.detect.logos:LogoDetector",
    "text": "screening.detect.text:TextDetector",
    "gestures": "screening.detect.gestures:GestureDetector",
}


def _build_detector(name: str, runtime: Runtime, registry: Registry, config: dict[str, Any]) -> Detector:
    target = DETECTORS[name]
    module_name, _, cls_name = target.partition(":")
    return getattr(importlib.import_module(module_name), cls_name).from_config(runtime, registry, config)


class Screener:
    """Screens photos against the registry and the SKB rules.

    Build it once (models load lazily on first use, or now with :meth:`warmup`) and call
    :meth:`screen` from any number of threads: detectors hold only read-only state and shared,
    thread-safe model sessions.

    ``registry`` and ``rules`` accept loaded objects or paths; ``None`` uses the shipped Pemilu 2024
    registry and ``rules.toml``. ``detectors`` narrows which detectors run (default: all enabled).
    """

    def __init__(
        self,
        registry: Registry | str | Path | None = None,
        rules: RuleSet | str | Path | None = None,
        *,
        runtime: Runtime | None = None,
        detectors: Iterable[str] | None = None,
        load_options: LoadOptions | None = None,
    ) -> None:
        self.registry = registry if isinstance(registry, Registry) else load_registry(registry)
        self.rules = rules if isinstance(rules, RuleSet) else load_rules(rules)
        self.runtime = runtime or Runtime()
        self.load_options = load_options or LoadOptions()
        wanted = list(DETECTORS) if detectors is None else list(detectors)
        unknown = set(wanted) - set(DETECTORS)
        if unknown:
            raise ScreeningError(f"unknown detector(s): {', '.join(sorted(unknown))}; known: {', '.join(DETECTORS)}")
        self.detectors: list[Detector] = []
        for name in wanted:
            config = self.rules.detector_config(name)
            if not config.pop("enabled", True):
                continue
            self.detectors.append(_build_detector(name, self.runtime, self.registry, config))

    @property
    def version(self) -> str:
        """Registry + rules version, as recorded with every stored result."""
        return f"registry:{self.registry.fingerprint} rules:{self.rules.fingerprint}"

    def warmup(self) -> None:
        """Load every model now, so the first photo is as fast as the rest."""
        for det in self.detectors:
            det.warmup()

    def load(self, source: ImageSource, *, path: str | None = None) -> LoadedImage:
        return load_image(source, self.load_options, path=path)

    def screen(
        self,
        source: ImageSource | LoadedImage,
        *,
        posting_date: dt.date | None = None,
        path: str | None = None,
        raise_errors: bool = True,
    ) -> Verdict:
        """Screen one photo (path, bytes, PIL image, RGB numpy array or an already loaded image).

        Bad input raises a :class:`~screening.errors.ScreeningError` subclass, or with
        ``raise_errors=False`` returns a Verdict whose ``error`` says what was wrong.
        """
        day = posting_date or dt.date.today()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        if isinstance(source, LoadedImage):
            image = source
        else:
            try:
                image = self.load(source, path=path)
            except ScreeningError as exc:
                if raise_errors:
                    raise
                shown = path or (str(source) if isinstance(source, (str, Path)) else None)
                error = ErrorInfo(exc.code, exc.message)
                return Verdict.failure(shown, error, day.isoformat(), {"total": _ms(t0)})
        timings["decode"] = image.decode_ms
        findings = self.detect(image, timings)
        t1 = time.perf_counter()
        violations = evaluate(findings, self.rules, self.registry, day, (image.width, image.height))
        timings["rules"] = _ms(t1)
        # A caller that loaded the image itself (screener.load) still gets the decode counted.
        timings["total"] = _ms(t0) + (image.decode_ms if isinstance(source, LoadedImage) else 0.0)
        return Verdict(
            path=image.path,
            sha256=image.sha256,
            width=image.width,
            height=image.height,
            findings=tuple(findings),
            violations=tuple(violations),
            timings_ms=timings,
            posting_date=day.isoformat(),
        )

    def detect(self, image: LoadedImage, timings: dict[str, float] | None = None) -> list[Finding]:
        """Run every detector on a loaded image and return their findings in order."""
        findings: list[Finding] = []
        for det in self.detectors:
            t = time.perf_counter()
            findings.extend(det.detect(image))
            if timings is not None:
                timings[det.name] = _ms(t)
        return findings


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
