"""Align a face on its five landmarks and embed it with SFace (128-d, unit length)."""

from __future__ import annotations

import cv2
import numpy as np

# The 112x112 five-point template SFace was trained with (same as OpenCV's FaceRecognizerSF.alignCrop).
TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)
SIZE = 112


def similarity_transform(src: np.ndarray, dst: np.ndarray = TEMPLATE) -> np.ndarray:
    """Least-squares similarity (Umeyama) mapping ``src`` points onto ``dst``: a 2x3 matrix."""
    src = src.astype(np.float64)
    dst = dst.astype(np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    r = u @ np.diag(d) @ vt
    var = (s0**2).sum() / len(src)
    scale = (sig * d).sum() / var if var > 0 else 1.0
    t = mu_d - scale * r @ mu_s
    return np.hstack([scale * r, t[:, None]]).astype(np.float32)


def align(bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The 112x112 aligned BGR crop for a face with YuNet's five landmarks."""
    m = similarity_transform(landmarks)
    return cv2.warpAffine(bgr, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


class FaceEmbedder:
    """SFace through a shared onnxruntime session (thread-safe)."""

    def __init__(self, session: object) -> None:
        self.session = session
        self.input = session.get_inputs()[0].name  # type: ignore[attr-defined]

    def embed(self, aligned_bgr: np.ndarray) -> np.ndarray:
        """Unit-length 128-d embedding of an aligned crop (SFace expects RGB, 0-255)."""
        blob = aligned_bgr[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)
        vec = self.session.run(None, {self.input: blob})[0][0]  # type: ignore[attr-defined]
        norm = float(np.linalg.norm(vec))
        return (vec / norm).astype(np.float32) if norm > 0 else vec.astype(np.float32)
