"""Model sessions, loaded lazily and once per Runtime, shared by every thread that screens.

onnxruntime's ``InferenceSession.run`` is thread-safe, so one session serves all threads. LiteRT
interpreters are not; ``litert_interpreter`` hands out one per thread.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from screening.errors import ModelError
from screening.runtime.fetch import verify
from screening.runtime.manifest import ModelSpec, default_model_dir, load_manifest


@contextmanager
def _quiet_native_stderr(lock: threading.Lock) -> Iterator[None]:
    """Hide what native code prints to fd 2 meanwhile (LiteRT announces its XNNPACK delegate there on
    every interpreter, which would land in the middle of a user's terminal output). The lock keeps
    two threads from swapping the descriptor at once; the window is one interpreter's creation."""
    with lock:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
                try:
                    yield
                finally:
                    os.dup2(saved, 2)
        finally:
            os.close(saved)


class Runtime:
    """Owns model files and sessions. Build one per process (or share one between Screeners).

    ``threads`` is onnxruntime's intra-op thread count (0 lets it choose; batch workers use 1).
    """

    def __init__(self, model_dir: Path | None = None, *, threads: int = 0) -> None:
        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        self.threads = threads
        self._specs: dict[str, ModelSpec] | None = None
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def specs(self) -> dict[str, ModelSpec]:
        if self._specs is None:
            self._specs = load_manifest()
        return self._specs

    def path(self, name: str) -> Path:
        """Verified path of a model file (raises ModelMissingError / ModelCorruptError)."""
        try:
            spec = self.specs[name]
        except KeyError as exc:
            raise ModelError(f"no model named '{name}' in the manifest") from exc
        return verify(spec, self.model_dir)

    def onnx(self, name: str, *, free_spatial: bool = False) -> Any:
        """The shared onnxruntime session for model ``name``, created on first use.

        ``free_spatial`` declares the input's height and width free, for models whose graph allows
        any size but whose file pins one (see ``onnx_shapes``).
        """
        key = f"{name}:free" if free_spatial else name
        session = self._sessions.get(key)
        if session is not None:
            return session
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session = self._new_onnx_session(self.path(name), free_spatial)
                self._sessions[key] = session
        return session

    def _new_onnx_session(self, path: Path, free_spatial: bool = False) -> Any:
        import onnxruntime as ort

        from screening.runtime.onnx_shapes import free_spatial_input

        options = ort.SessionOptions()
        options.log_severity_level = 3  # initializer-as-input notices are noise for users
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # Azure's provider is listed first in onnxruntime 1.31; CPU is what runs here.
        model: str | bytes = free_spatial_input(path.read_bytes()) if free_spatial else str(path)
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def litert_interpreter(self, name: str) -> Any:
        """A LiteRT interpreter for ``name``, one per thread (they hold mutable tensors)."""
        cache: dict[str, Any] = self._local.__dict__.setdefault("litert", {})
        interp = cache.get(name)
        if interp is None:
            from ai_edge_litert.interpreter import Interpreter

            # threads=0 means "let the runtime choose", as for onnxruntime: all cores, up to 4.
            threads = self.threads or min(4, os.cpu_count() or 1)
            path = str(self.path(name))
            with _quiet_native_stderr(self._lock):
                interp = Interpreter(model_path=path, num_threads=threads)
                interp.allocate_tensors()
            cache[name] = interp
        return interp
