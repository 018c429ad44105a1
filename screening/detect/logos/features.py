"""Local features for logo matching: RootSIFT keypoints of photos and of enrolled reference logos.

A reference logo is cropped to its foreground, brought to a canonical size and described at several
scales (so that a logo printed small or photographed from afar still finds descriptors computed at a
comparable blur), and as printed in one colour (:func:`one_colour`), plus an appearance thumbnail,
its prints and a colour histogram used by verification. Everything a reference yields is cached
per image content (sha256) and :data:`FEATURE_VERSION`.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import threading
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

# Bump whenever extraction changes: cached reference features with another version are recomputed.
FEATURE_VERSION = "rootsift-ms4-tilt4-print1-v7"  # v7: self_mirror

REF_SIDE = 400  # canonical long side of a reference logo crop, in pixels
REF_SCALES = (1.0, 0.5, 0.25, 0.125)  # reference pyramid levels described (coordinates map back to canonical)
TILT = 0.6  # foreshortening of the simulated oblique views (about 53 degrees off axis)
TILT_SCALES = (1.0, 0.5)
THUMB_SIDE = 64  # long side of the appearance thumbnail used by verification
MIN_LEVEL_SIDE = 32  # a pyramid level smaller than this has too few pixels for SIFT
# How a SIFT descriptor's 4x4 cells of 8 orientation bins move when the image changes.
# Where each descriptor value goes when light and dark swap: cell (row, col) -> (3 - row, 3 - col).
SWAPPED = np.arange(128).reshape(4, 4, 8)[::-1, ::-1, :].reshape(-1)
# ... and when the image is mirrored left-right (a keypoint's angle a becomes 180 - a): cell (row, col)
# -> (3 - row, col), orientation bin o -> -o (mod 8). Measured on OpenCV's SIFT: descriptors of an
# image's keypoints so permuted lie 0.05 from those of its mirror image (median), unpermuted 0.77.
MIRROR = np.arange(128).reshape(4, 4, 8)[::-1, :, :][:, :, (-np.arange(8)) % 8].reshape(-1)


@dataclass(frozen=True)
class Features:
    """Keypoints and descriptors: positions (N,2), sizes (N,), angles in degrees (N,), RootSIFT (N,128)."""

    xy: np.ndarray
    size: np.ndarray
    angle: np.ndarray
    desc: np.ndarray

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    def subset(self, rows: slice | np.ndarray) -> Features:
        """The keypoints ``rows`` (a slice, indices or a mask), in that order."""
        return Features(self.xy[rows], self.size[rows], self.angle[rows], self.desc[rows])

    @staticmethod
    def join(parts: list[Features]) -> Features:
        """Several feature sets as one, in order (pyramid levels, views, bands)."""
        if not parts:
            return Features.empty()
        return Features(
            np.concatenate([p.xy for p in parts]).astype(np.float32, copy=False),
            np.concatenate([p.size for p in parts]).astype(np.float32, copy=False),
            np.concatenate([p.angle for p in parts]).astype(np.float32, copy=False),
            np.concatenate([p.desc for p in parts]).astype(np.float32, copy=False),
        )

    @staticmethod
    def empty() -> Features:
        return Features(
            np.zeros((0, 2), np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.float32),
            np.zeros((0, 128), np.float32),
        )


@dataclass(frozen=True)
class ReferenceFeatures:
    """What matching and verification need from one reference logo image.

    Coordinates are in the canonical crop frame of size ``width`` x ``height``; ``thumb`` is the crop
    at :data:`THUMB_SIDE` (BGR), ``mask`` its foreground (uint8 0/255), ``hist`` the hue-saturation
    histogram of the foreground and ``chroma`` the mean saturation (0..1): achromatic logos (chrome,
    black on white) skip the colour check. ``prints`` holds the thumbnail as printed in one colour
    (see :func:`one_colour`), one grey image per way of printing it (possibly none), and the last
    ``print_rows`` rows of ``features`` describe those prints. ``self_mirror`` is the share of its
    keypoints that look the same mirrored (see :func:`mirror_symmetric`).
    """

    features: Features
    width: int
    height: int
    thumb: np.ndarray
    mask: np.ndarray
    hist: np.ndarray
    chroma: float
    prints: tuple[np.ndarray, ...] = ()
    print_rows: int = 0
    self_mirror: float = 0.0

    @cached_property
    def thumb_gradients(self) -> tuple[np.ndarray, np.ndarray]:
        """Gradients of the thumbnail, computed once (every candidate instance is compared with them)."""
        return gradients(self.thumb)

    @cached_property
    def print_gradients(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Gradients of each one-colour print of the thumbnail."""
        return [gradients(cv2.cvtColor(p, cv2.COLOR_GRAY2BGR)) for p in self.prints]

    @cached_property
    def silhouette(self) -> np.ndarray:
        """The thumbnail's foreground with its holes filled (bool): where a print has ink or cloth."""
        return _filled(self.mask) > 0


