"""The gesture models' tensor indices are looked up once per thread's interpreter, not on every run
(a fake Runtime stands in for LiteRT: no model files needed)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from screening.detect.gestures.landmarks import HandLandmarker, HandRoi
from screening.detect.gestures.palm import PalmDetector, Region


class _FakeInterpreter:
    """Answers like the palm or landmark model; counts detail lookups and checks every index it gets."""

    def __init__(self, outputs: dict[str, np.ndarray]) -> None:
        self.outputs = outputs
        self.lookups = 0
        self.index = {name: 10 + i for i, name in enumerate(outputs)}  # not 0..n: a wrong index shows

    def get_input_details(self) -> list[dict[str, Any]]:
        self.lookups += 1
        return [{"name": "input", "index": 3, "shape": np.array([1, 2, 2, 3])}]

    def get_output_details(self) -> list[dict[str, Any]]:
        self.lookups += 1
        return [{"name": n, "index": self.index[n], "shape": np.array(a.shape)} for n, a in self.outputs.items()]

    def set_tensor(self, index: int, value: np.ndarray) -> None:
        assert index == 3

    def invoke(self) -> None:
        pass

    def get_tensor(self, index: int) -> np.ndarray:
        name = next(n for n, i in self.index.items() if i == index)
        return self.outputs[name]


class _FakeRuntime:
    """One interpreter per (thread, model), as Runtime.litert_interpreter gives them."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.made: list[_FakeInterpreter] = []
        self.lock = threading.Lock()

    def litert_interpreter(self, name: str) -> _FakeInterpreter:
        cache = self.local.__dict__.setdefault("interps", {})
        if name not in cache:
            if name == "hand_detector":
                outs = {
                    "scores": np.full((1, 2016, 1), -20.0, np.float32),
                    "boxes": np.zeros((1, 2016, 18), np.float32),
                }
            else:
                outs = {
                    "Identity_3": np.full((1, 63), 3.0, np.float32),
                    "Identity": np.ones((1, 63), np.float32),
                    "Identity_2": np.full((1, 1), 0.25, np.float32),
                    "Identity_1": np.full((1, 1), 0.75, np.float32),
                }
            cache[name] = _FakeInterpreter(outs)
            with self.lock:
                self.made.append(cache[name])
        return cache[name]


def _run_both(palms: PalmDetector, marker: HandLandmarker, n: int) -> list[tuple[float, float, float]]:
    bgr = np.zeros((64, 64, 3), np.uint8)
    out = []
    for _ in range(n):
        assert palms.run(bgr, Region(0, 0, 64, 64)) == []
        hand = marker.run(bgr, HandRoi(32, 32, 40, 0.0))
        out.append((hand.presence, hand.right_score, float(hand.world[0, 0])))
    return out


def test_tensor_details_are_looked_up_once_per_thread_interpreter() -> None:
    rt = _FakeRuntime()
    palms, marker = PalmDetector(rt), HandLandmarker(rt)
    results: dict[str, list[tuple[float, float, float]]] = {}

    def work(tag: str) -> None:
        results[tag] = _run_both(palms, marker, 5)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    work("main")
    # Outputs were read from the right tensors (presence, handedness, world are told apart by name)...
    assert all(r == [(0.75, 0.25, 3.0)] * 5 for r in results.values()) and len(results) == 4
    # ...and each of the 4 threads' 2 interpreters had its details looked up once (input + outputs).
    assert len(rt.made) == 8
    assert [i.lookups for i in rt.made] == [2] * 8
