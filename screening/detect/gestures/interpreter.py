"""The calling thread's LiteRT interpreter for a model, with its tensor indices looked up once.

``Runtime.litert_interpreter`` gives each thread its own interpreter (they hold mutable tensors). Which
tensor is which never changes for an interpreter, so the indices are found when a thread first uses it
rather than on every run (``get_input_details``/``get_output_details`` build fresh lists of dicts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ThreadInterpreter(Generic[T]):
    """``get()`` returns (interpreter, indices) for the calling thread; ``find_indices(interpreter)``
    computes the indices the first time a thread meets an interpreter. Thread-safe: each thread keeps its
    own pair, and a different interpreter from the Runtime gets its indices looked up again."""

    def __init__(self, runtime: Any, model: str, find_indices: Callable[[Any], T]) -> None:
        self.runtime = runtime
        self.model = model
        self._find = find_indices
        self._local = threading.local()

    def get(self) -> tuple[Any, T]:
        interp = self.runtime.litert_interpreter(self.model)
        cached: tuple[Any, T] | None = getattr(self._local, "pair", None)
        if cached is None or cached[0] is not interp:
            cached = (interp, self._find(interp))
            self._local.pair = cached
        return cached
