"""screening: checks a photo before an Indonesian civil servant (ASN) posts it, against the
election-neutrality rules of SKB No. 2/2022.

    from screening import Screener
    screener = Screener("my-registry")          # once; thread-safe
    verdict = screener.screen("photo.jpg")      # path, bytes, PIL image or RGB array
    verdict.verdict, verdict.severity, verdict.violations
"""

from screening.errors import (
    CorruptImageError,
    EnrollmentError,
    ImageError,
    ImageTooLargeError,
    ModelCorruptError,
    ModelError,
    ModelMissingError,
    RegistryError,
    RulesError,
    ScreeningError,
    UnsupportedImageError,
)
from screening.findings import (
    SCHEMA_VERSION,
    Box,
    ErrorInfo,
    Finding,
    FindingKind,
    Message,
    Severity,
    Verdict,
    Violation,
)
from screening.image import LoadedImage, LoadOptions, load_image
from screening.registry import Registry, load_registry
from screening.rules import RuleSet, load_rules
from screening.runtime.sessions import Runtime
from screening.screener import Screener

__version__ = "0.1.0"

__all__ = [
    "SCHEMA_VERSION", "Box", "CorruptImageError", "EnrollmentError", "ErrorInfo", "Finding", "FindingKind",
    "ImageError", "ImageTooLargeError", "LoadOptions", "LoadedImage", "Message", "ModelCorruptError", "ModelError",
    "ModelMissingError", "Registry", "RegistryError", "RuleSet", "RulesError", "Runtime", "Screener",
    "ScreeningError", "Severity", "UnsupportedImageError", "Verdict", "Violation", "__version__", "load_image",
    "load_registry", "load_rules",
]  # fmt: skip
