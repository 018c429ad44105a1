"""Synthetic party-logo scenes for testing and evaluating the logo detector.

Party-like logos are drawn in code (a base shape, stars, rings, a banteng-like head, random emblems
and the party's letters, in strong colours; each party's design follows from its id), then pasted
into scenes the way they appear in real photos: on waving flags and folded shirts (smooth cloth-like
displacement), at an angle (perspective), small and large, under uneven light, partly covered,
blurred and JPEG-compressed. Scenes also carry distractors that must NOT be reported: logos of
parties that are not enrolled, brand-like wordmarks, a red-white flag and a Garuda-like emblem.

Backgrounds are procedural textures, or (``--devset``) crops of the development photos, read at run
time and never copied anywhere.

    python scripts/gen_logo_scenes.py OUT_DIR --count 40    # writes scene PNGs + truth.json
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

LOGO_SIDE = 400
SCENE_SIZE = (1600, 1200)  # width, height: the working copy the screener hands detectors

PALETTE = [
    (220, 30, 30),
    (250, 200, 20),
    (20, 140, 60),
    (20, 60, 170),
    (20, 20, 20),
    (255, 255, 255),
    (240, 120, 20),
    (120, 20, 40),
    (0, 160, 200),
    (140, 40, 160),
    (250, 90, 160),
    (90, 60, 30),
]  # fmt: skip  (RGB)


def _rng_for(key: str) -> np.random.Generator:
    return np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest()[:12], 16))


def _bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return (int(rgb[2]), int(rgb[1]), int(rgb[0]))


def _luma(rgb: tuple[int, int, int]) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def _star(cx: float, cy: float, r: float, points: int = 5, rot: float = 0.0, inner: float = 0.45) -> np.ndarray:
    pts = []
    for i in range(points * 2):
        rad = r if i % 2 == 0 else r * inner
        a = rot + math.pi * i / points - math.pi / 2
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    return np.array(pts, np.int32)


def _blob(rng: np.random.Generator, cx: float, cy: float, r: float, n: int = 9) -> np.ndarray:
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = r * rng.uniform(0.35, 1.0, n)
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1).astype(np.int32)


def _banteng(cx: float, cy: float, r: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """A bull's head with horns, as a polygon (the classic Indonesian party emblem shape); ``rng`` gives
    each party its own drawing of it (horn spread, muzzle, ears), as real emblems differ."""
    pts = [(-1.0, -0.9), (-0.75, -0.35), (-0.4, -0.3), (-0.35, 0.25), (-0.2, 0.8), (0.0, 0.95), (0.2, 0.8),
           (0.35, 0.25), (0.4, -0.3), (0.75, -0.35), (1.0, -0.9), (0.55, -0.55), (0.3, -0.6), (0.0, -0.45),
           (-0.3, -0.6), (-0.55, -0.55)]  # fmt: skip
    jitter = rng.uniform(-0.12, 0.12, (len(pts), 2)) if rng is not None else np.zeros((len(pts), 2))
    return np.array(
        [(cx + r * (x + jx), cy + r * (y + jy)) for (x, y), (jx, jy) in zip(pts, jitter, strict=True)], np.int32
    )


def make_logo(key: str, text: str | None = None) -> np.ndarray:
    """A party-like logo (RGBA, LOGO_SIDE square, transparent outside the emblem), the same for the same key."""
    rng = _rng_for(key)
    s = LOGO_SIDE
    img = np.zeros((s, s, 3), np.uint8)
    alpha = np.zeros((s, s), np.uint8)
    # Real party logos are designed to survive black-and-white printing: every element stands out from
    # the base colour in brightness, not in hue alone (the detector works on luminance).
    order = rng.permutation(len(PALETTE))
    base = PALETTE[order[0]]
    others = [PALETTE[i] for i in order[1:] if abs(_luma(PALETTE[i]) - _luma(base)) >= 45]
    c1, c2, c3, c4 = (_bgr(c) for c in [base, *others[:3]])
    shape = int(rng.integers(0, 5))
    cx = cy = s / 2
    r = s * 0.46
    if shape == 0:
        cv2.circle(img, (int(cx), int(cy)), int(r), c1, -1)
        cv2.circle(alpha, (int(cx), int(cy)), int(r), 255, -1)
        cv2.circle(img, (int(cx), int(cy)), int(r), c2, int(s * 0.04))
    elif shape == 1:
        poly = np.array(
            [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + 0.2 * r), (cx, cy + r), (cx - r, cy + 0.2 * r)], np.int32
        )
        cv2.fillPoly(img, [poly], c1)
        cv2.fillPoly(alpha, [poly], 255)
        cv2.polylines(img, [poly], True, c2, int(s * 0.035))
    elif shape == 2:
        cv2.rectangle(img, (int(cx - r), int(cy - r)), (int(cx + r), int(cy + r)), c1, -1)
        cv2.rectangle(alpha, (int(cx - r), int(cy - r)), (int(cx + r), int(cy + r)), 255, -1)
        cv2.rectangle(
            img, (int(cx - r * 0.9), int(cy - r * 0.9)), (int(cx + r * 0.9), int(cy + r * 0.9)), c2, int(s * 0.02)
        )
    elif shape == 3:
        hexa = np.array(
            [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in np.arange(6) * math.pi / 3 + rng.uniform(0, 1)],
            np.int32,
        )
        cv2.fillPoly(img, [hexa], c1)
        cv2.fillPoly(alpha, [hexa], 255)
        cv2.polylines(img, [hexa], True, c2, int(s * 0.03))
    else:
        cv2.ellipse(img, (int(cx), int(cy)), (int(r), int(r * 0.75)), 0, 0, 360, c1, -1)
        cv2.ellipse(alpha, (int(cx), int(cy)), (int(r), int(r * 0.75)), 0, 0, 360, 255, -1)
        cv2.ellipse(img, (int(cx), int(cy)), (int(r * 0.85), int(r * 0.62)), 0, 0, 360, c2, int(s * 0.025))
    # Inner emblem: a mix that makes each party's logo its own.
    kind = int(rng.integers(0, 4))
    if kind == 0:
        cv2.fillPoly(img, [_banteng(cx, cy - 0.05 * s, s * 0.24, rng)], c3)
    elif kind == 1:
        cv2.fillPoly(img, [_star(cx, cy - 0.04 * s, s * 0.22, int(rng.integers(5, 9)), rng.uniform(0, 1))], c3)
    elif kind == 2:
        cv2.circle(img, (int(cx), int(cy - 0.05 * s)), int(s * 0.18), c3, int(s * 0.05))
        cv2.fillPoly(img, [_blob(rng, cx, cy - 0.05 * s, s * 0.13)], c4)
    else:
        for _ in range(3):
            cv2.fillPoly(
                img, [_blob(rng, cx + rng.uniform(-0.12, 0.12) * s, cy + rng.uniform(-0.15, 0.05) * s, s * 0.14)], c3
            )
    for _ in range(int(rng.integers(1, 6))):
        ang = rng.uniform(0, 2 * math.pi)
        rad = s * rng.uniform(0.25, 0.34)
        cv2.fillPoly(
            img, [_star(cx + rad * math.cos(ang), cy + rad * math.sin(ang) * 0.8, s * 0.05, 5, rng.uniform(0, 1))], c4
        )
    if rng.random() < 0.5:
        for k in range(int(rng.integers(2, 5))):
            y = int(cy + s * (0.12 + 0.045 * k))
            cv2.line(img, (int(cx - s * 0.2), y), (int(cx + s * 0.2), y), c4 if k % 2 else c2, int(s * 0.018))
    if text:
        font = cv2.FONT_HERSHEY_DUPLEX
        scale = 1.0
        (tw, th), _ = cv2.getTextSize(text, font, scale, 3)
        scale = min(s * 0.55 / tw, s * 0.12 / th)
        thick = max(2, int(scale * 3))
        (tw, th), _ = cv2.getTextSize(text, font, scale, thick)
        org = (int(cx - tw / 2), int(cy + s * 0.36))
        cv2.putText(img, text, (org[0] + 2, org[1] + 2), font, scale, c2, thick + 2, cv2.LINE_AA)
        cv2.putText(img, text, org, font, scale, c3 if c3 != c1 else c4, thick, cv2.LINE_AA)
    img[alpha == 0] = 0
    return np.dstack([img, alpha])


def make_flag_merah_putih() -> np.ndarray:
    """The national red-white flag (not a party symbol): a distractor."""
    img = np.zeros((260, 390, 3), np.uint8)
    img[:130] = (40, 30, 220)
    img[130:] = (250, 250, 250)
    return np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])


def make_garuda_like() -> np.ndarray:
    """A golden eagle with spread wings and a shield on its chest, like the national emblem: a distractor."""
    s = LOGO_SIDE
    img = np.zeros((s, s, 3), np.uint8)
    alpha = np.zeros((s, s), np.uint8)
    gold = (30, 170, 220)
    dark = (20, 90, 140)
    body = np.array(
        [(200, 70), (235, 110), (250, 200), (230, 330), (200, 380), (170, 330), (150, 200), (165, 110)], np.int32
    )
    wings = []
    for side in (-1, 1):
        pts = [(200, 160)]
        for k in range(6):
            pts.append((200 + side * (60 + 25 * k), 60 + 18 * k))
            pts.append((200 + side * (55 + 25 * k), 90 + 18 * k))
        pts.append((200 + side * 40, 250))
        wings.append(np.array(pts, np.int32))
    for poly in [*wings, body]:
        cv2.fillPoly(img, [poly], gold)
        cv2.fillPoly(alpha, [poly], 255)
        cv2.polylines(img, [poly], True, dark, 3)
    shield = np.array([(160, 180), (240, 180), (240, 250), (200, 285), (160, 250)], np.int32)
    cv2.fillPoly(img, [shield], (250, 250, 250))
    cv2.line(img, (160, 215), (240, 215), (20, 20, 20), 4)
    cv2.fillPoly(img, [_star(200, 235, 14)], (20, 200, 250))
    for i in range(5):
        cv2.circle(img, (170 + 15 * i, 200), 5, (30, 30, 200), -1)
    cv2.rectangle(img, (120, 350), (280, 380), (250, 250, 250), -1)
    cv2.rectangle(alpha, (120, 350), (280, 380), 255, -1)
    cv2.putText(img, "BHINNEKA", (128, 373), cv2.FONT_HERSHEY_SIMPLEX, 0.75, (20, 20, 20), 2, cv2.LINE_AA)
    img[alpha == 0] = 0
    return np.dstack([img, alpha])


def make_brand(key: str) -> np.ndarray:
    """A brand-like wordmark or shop sign (text in a rounded box): a distractor."""
    rng = _rng_for("brand:" + key)
    words = ["TOKO", "MART", "KOPI", "BANK", "SUSU", "CAFE", "SALE", "OPEN", "BAKSO", "PHONE"]
    text = str(rng.choice(words)) + (str(int(rng.integers(1, 99))) if rng.random() < 0.4 else "")
    bg, fg = (_bgr(PALETTE[i]) for i in rng.permutation(len(PALETTE))[:2])
    img = np.zeros((200, 520, 3), np.uint8)
    img[:] = bg
    cv2.putText(img, text, (20, 140), cv2.FONT_HERSHEY_TRIPLEX, 3.0, fg, 7, cv2.LINE_AA)
    if rng.random() < 0.5:
        cv2.circle(img, (470, 100), 40, fg, -1)
    return np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])


def reference_image(
    logo_rgba: np.ndarray, backdrop: tuple[int, int, int] = (255, 255, 255), margin: int = 40
) -> np.ndarray:
    """A clean reference file: the logo on a plain backdrop (what an agency would enrol)."""
    h, w = logo_rgba.shape[:2]
    out = np.full((h + 2 * margin, w + 2 * margin, 3), backdrop, np.uint8)
    a = logo_rgba[:, :, 3:4].astype(np.float32) / 255.0
    region = out[margin : margin + h, margin : margin + w]
    region[:] = (logo_rgba[:, :, :3] * a + region * (1 - a)).astype(np.uint8)
    return out


def one_colour_print(rgba: np.ndarray, ink: tuple[int, int, int], cloth: tuple[int, int, int]) -> np.ndarray:
    """``rgba`` screen-printed in one colour on a cloth panel (RGBA, opaque): its darker half (Otsu on
    luminance) becomes ``ink``, the rest stays cloth, as on a party shirt printed in a single colour."""
    gray = cv2.cvtColor(rgba[:, :, :3], cv2.COLOR_BGR2GRAY)
    inside = rgba[:, :, 3] > 127
    level, _ = cv2.threshold(gray[inside].reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    m = rgba.shape[0] // 6
    out = np.zeros((rgba.shape[0] + 2 * m, rgba.shape[1] + 2 * m, 4), np.uint8)
    out[:, :] = (*cloth, 255)
    out[m:-m, m:-m][inside & (gray <= level)] = (*ink, 255)
    return out


# --- scenes --------------------------------------------------------------------------------------


def procedural_background(rng: np.random.Generator, size: tuple[int, int] = SCENE_SIZE) -> np.ndarray:
    """Gradients, noise at several scales, shapes, lines and text: a cluttered but logo-free scene."""
    w, h = size
    base = rng.uniform(40, 220, 3)
    grad = np.linspace(0, 1, w)[None, :, None] * rng.uniform(-80, 80, 3)
    img = np.clip(base + grad + np.zeros((h, w, 3)), 0, 255)
    for cell in (8, 32, 128):
        noise = rng.normal(0, 25, (h // cell + 2, w // cell + 2, 3))
        img += cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(10, 40))):
        col = tuple(int(v) for v in rng.integers(0, 255, 3))
        kind = rng.integers(0, 4)
        if kind == 0:
            cv2.rectangle(
                img,
                tuple(int(v) for v in rng.integers(0, w, 2) * [1, h / w]),
                tuple(int(v) for v in rng.integers(0, w, 2) * [1, h / w]),
                col,
                -1,
            )
        elif kind == 1:
            cv2.circle(
                img,
                (int(rng.integers(0, w)), int(rng.integers(0, h))),
                int(rng.integers(5, 120)),
                col,
                int(rng.choice([-1, 3, 8])),
            )
        elif kind == 2:
            cv2.line(
                img,
                (int(rng.integers(0, w)), int(rng.integers(0, h))),
                (int(rng.integers(0, w)), int(rng.integers(0, h))),
                col,
                int(rng.integers(1, 12)),
            )
        else:
            txt = "".join(rng.choice(list("ABCDEFGHIJKLMNOPRSTUWXYZ0123456789 "), int(rng.integers(3, 12))))
            cv2.putText(
                img,
                txt,
                (int(rng.integers(0, w - 200)), int(rng.integers(30, h))),
                int(rng.choice([0, 2, 3, 4])),
                rng.uniform(0.6, 3),
                col,
                int(rng.integers(1, 6)),
            )
    return img


def devset_backgrounds(devset: Path) -> list[Path]:
    """Development photos without any enrolled logo (face, text, gesture folders), used as backdrops."""
    out: list[Path] = []
    for sub in ("face", "text", "gesture"):
        out += sorted(p for p in (devset / sub).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    return out


def photo_background(path: Path, rng: np.random.Generator, size: tuple[int, int] = SCENE_SIZE) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    img = np.ascontiguousarray(rgb[:, :, ::-1])
    w, h = size
    f = max(w / img.shape[1], h / img.shape[0]) * rng.uniform(1.0, 1.3)
    img = cv2.resize(
        img, (max(w, round(img.shape[1] * f)), max(h, round(img.shape[0] * f))), interpolation=cv2.INTER_LINEAR
    )
    x = int(rng.integers(0, img.shape[1] - w + 1))
    y = int(rng.integers(0, img.shape[0] - h + 1))
    return img[y : y + h, x : x + w].copy()


def _bend(rgba: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Cloth-like smooth displacement (waves along one direction plus low-frequency noise)."""
    h, w = rgba.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    amp = amount * max(h, w)
    k = rng.uniform(1.0, 2.5) * 2 * math.pi / max(h, w)
    ph = rng.uniform(0, 2 * math.pi)
    dx = amp * 0.4 * np.sin(k * yy + ph)
    dy = amp * np.sin(k * xx + ph)
    noise = cv2.resize(rng.normal(0, amp * 0.5, (4, 4)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    out = cv2.remap(rgba, xx + dx, yy + dy + noise, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # Folds darken and lighten the cloth along the wave.
    shade = 1.0 + 0.25 * (amount / 0.05) * np.cos(k * xx + ph)
    out[:, :, :3] = np.clip(out[:, :, :3] * shade[:, :, None], 0, 255).astype(np.uint8)
    return out


@dataclass
class Placed:
    label: str  # party id, or "distractor:<kind>"
    box: tuple[float, float, float, float]  # x, y, w, h in scene pixels
    occluded: float = 0.0


@dataclass
class Scene:
    bgr: np.ndarray
    placed: list[Placed] = field(default_factory=list)

    @property
    def parties(self) -> set[str]:
        return {p.label for p in self.placed if not p.label.startswith("distractor")}


def paste(
    scene: np.ndarray, rgba: np.ndarray, rng: np.random.Generator, side: float, *, bend: float, tilt: float,
    carrier: tuple[int, int, int] | None = None, avoid: list[tuple[float, float, float, float]] | None = None,
) -> tuple[float, float, float, float] | None:  # fmt: skip
    """Composite ``rgba`` into ``scene`` with bending, perspective and rotation; return its box or None."""
    if carrier is not None:  # a flag or shirt panel around the logo, deformed with it
        h, w = rgba.shape[:2]
        m = int(0.25 * max(h, w))
        panel = np.zeros((h + 2 * m, w + 2 * m, 4), np.uint8)
        panel[:, :, :3] = carrier
        panel[:, :, 3] = 255
        a = rgba[:, :, 3:4].astype(np.float32) / 255
        panel[m : m + h, m : m + w, :3] = (rgba[:, :, :3] * a + panel[m : m + h, m : m + w, :3] * (1 - a)).astype(
            np.uint8
        )
        logo_alpha = np.zeros(panel.shape[:2], np.uint8)
        logo_alpha[m : m + h, m : m + w] = rgba[:, :, 3]
        rgba = panel
    else:
        logo_alpha = rgba[:, :, 3].copy()
    if bend > 0:
        stacked = np.dstack([rgba, logo_alpha])
        stacked = _bend(stacked, rng, bend)
        rgba, logo_alpha = stacked[:, :, :4], stacked[:, :, 4]
    h, w = rgba.shape[:2]
    sh, sw = scene.shape[:2]
    f = side / max(h, w) * (1.0 if carrier is None else 1.5)
    ang = rng.uniform(-25, 25)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = src * f
    dst += rng.uniform(-tilt, tilt, dst.shape).astype(np.float32) * side
    c, s = math.cos(math.radians(ang)), math.sin(math.radians(ang))
    centre = dst.mean(axis=0)
    dst = (dst - centre) @ np.array([[c, -s], [s, c]], np.float32).T
    span = dst.max(axis=0) - dst.min(axis=0)
    for _ in range(20):
        pos = np.array([rng.uniform(span[0] / 2, sw - span[0] / 2), rng.uniform(span[1] / 2, sh - span[1] / 2)])
        box = (*(dst.min(axis=0) + pos), *span)
        if not avoid or all(_iou_any(box, b) == 0 for b in avoid):
            break
    else:
        return None
    dst = dst + pos.astype(np.float32)
    hm = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(rgba, hm, (sw, sh), flags=cv2.INTER_AREA, borderValue=0)
    la = cv2.warpPerspective(logo_alpha, hm, (sw, sh), flags=cv2.INTER_LINEAR, borderValue=0)
    a = warped[:, :, 3:4].astype(np.float32) / 255
    # Uneven light over the pasted thing.
    gain = rng.uniform(0.6, 1.25) * (1 + rng.uniform(-0.3, 0.3) * np.linspace(-1, 1, sw)[None, :, None])
    col = np.clip(warped[:, :, :3].astype(np.float32) * gain, 0, 255)
    scene[:] = (col * a + scene * (1 - a)).astype(np.uint8)
    ys, xs = np.nonzero(la > 127)
    if len(xs) == 0:
        return None
    return float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)


def _iou_any(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy


def occlude(
    scene: np.ndarray, box: tuple[float, float, float, float], rng: np.random.Generator, frac: float,
    texture: np.ndarray | None = None,
) -> None:  # fmt: skip
    """Cover about ``frac`` of a box from one side (a hand, a person, the edge of another sign): in one
    colour, or with ``texture`` (an image the size of the scene, e.g. another background: clothes,
    skin and crowds have edges of their own)."""
    x, y, w, h = box
    col = tuple(int(v) for v in rng.integers(0, 255, 3))
    side = rng.integers(0, 4)
    shape = np.zeros(scene.shape[:2], np.uint8) if texture is not None else scene
    paint = 255 if texture is not None else col
    if side == 0:
        cv2.rectangle(shape, (int(x), int(y)), (int(x + w * frac), int(y + h)), paint, -1)
    elif side == 1:
        cv2.rectangle(shape, (int(x + w * (1 - frac)), int(y)), (int(x + w), int(y + h)), paint, -1)
    elif side == 2:
        cv2.ellipse(shape, (int(x + w / 2), int(y + h)), (int(w * 0.6), int(h * frac * 1.2)), 0, 180, 360, paint, -1)
    else:
        cv2.rectangle(shape, (int(x), int(y)), (int(x + w), int(y + h * frac)), paint, -1)
    if texture is not None:
        scene[shape > 0] = texture[shape > 0]


def finish(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera and sharing: slight blur, sensor noise, JPEG at a chat-app quality."""
    if rng.random() < 0.6:
        scene = cv2.GaussianBlur(scene, (0, 0), rng.uniform(0.4, 1.3))
    noise = rng.normal(0, rng.uniform(1, 5), scene.shape)
    scene = np.clip(scene + noise, 0, 255).astype(np.uint8)
    _, buf = cv2.imencode(".jpg", scene, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(45, 92))])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


@dataclass(frozen=True)
class SceneSpec:
    """How hard scenes are: logo sizes (long side, scene pixels), bending and tilt ranges."""

    min_side: float = 70.0
    max_side: float = 450.0
    max_bend: float = 0.04
    max_tilt: float = 0.18
    max_occlusion: float = 0.2


def make_scene(
    rng: np.random.Generator, enrolled: dict[str, list[np.ndarray]], distractors: list[np.ndarray],
    background: np.ndarray, *, positives: int, spec: SceneSpec = SceneSpec(),
) -> Scene:  # fmt: skip
    """A scene with ``positives`` enrolled logos (0 for a negative scene) and 1-4 distractors."""
    scene = Scene(background.copy())
    taken: list[tuple[float, float, float, float]] = []
    parties = list(enrolled)
    for kind_i in range(int(rng.integers(1, 5))):
        d = distractors[int(rng.integers(0, len(distractors)))]
        side = float(np.exp(rng.uniform(np.log(80), np.log(420))))
        box = paste(scene.bgr, d, rng, side, bend=rng.uniform(0, 0.04), tilt=rng.uniform(0, 0.15), avoid=taken)
        if box:
            taken.append(box)
            scene.placed.append(Placed(f"distractor:{kind_i}", box))
    for _ in range(positives):
        party = parties[int(rng.integers(0, len(parties)))]
        variants = enrolled[party]
        logo = variants[int(rng.integers(0, len(variants)))]
        side = float(np.exp(rng.uniform(np.log(spec.min_side), np.log(spec.max_side))))
        carrier = tuple(int(v) for v in rng.integers(0, 255, 3)) if rng.random() < 0.5 else None
        box = paste(
            scene.bgr, logo, rng, side, bend=rng.uniform(0, spec.max_bend), tilt=rng.uniform(0, spec.max_tilt),
            carrier=carrier, avoid=taken,
        )  # fmt: skip
        if box is None:
            continue
        frac = rng.uniform(0, spec.max_occlusion) if rng.random() < 0.3 else 0.0
        if frac > 0:
            occlude(scene.bgr, box, rng, frac)
        taken.append(box)
        scene.placed.append(Placed(party, box, frac))
    scene.bgr = finish(scene.bgr, rng)
    return scene


def party_logos(party_ids: list[str], abbreviations: dict[str, str], total: int) -> dict[str, list[np.ndarray]]:
    """Logo variants per party: one each, then a second design variant (other text) until ``total`` images."""
    out = {p: [make_logo(p, abbreviations.get(p))] for p in party_ids[:total]}
    party_ids = list(out)
    i = 0
    while sum(len(v) for v in out.values()) < total:
        p = party_ids[i % len(party_ids)]
        out[p].append(make_logo(p, (abbreviations.get(p) or p).upper() + " " + str(len(out[p]) + 1)))
        i += 1
    return out


def distractor_set(count: int = 12) -> list[np.ndarray]:
    """Not-enrolled party-like logos, brand wordmarks, the red-white flag and a Garuda-like emblem."""
    out = [make_flag_merah_putih(), make_garuda_like()]
    out += [make_logo(f"unenrolled-{i}", text=None if i % 2 else "PARTAI") for i in range(count // 2)]
    out += [make_brand(str(i)) for i in range(count - len(out))]
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--devset", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "devset")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    parties = [f"p{i}" for i in range(6)]
    logos = party_logos(parties, {p: p.upper() for p in parties}, 6)
    distractors = distractor_set()
    photos = devset_backgrounds(args.devset) if args.devset.is_dir() else []
    args.out.mkdir(parents=True, exist_ok=True)
    truth = {}
    for p, variants in logos.items():
        for j, v in enumerate(variants):
            cv2.imwrite(str(args.out / f"ref_{p}_{j}.png"), reference_image(v))
    for i in range(args.count):
        bg = photo_background(photos[i % len(photos)], rng) if photos and i % 2 else procedural_background(rng)
        sc = make_scene(rng, logos, distractors, bg, positives=int(rng.integers(0, 3)))
        cv2.imwrite(str(args.out / f"scene_{i:03d}.jpg"), sc.bgr)
        truth[f"scene_{i:03d}.jpg"] = [{"label": p.label, "box": p.box, "occluded": p.occluded} for p in sc.placed]
    (args.out / "truth.json").write_text(json.dumps(truth, indent=1))
    print(f"wrote {args.count} scenes and {sum(len(v) for v in logos.values())} references to {args.out}")


if __name__ == "__main__":
    main()