def gradients(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel gradients (x, y) of a lightly smoothed grayscale copy, for edge-alignment checks."""
    gray = cv2.GaussianBlur(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32), (3, 3), 0.8)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return gx, gy


def sift(max_features: int = 0, contrast: float = 0.04) -> cv2.SIFT:
    """A SIFT extractor (OpenCV main module). Instances are cheap; make one per call for thread safety."""
    return cv2.SIFT_create(nfeatures=max_features, contrastThreshold=contrast)


def extract(gray: np.ndarray, *, max_features: int = 0, contrast: float = 0.04) -> Features:
    """RootSIFT features of a grayscale uint8 image (Arandjelovic & Zisserman: L1-normalise, square root;
    Euclidean distance then compares like the Hellinger kernel, which matches better than raw SIFT)."""
    kps, desc = sift(max_features, contrast).detectAndCompute(gray, None)
    if desc is None or not kps:
        return Features.empty()
    desc = desc.astype(np.float32)
    desc /= np.maximum(desc.sum(axis=1, keepdims=True), 1e-7)
    np.sqrt(desc, out=desc)
    xy = np.array([k.pt for k in kps], np.float32)
    size = np.array([k.size for k in kps], np.float32)
    angle = np.array([k.angle for k in kps], np.float32)
    return Features(xy, size, angle, desc)


def foreground_box(bgr: np.ndarray) -> tuple[int, int, int, int]:
    """Box (x, y, w, h) around what differs from the image border colour (the logo on its backdrop)."""
    h, w = bgr.shape[:2]
    border = np.concatenate([bgr[0], bgr[-1], bgr[:, 0], bgr[:, -1]]).astype(np.int16)
    bg = np.median(border, axis=0)
    diff = np.abs(bgr.astype(np.int16) - bg).max(axis=2)
    mask = (diff > 40).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    ys, xs = np.nonzero(mask)
    if len(xs) < 0.01 * w * h:  # nothing stands out: the whole image is the logo
        return 0, 0, w, h
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    mx, my = max(2, (x1 - x0) // 25), max(2, (y1 - y0) // 25)
    x0, y0 = max(0, x0 - mx), max(0, y0 - my)
    x1, y1 = min(w, x1 + mx), min(h, y1 + my)
    return x0, y0, x1 - x0, y1 - y0


def _foreground_mask(bgr: np.ndarray) -> np.ndarray:
    border = np.concatenate([bgr[0], bgr[-1], bgr[:, 0], bgr[:, -1]]).astype(np.int16)
    bg = np.median(border, axis=0)
    diff = np.abs(bgr.astype(np.int16) - bg).max(axis=2)
    mask = np.where(diff > 40, 255, 0).astype(np.uint8)
    if mask.mean() < 255 * 0.05:  # a logo that is all backdrop-coloured: use everything
        mask[:] = 255
    return mask


def colour_of(bgr: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float]:
    """The colour of the ``mask`` (uint8 0/255) part of ``bgr``: its normalised hue-saturation histogram
    (18 x 4 bins, weak saturations dropped so greys do not vote) and its mean saturation (0-1)."""
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1], mask, [18, 4], [0, 180, 40, 256])
    total = float(hist.sum())
    inside = mask > 0
    chroma = float(hsv[:, :, 1][inside].mean() / 255.0) if inside.any() else 0.0
    return (hist / total if total > 0 else hist).astype(np.float32), chroma


def describe_reference(bgr: np.ndarray) -> ReferenceFeatures:
    """Crop a reference logo image to its foreground and describe it (see :class:`ReferenceFeatures`)."""
    x, y, w, h = foreground_box(bgr)
    crop = bgr[y : y + h, x : x + w]
    f = REF_SIDE / max(w, h)
    cw, ch = max(8, round(w * f)), max(8, round(h * f))
    canon = cv2.resize(crop, (cw, ch), interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
    # Pad with the backdrop colour so that the logo's outer contour (a circle, a shield) gives keypoints too.
    pad = REF_SIDE // 8
    canon_p = cv2.copyMakeBorder(canon, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    gray = cv2.cvtColor(canon_p, cv2.COLOR_BGR2GRAY)
    (face_on, _), *tilted = _views()
    parts = _describe_view(gray, face_on, REF_SCALES, pad, max(cw, ch))
    # Symmetry is judged face on: a tilted view's mirror twin is in another view, warped apart.
    self_mirror = _self_mirror(Features.join(parts), cw)
    for view, levels in tilted:
        parts += _describe_view(gray, view, levels, pad, max(cw, ch))
    # The logo printed in one colour (a screen-printed shirt, a stencilled flag): its own keypoints,
    # in the same frame, since merging colours removes edges SIFT matched on and leaves new ones.
    printed = one_colour(canon_p, _foreground_mask(canon_p))
    plain_rows = sum(len(f) for f in parts)
    for p in printed:
        parts += _describe_view(p, np.eye(2), REF_SCALES, pad, max(cw, ch))
    features = Features.join(parts)
    tf = THUMB_SIDE / max(cw, ch)
    tsize = (max(4, round(cw * tf)), max(4, round(ch * tf)))
    thumb = cv2.resize(canon, tsize, interpolation=cv2.INTER_AREA)
    mask = _foreground_mask(thumb)
    prints = tuple(cv2.resize(p[pad:-pad, pad:-pad], tsize, interpolation=cv2.INTER_AREA) for p in printed)
    return ReferenceFeatures(
        features, cw, ch, thumb, mask, *colour_of(thumb, mask), prints=prints, print_rows=len(features) - plain_rows,
        self_mirror=self_mirror,
    )  # fmt: skip


# The share of a logo's keypoints that look the same mirrored, from which it counts as mirror-symmetric.
# Measured face on, on synthetic party logos (gen_logo_scenes.make_logo): with or without a name, their
# off-centre marks give 0.03-0.37; the same logos with the left half mirrored onto the right 0.63-0.92.
SYMMETRIC_SHARE = 0.5
# A keypoint looks the same mirrored when one of the logo's own lies this close to its mirrored place
# (share of the canonical long side, plus the half pixel by which OpenCV's mirrored keypoints are off) ...
_TWIN_PLACE = 0.02
# ... with a descriptor this close (RootSIFT, unit length) to its own, mirrored (:data:`MIRROR`).
_TWIN_DESCRIPTOR = 0.35


def mirrored_features(ref: ReferenceFeatures) -> ReferenceFeatures:
    """What verification compares with the logo seen mirrored (a flag seen from behind, a selfie camera
    that mirrors): its thumbnail, mask and prints flipped left-right. The keypoints are left out: the
    index holds them mirrored (see :data:`MIRROR`)."""
    return dataclasses.replace(
        ref,
        features=Features.empty(),
        thumb=np.ascontiguousarray(ref.thumb[:, ::-1]),
        mask=np.ascontiguousarray(ref.mask[:, ::-1]),
        prints=tuple(np.ascontiguousarray(p[:, ::-1]) for p in ref.prints),
    )


def mirror_symmetric(ref: ReferenceFeatures) -> bool:
    """Whether the logo looks the same mirrored, so that its mirror image matches it as enrolled: at least
    :data:`SYMMETRIC_SHARE` of its keypoints reappear, mirrored, at their mirrored places. Keypoints,
    not the thumbnail: a disc and a ring look symmetric in a thumbnail while the party's name and
    off-centre marks, which carry most of the keypoints, do not."""
    return ref.self_mirror >= SYMMETRIC_SHARE


def mirrored_places(f: Features, width: int) -> Features:
    """Keypoints ``f`` of a logo ``width`` canonical pixels wide, at their places in its mirror image
    (angle ``a`` becomes ``180 - a``); their descriptors unchanged: the index mirrors the photo's
    instead (:data:`MIRROR`)."""
    xy = np.column_stack([width - 1 - f.xy[:, 0], f.xy[:, 1]]).astype(np.float32)
    return Features(xy, f.size, np.mod(180.0 - f.angle, 360.0), f.desc)


def _self_mirror(f: Features, width: int) -> float:
    """The share of ``f`` (a logo ``width`` canonical pixels wide) that looks the same mirrored: each
    keypoint's descriptor mirrored (:data:`MIRROR`) has its nearest neighbour among the logo's own at
    the keypoint's mirrored place."""
    if len(f) < 2:
        return 1.0  # nothing chiral to find
    nearest = cv2.BFMatcher(cv2.NORM_L2).match(np.ascontiguousarray(f.desc[:, MIRROR]), f.desc)
    twin = np.array([m.trainIdx for m in nearest])
    close = np.array([m.distance for m in nearest]) < _TWIN_DESCRIPTOR
    placed = np.linalg.norm(mirrored_places(f, width).xy - f.xy[twin], axis=1) < _TWIN_PLACE * REF_SIDE + 1.5
    return float(np.mean(close & placed))


def one_colour(bgr: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    """``bgr`` as printed in one colour, each way a printer could cut its tones: for each cut between
    the logo's principal tones (luminance clusters of its silhouette, ``mask`` with its holes filled),
    the tones below the cut dark, everything else light. Grey uint8 images, lightly smoothed as ink
    edges are; at most three, none for a logo of one tone. Prints of the light tones in dark ink are
    the same images with light and dark swapped, which the index searches for anyway."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    silhouette = _filled(mask) > 0
    tones = gray[silhouette].astype(np.float32)
    if tones.size < 64 or float(tones.std()) < 12.0:
        return []
    k = 4
    # k-means++ draws from the calling thread's OpenCV RNG, whose state depends on whatever ran on that
    # thread before (another enrolment, a FLANN forest build): the features are cached by the image's
    # content alone, so they must be a function of it. 0 is a new thread's state.
    cv2.setRNGSeed(0)
    _, labels, centres = cv2.kmeans(
        tones.reshape(-1, 1),
        k,
        None,
        (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5),
        3,
        cv2.KMEANS_PP_CENTERS,
    )
    share = np.bincount(labels.ravel(), minlength=k) / tones.size
    levels = np.sort(centres.ravel()[share >= 0.01])  # thin white lettering is a tone too
    cuts = [(a + b) / 2 for a, b in itertools.pairwise(levels.tolist()) if b - a >= 24.0]
    out: list[np.ndarray] = []
    for cut in cuts:
        ink = silhouette & (gray <= cut)
        if 0.03 <= ink.sum() / silhouette.sum() <= 0.97:
            out.append(cv2.GaussianBlur(np.where(ink, 30, 225).astype(np.uint8), (0, 0), 0.8))
    return out


def _filled(mask: np.ndarray) -> np.ndarray:
    """``mask`` with the holes of its outer contours filled (a logo's white parts are the logo too)."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(mask)
    cv2.drawContours(out, contours, -1, 255, thickness=cv2.FILLED)
    return out


def _views() -> list[tuple[np.ndarray, tuple[float, ...]]]:
    """Linear maps of the reference to describe it under: itself, and tilted about four axes
    (affine simulation as in ASIFT), so that a logo on a banner seen at an angle or on a shirt that
    curves away still meets descriptors computed under a similar foreshortening."""
    views: list[tuple[np.ndarray, tuple[float, ...]]] = [(np.eye(2), REF_SCALES)]
    for axis in np.deg2rad([0.0, 45.0, 90.0, 135.0]):
        c, s = np.cos(axis), np.sin(axis)
        rot = np.array([[c, -s], [s, c]])
        views.append((rot @ np.diag([TILT, 1.0]) @ rot.T, TILT_SCALES))
    return views


def _describe_view(
    gray: np.ndarray, view: np.ndarray, levels: tuple[float, ...], pad: int, side: int
) -> list[Features]:
    """SIFT of the padded canonical reference under ``view`` at each pyramid level, mapped back to the
    canonical (unpadded) frame: positions, sizes and orientations."""
    if np.allclose(view, np.eye(2)):
        warped, shift = gray, np.zeros(2)
    else:
        h, w = gray.shape
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64) @ view.T
        shift = -corners.min(axis=0)
        span = np.ceil(corners.max(axis=0) + shift).astype(int)
        affine = np.hstack([view, shift[:, None]])
        size = (int(span[0]), int(span[1]))
        warped = cv2.warpAffine(gray, affine, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    inv = np.linalg.inv(view)
    det = float(abs(np.linalg.det(view)))
    out: list[Features] = []
    for s in levels:
        if side * s < MIN_LEVEL_SIDE:
            continue
        level = warped if s == 1.0 else cv2.resize(warped, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        feats = extract(level, contrast=0.02)
        if len(feats) == 0:
            continue
        pts = (feats.xy.astype(np.float64) / s - shift) @ inv.T - pad
        ang = np.deg2rad(feats.angle.astype(np.float64))
        d = np.stack([np.cos(ang), np.sin(ang)], axis=1) @ inv.T
        angle = np.mod(np.rad2deg(np.arctan2(d[:, 1], d[:, 0])), 360.0)
        size = feats.size / s / np.sqrt(det)
        out.append(Features(pts.astype(np.float32), size.astype(np.float32), angle.astype(np.float32), feats.desc))
    return out


# --- cache ---------------------------------------------------------------------------------------


def cache_path(cache_dir: Path, sha256: str) -> Path:
    """Where the features of the image with this content are cached (version in the name)."""
    return cache_dir / f"{sha256}.{FEATURE_VERSION}.npz"


def save_reference(path: Path, ref: ReferenceFeatures) -> None:
    """Write reference features atomically (a half-written cache file must never be read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Unique per process and thread: batch workers that miss the cache together must not share a file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
    f = ref.features
    np.savez(
        tmp, xy=f.xy, size=f.size, angle=f.angle, desc=f.desc, dims=np.array([ref.width, ref.height]),
        thumb=ref.thumb, mask=ref.mask, hist=ref.hist, chroma=np.array([ref.chroma]),
        prints=np.array(ref.prints, np.uint8).reshape(len(ref.prints), *ref.thumb.shape[:2]),
        print_rows=np.array([ref.print_rows]), self_mirror=np.array([ref.self_mirror]),
    )  # fmt: skip
    tmp.replace(path)


def load_reference(path: Path) -> ReferenceFeatures | None:
    """Read cached reference features; ``None`` when absent or unreadable (then it is recomputed)."""
    try:
        with np.load(path) as z:
            feats = Features(z["xy"], z["size"], z["angle"], z["desc"])
            w, h = (int(v) for v in z["dims"])
            prints = tuple(z["prints"])
            return ReferenceFeatures(
                feats, w, h, z["thumb"], z["mask"], z["hist"], float(z["chroma"][0]), prints, int(z["print_rows"][0]),
                float(z["self_mirror"][0]),
            )  # fmt: skip
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # damaged: recomputed and rewritten, never trusted
