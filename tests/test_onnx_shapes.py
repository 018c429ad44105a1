"""The wire-level ONNX edit that frees YuNet's input size."""

from __future__ import annotations

import numpy as np
import pytest

from screening.runtime.onnx_shapes import _enc_varint, _fields, _varint, free_spatial_input
from screening.runtime.sessions import Runtime


def test_varints_round_trip() -> None:
    for value in (0, 1, 127, 128, 300, 2**31, 2**40 + 5):
        assert _varint(_enc_varint(value), 0) == (value, len(_enc_varint(value)))


def test_unknown_fields_are_copied_verbatim() -> None:
    msg = _enc_varint(1 << 3) + _enc_varint(150) + _enc_varint(3 << 3 | 5) + b"\x01\x02\x03\x04"
    assert [n for n, _, _ in _fields(msg)] == [1, 3]
    assert free_spatial_input(msg) == msg  # no graph field: nothing to change


@pytest.mark.models
def test_free_input_gives_identical_outputs_and_accepts_other_sizes(face_models: Runtime) -> None:
    fixed = face_models.onnx("face_detector")
    free = face_models.onnx("face_detector", free_spatial=True)
    x = np.random.default_rng(0).uniform(0, 255, (1, 3, 640, 640)).astype(np.float32)
    for a, b in zip(fixed.run(None, {"input": x}), free.run(None, {"input": x}), strict=True):
        assert np.array_equal(a, b)
    wide = free.run(None, {"input": np.zeros((1, 3, 480, 1280), np.float32)})
    assert wide[0].shape == (1, (480 // 8) * (1280 // 8), 1)
