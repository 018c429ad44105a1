"""Typed errors. Each carries a stable ``code`` (for JSON and the results store) and a message a
person can act on."""

from __future__ import annotations


class ScreeningError(Exception):
    """Base class: anything the screener refuses or cannot do, with a stable code."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImageError(ScreeningError):
    code = "image_error"


class UnsupportedImageError(ImageError):
    code = "unsupported_format"


class CorruptImageError(ImageError):
    code = "corrupt_image"


class ImageTooLargeError(ImageError):
    code = "image_too_large"


class EmptyInputError(ImageError):
    code = "empty_input"


class ModelError(ScreeningError):
    code = "model_error"


class ModelMissingError(ModelError):
    code = "model_missing"


class ModelCorruptError(ModelError):
    code = "model_corrupt"


class RegistryError(ScreeningError):
    code = "registry_error"


class EnrollmentError(RegistryError):
    code = "enrollment_error"


class RulesError(ScreeningError):
    code = "rules_error"
