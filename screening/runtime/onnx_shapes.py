"""Free the spatial input size of an ONNX model whose graph does not depend on it.

YuNet's ONNX file declares a fixed 1x3x640x640 input although its graph reshapes with -1, so it runs
at any size; onnxruntime only refuses because of the declaration. Editing the declaration lets one
pass cover a whole photo instead of a dozen 640-pixel tiles. The edit is done on the protobuf
wire format directly (a few dozen lines) rather than by depending on the ``onnx`` package: the
verified file on disk is never changed, only the bytes handed to onnxruntime.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

# Field numbers from onnx.proto.
_MODEL_GRAPH = 7
_GRAPH_INPUT, _GRAPH_OUTPUT, _GRAPH_VALUE_INFO = 11, 12, 13
_VALUE_INFO_TYPE = 2
_TYPE_TENSOR = 1
_TENSOR_SHAPE = 2
_SHAPE_DIM = 1
_DIM_PARAM = 2


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _enc_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(field number, wire type, the field's full encoding) for each field of a message."""
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = _varint(buf, pos)
        wire = key & 7
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield key >> 3, wire, buf[start:pos]


def _payload(field: bytes) -> bytes:
    _, pos = _varint(field, 0)
    length, pos = _varint(field, pos)
    return field[pos : pos + length]


def _field(number: int, payload: bytes) -> bytes:
    return _enc_varint(number << 3 | 2) + _enc_varint(len(payload)) + payload


Rewrite = Callable[[bytes], bytes | None]


def _rewrite(buf: bytes, rules: dict[int, Rewrite]) -> bytes:
    """Re-encode a message, passing each length-delimited field named in ``rules`` through its rewrite
    (None drops the field); everything else is copied byte for byte."""
    out = bytearray()
    for number, wire, raw in _fields(buf):
        if wire == 2 and number in rules:
            new = rules[number](_payload(raw))
            if new is not None:
                out += _field(number, new)
        else:
            out += raw
    return bytes(out)


def _free_dims(names: dict[int, str]) -> Rewrite:
    """A ValueInfoProto rewrite that turns the dims at the given indexes into named parameters."""

    def shape(buf: bytes) -> bytes:
        out = bytearray()
        index = 0
        for number, _wire, raw in _fields(buf):
            if number == _SHAPE_DIM:
                out += _field(_SHAPE_DIM, _field(_DIM_PARAM, names[index].encode())) if index in names else raw
                index += 1
            else:
                out += raw
        return bytes(out)

    def tensor(buf: bytes) -> bytes:
        return _rewrite(buf, {_TENSOR_SHAPE: shape})

    def type_proto(buf: bytes) -> bytes:
        return _rewrite(buf, {_TYPE_TENSOR: tensor})

    return lambda buf: _rewrite(buf, {_VALUE_INFO_TYPE: type_proto})


def free_spatial_input(model: bytes) -> bytes:
    """Model bytes with inputs declared as N x C x H x W of free size, outputs' second dim free, and
    the stale intermediate shape annotations dropped (onnxruntime re-infers them)."""

    def graph(buf: bytes) -> bytes:
        return _rewrite(
            buf,
            {
                _GRAPH_INPUT: _free_dims({2: "height", 3: "width"}),
                _GRAPH_OUTPUT: _free_dims({1: "anchors"}),
                _GRAPH_VALUE_INFO: lambda _b: None,
            },
        )

    return _rewrite(model, {_MODEL_GRAPH: graph})
