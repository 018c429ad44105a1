"""Render synthetic campaign text (banners, flags, shirts, posters, vertical banners) and neutral
Indonesian signage (shops, offices, road signs, a KPU voter-education poster) onto photo-like
backgrounds, with rotation, perspective, waving, blur, noise, JPEG artefacts and occluders.

Each scene comes with the text lines drawn on it and its category (``campaign`` or ``neutral``);
``scripts/eval_text.py`` uses them to measure keyword recall and false hits.

    python scripts/gen_text_scenes.py --out /tmp/text_scenes --count 60 --seed 1

Fonts: every TrueType font found under /usr/share/fonts (Debian fonts-dejavu-core,
fonts-liberation...) and matplotlib's bundled DejaVu if installed; Pillow's built-in scalable
font (Pillow >= 10.1) when none is found.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from screening.registry import Registry, load_registry

SIZE = (1600, 1200)  # the working copy the detector sees (long side 1600)
MIN_TEXT_PX = 20  # smallest line height (ascender to descender) drawn, in working-copy pixels

NEUTRAL_SIGNS: tuple[tuple[str, ...], ...] = (
    ("TOKO BANGUNAN", "MAJU JAYA", "Semen - Besi - Cat - Keramik"),
    ("APOTEK", "SEHAT SENTOSA", "Buka 24 Jam"),
    ("KANTOR KECAMATAN", "SUKAMAJU", "Jl. Merdeka No. 10"),
    ("PANTAI KUTA", "BALI"),
    ("Jl. Sudirman", "No. 12"),
    ("AYO KE TPS", "14 FEBRUARI 2024", "PEMILU 2024"),
    ("Gunakan Hak Pilih Anda", "14 Februari 2024", "KPU Kabupaten Sleman"),
    ("PEMILU DAMAI 2024", "Tolak Politik Uang", "BAWASLU"),
    ("SAMSAT", "Bayar Pajak Kendaraan Bermotor (PKB)", "Tepat Waktu"),
    ("Bayar PBB", "Sebelum Jatuh Tempo", "Bapenda"),
    ("GELORA BUNG KARNO", "Pintu 5"),
    ("RUMAH MAKAN", "PADANG SEDERHANA", "Nasi Rendang Rp 25.000"),
    ("BENGKEL MOTOR", "AMANAH", "Ganti Oli - Tambal Ban"),
    ("SD NEGERI 2", "SUKAMAJU"),
    ("MASJID AL-IKHLAS",),
    ("HUT RI KE-78", "Terus Melaju untuk Indonesia Maju"),
    ("Dilarang Parkir", "Nomor Antrian 12"),
    ("PUSKESMAS", "KECAMATAN CIBINONG", "Pelayanan KB dan Imunisasi"),
    ("BANK RAKYAT", "Kantor Cabang Pembantu"),
    ("KM 12", "BANDUNG 45 KM", "JAKARTA 120 KM"),
    ("Perubahan Jadwal", "Pelayanan KTP"),
    ("DISKON 50%", "PAN CAKE & WAFFLE"),
    ("GANG MAWAR", "RT 02 / RW 05"),
    ("PERPUSTAKAAN DAERAH", "Jam Buka 08.00 - 16.00"),
)

NEUTRAL_PEOPLE = ("H. Ahmad Fauzi, S.E.", "Dra. Siti Rahmawati", "Ir. Bambang Susilo", "Budi Santoso")


@dataclass
class Scene:
    """A rendered photo (RGB uint8) and what it shows."""

    image: np.ndarray
    category: str  # "campaign" | "neutral"
    style: str
    lines: list[str] = field(default_factory=list)


def find_fonts() -> list[str]:
    """TrueType fonts from OS packages or matplotlib, bold ones first (banners use bold type)."""
    paths = sorted(glob.glob("/usr/share/fonts/**/*.ttf", recursive=True))
    try:
        import matplotlib

        paths += sorted(glob.glob(str(Path(matplotlib.__file__).parent / "mpl-data/fonts/ttf/*.ttf")))
    except ImportError:
        pass
    usable = [p for p in paths if not any(x in p for x in ("Mono", "ExtraLight", "Symbol", "cmex", "cmsy", "STIX"))]
    return usable


def load_font(fonts: list[str], rng: np.random.Generator, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if fonts:
        bold = [f for f in fonts if "Bold" in f] or fonts
        pool = bold if rng.random() < 0.75 else fonts
        return ImageFont.truetype(str(pool[int(rng.integers(len(pool)))]), size)
    return ImageFont.load_default(size)


# -- text ------------------------------------------------------------------------------------------


def campaign_lines(registry: Registry, rng: np.random.Generator) -> list[str]:
    """Lines of one campaign item: a presidential ticket's or a party's."""
    if registry.tickets and rng.random() < 0.55:
        t = registry.tickets[int(rng.integers(len(registry.tickets)))]
        cands = [c for c in registry.candidates if c.ticket == t.number and c.election == t.election]
        names = [c.name for c in cands]
        pool: list[str] = []
        if len(names) == 2:
            pair = " - ".join(n.split()[0] for n in names)
            pool += [f"{names[0]} - {names[1]}", pair, names[0], names[1]]
        pool += list(t.slogans) + list(t.hashtags)
        if t.nickname:
            pool.append(t.nickname)
        head = [
            "CAPRES & CAWAPRES 2024",
            f"COBLOS NO. {t.number}",
            f"NOMOR URUT {t.number:02d}",
            f"Coblos {t.number:02d}",
            "Relawan Pemenangan",
        ]
        lines = [str(rng.choice(head))]
        k = int(rng.integers(1, 3))
        lines += [str(x) for x in rng.choice(pool, size=min(k, len(pool)), replace=False)]
        if rng.random() < 0.4:
            lines.append(f"Paslon {t.number:02d}")
    else:
        p = registry.parties[int(rng.integers(min(17, len(registry.parties))))]
        names = [p.name, p.abbreviation, f"PARTAI {p.abbreviation.upper()}", *p.aliases]
        lines = [str(rng.choice(names))]
        extras = [
            f"COBLOS NO. {p.number}",
            f"NOMOR URUT {p.number}",
            f"Caleg DPRD Dapil {int(rng.integers(1, 8))}",
            str(rng.choice(NEUTRAL_PEOPLE)),
        ]
        lines += [str(x) for x in rng.choice(extras, size=int(rng.integers(1, 3)), replace=False)]
    rng.shuffle(lines)
    return [_case(s, rng) for s in lines]


def _case(text: str, rng: np.random.Generator) -> str:
    r = rng.random()
    if text.startswith("#") or r < 0.35:
        return text
    return text.upper()


# -- drawing ---------------------------------------------------------------------------------------


def background(rng: np.random.Generator, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A photo-like backdrop: sky/wall gradient, ground, blurred blobs (buildings, trees, crowds)."""
    w, h = size
    top = rng.integers(60, 230, 3)
    bottom = rng.integers(30, 200, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    img = (top * (1 - t) + bottom * t).astype(np.float32) * np.ones((1, w, 1), np.float32)
    img = img.astype(np.uint8)
    for _ in range(int(rng.integers(6, 18))):
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(40, 500)), y + int(rng.integers(40, 400))), color, -1)
        else:
            cv2.ellipse(img, (x, y), (int(rng.integers(20, 200)), int(rng.integers(20, 200))), 0, 0, 360, color, -1)
    img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(1.5, 6)))
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


panel_min_h = [1]  # height of the smallest line of the last panel drawn (to keep text readable)


def _cloth(rng: np.random.Generator) -> tuple[tuple[int, int, int], bool]:
    """A random cloth or paper colour, and whether it is light enough to need dark ink."""
    r, g, b = (int(c) for c in rng.integers(0, 256, 3))
    return (r, g, b), 0.3 * r + 0.59 * g + 0.11 * b > 140


def text_panel(
    lines: list[str], fonts: list[str], rng: np.random.Generator, text_h: int, vertical: bool = False
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """An RGBA panel (banner cloth, poster paper) with ``lines`` drawn centred; returns it and the
    bounding box of the text."""
    bg, dark = _cloth(rng)
    fg_choices = (
        [(10, 10, 10), (120, 0, 0), (0, 40, 120)] if dark else [(255, 255, 255), (255, 230, 0), (250, 250, 250)]
    )
    sizes = [int(text_h * (rng.uniform(1.0, 1.6) if i == 0 else rng.uniform(0.75, 1.1))) for i in range(len(lines))]
    rendered = []
    for line, sz in zip(lines, sizes, strict=True):
        font = load_font(fonts, rng, max(10, sz))
        box = font.getbbox(line)
        rendered.append((line, font, box))
    width = max(b[2] - b[0] for _, _, b in rendered)
    gap = int(text_h * rng.uniform(0.25, 0.6))
    height = sum(b[3] - b[1] for _, _, b in rendered) + gap * (len(lines) - 1)
    mx = int(width * rng.uniform(0.2, 0.35)) + text_h
    my = int(text_h * rng.uniform(0.8, 1.6))
    pw, ph = width + 2 * mx, height + 2 * my
    panel = Image.new("RGBA", (pw, ph), (*bg, 255))
    draw = ImageDraw.Draw(panel)
    if rng.random() < 0.5:  # a stripe or a logo-like disc: campaign material is rarely plain
        c2 = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.rectangle([0, ph - my // 2, pw, ph], fill=(*c2, 255))
        r = my // 2
        draw.ellipse([mx // 4 - r // 2, my // 2, mx // 4 + r, my // 2 + r], fill=(*c2, 255))
    y = my
    for line, font, box in rendered:
        fg = fg_choices[int(rng.integers(len(fg_choices)))]
        x = (pw - (box[2] - box[0])) // 2 - box[0]
        draw.text((x, y - box[1]), line, font=font, fill=(*fg, 255))
        y += box[3] - box[1] + gap
    arr = np.array(panel)
    panel_min_h[0] = min(b[3] - b[1] for _, _, b in rendered)
    if vertical:
        arr = np.ascontiguousarray(np.rot90(arr, k=-1 if rng.random() < 0.7 else 1))
    return arr, (mx, my, mx + width, my + height)


def stacked_panel(word: str, fonts: list[str], rng: np.random.Generator, text_h: int) -> np.ndarray:
    """An RGBA strip (umbul-umbul, vertical shop sign) with ``word``'s letters upright, one under
    another, a blank letter's height between words."""
    bg, dark = _cloth(rng)
    fg = (10, 10, 10) if dark else (255, 255, 255)
    font = load_font(fonts, rng, text_h)
    letters = [font.getbbox(ch) if ch.strip() else None for ch in word]
    width = max(b[2] - b[0] for b in letters if b)
    pitch = int(text_h * rng.uniform(1.1, 1.4))
    pw, ph = int(width + text_h * rng.uniform(0.8, 1.4)), pitch * len(word) + text_h
    panel = Image.new("RGBA", (pw, ph), (*bg, 255))
    draw = ImageDraw.Draw(panel)
    y = text_h // 2
    for ch, box in zip(word, letters, strict=True):
        if box is not None:
            draw.text(((pw - (box[2] - box[0])) // 2 - box[0], y - box[1]), ch, font=font, fill=(*fg, 255))
        y += pitch
    return np.array(panel)


def wave(panel: np.ndarray, rng: np.random.Generator, amp_frac: float) -> np.ndarray:
    """Cloth on a pole or a line: a sine displacement with shading along the folds."""
    h, w = panel.shape[:2]
    amp = amp_frac * h
    lam = rng.uniform(0.5, 1.2) * w
    phase = rng.uniform(0, 2 * math.pi)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    dy = amp * np.sin(2 * math.pi * xs / lam + phase)
    out = cv2.remap(panel, xs, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    shade = 1.0 + 0.18 * np.cos(2 * math.pi * xs / lam + phase)
    out[:, :, :3] = np.clip(out[:, :, :3] * shade[:, :, None], 0, 255).astype(np.uint8)
    return out


def paste(
    scene: np.ndarray, panel: np.ndarray, rng: np.random.Generator, max_rot: float, persp: float, target_w: int
) -> np.ndarray:
    """Warp ``panel`` (RGBA) onto ``scene`` at a random place: rotation, perspective foreshortening.

    Returns the mask of the scene pixels the panel now covers.
    """
    H, W = scene.shape[:2]
    ph, pw = panel.shape[:2]
    s = min(target_w / pw, 0.9 * H / ph, 0.95 * W / pw)
    w, h = pw * s, ph * s
    cx = rng.uniform(w / 2 + 5, max(w / 2 + 6, W - w / 2 - 5))
    cy = rng.uniform(h / 2 + 5, max(h / 2 + 6, H - h / 2 - 5))
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], np.float32)
    # Perspective: one side nearer the camera (taller) than the other.
    k = rng.uniform(-persp, persp)
    corners[:, 1] *= 1 + k * np.sign(corners[:, 0])
    corners[:, 0] *= 1 - abs(k) * 0.5
    a = math.radians(rng.uniform(-max_rot, max_rot))
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], np.float32)
    dst = corners @ rot.T + np.array([cx, cy], np.float32)
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(panel, m, (W, H), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT)
    alpha = warped[:, :, 3:4].astype(np.float32) / 255.0
    scene[:] = (scene * (1 - alpha) + warped[:, :, :3] * alpha).astype(np.uint8)
    return warped[:, :, 3] > 0


def occlude(scene: np.ndarray, rng: np.random.Generator, keep: np.ndarray | None) -> None:
    """Things in front of the banner that leave its text legible: a person-shaped blob (head and
    shoulders) beside the text (never over it, or the words are not "shown"), or a thin pole or
    rope across it, which people and OCR read through."""
    H, W = scene.shape[:2]
    if keep is not None and rng.random() < 0.4:
        _, xs = np.nonzero(keep)
        if len(xs):
            x = int(rng.integers(xs.min(), xs.max() + 1))
            color = tuple(int(c) for c in rng.integers(0, 120, 3))
            cv2.line(scene, (x, 0), (x + int(rng.integers(-60, 60)), H), color, int(rng.integers(4, 9)))
            return
    for _ in range(12):
        layer = np.zeros((H, W), np.uint8)
        x = int(rng.choice([rng.integers(0, W // 6), rng.integers(5 * W // 6, W)]))
        y = int(rng.integers(H // 2, H))
        r = int(rng.integers(40, 110))
        cv2.circle(layer, (x, y - 2 * r), r, 1, -1)
        cv2.ellipse(layer, (x, y + r), (int(2.2 * r), 2 * r), 0, 180, 360, 1, -1)
        cv2.rectangle(layer, (x - int(2.2 * r), y + r), (x + int(2.2 * r), H), 1, -1)
        if keep is None or not (layer.astype(bool) & keep).any():
            color = tuple(int(c) for c in rng.integers(0, 120, 3))
            scene[layer > 0] = color
            return


def shirt(scene: np.ndarray, lines: list[str], fonts: list[str], rng: np.random.Generator) -> None:
    """A T-shirt front with printed text, slightly waved, worn by a blob person."""
    H, W = scene.shape[:2]
    cx = int(rng.uniform(0.3, 0.7) * W)
    top = int(rng.uniform(0.25, 0.4) * H)
    half = int(rng.uniform(0.17, 0.26) * W)
    color = tuple(int(c) for c in rng.integers(0, 256, 3))
    body = np.array(
        [[cx - half, top], [cx + half, top], [cx + int(half * 1.5), top + half // 2], [cx + half, top + half],
         [cx + half, H], [cx - half, H], [cx - half, top + half], [cx - int(half * 1.5), top + half // 2]],
        np.int32,
    )  # fmt: skip
    cv2.fillPoly(scene, [body], color)
    cv2.circle(scene, (cx, top - half // 3), half // 2, (int(rng.integers(90, 200)), 120, 90), -1)
    text_h = int(rng.uniform(0.09, 0.14) * 2 * half)
    panel, (tx0, ty0, tx1, ty1) = text_panel(lines, fonts, rng, text_h)
    pad = text_h // 2
    panel = np.ascontiguousarray(panel[max(0, ty0 - pad) : ty1 + pad, max(0, tx0 - pad) : tx1 + pad])
    # Printed straight on the cloth: the panel background becomes transparent.
    bg = panel[0, 0, :3].astype(int)
    diff = np.abs(panel[:, :, :3].astype(int) - bg).sum(axis=2)
    panel[:, :, 3] = np.where(diff > 60, 255, 0).astype(np.uint8)
    lum = 0.3 * color[0] + 0.59 * color[1] + 0.11 * color[2]
    ink = [(20, 20, 20), (150, 0, 0)] if lum > 130 else [(255, 255, 255), (255, 220, 0)]
    panel[:, :, :3] = ink[int(rng.integers(len(ink)))]
    panel = wave(panel, rng, 0.03)
    ph, pw = panel.shape[:2]
    s = min(rng.uniform(1.3, 1.8) * half / pw, 0.8 * (H - top) / ph)
    s = min(max(s, MIN_TEXT_PX / max(1, panel_min_h[0])), 0.95 * W / pw)  # readable print only
    small = cv2.resize(panel, (max(1, int(pw * s)), max(1, int(ph * s))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    x0, y0 = max(0, min(W - sw, cx - sw // 2)), min(H - 1, top + int(0.35 * half))
    y1, x1 = min(H, y0 + sh), min(W, x0 + sw)
    region = scene[y0:y1, x0:x1]
    a = small[: y1 - y0, : x1 - x0, 3:4].astype(np.float32) / 255.0
    region[:] = (region * (1 - a) + small[: y1 - y0, : x1 - x0, :3] * a).astype(np.uint8)


def degrade(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera and app artefacts: blur, sensor noise, JPEG re-compression."""
    if rng.random() < 0.5:
        scene = cv2.GaussianBlur(scene, (0, 0), float(rng.uniform(0.6, 1.6)))
    if rng.random() < 0.6:
        scene = np.clip(scene + rng.normal(0, rng.uniform(3, 9), scene.shape), 0, 255).astype(np.uint8)
    q = int(rng.integers(55, 92))
    ok, enc = cv2.imencode(".jpg", scene, [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(enc, cv2.IMREAD_UNCHANGED) if ok else scene


STYLES = ("banner", "flag", "angled", "poster", "shirt", "vertical", "upside_down")
# Letters written one under another: generated as a set of their own (``generate(..., styles=...)``),
# so adding the style left the scenes of the original seven, and their measured recall, as they were.
STACKED = ("stacked",)


def render(registry: Registry, fonts: list[str], rng: np.random.Generator, category: str, style: str) -> Scene:
    """One scene of ``category`` drawn in ``style`` (one of STYLES)."""
    if category == "campaign":
        lines = campaign_lines(registry, rng)
    else:
        lines = [_case(s, rng) for s in NEUTRAL_SIGNS[int(rng.integers(len(NEUTRAL_SIGNS)))]]
    scene = background(rng)
    H, W = scene.shape[:2]
    if style == "shirt":
        shirt(scene, lines, fonts, rng)
    elif style == "stacked":
        # One short line, in capitals, letter under letter: what fits on a strip of cloth.
        short = min(lines, key=len)
        lines = [short.upper() if len(short) <= 14 else max(short.split(), key=len).upper()]
        text_h = int(rng.uniform(26, 70))
        panel = stacked_panel(lines[0], fonts, rng, min(text_h, int(0.8 * H / (1.3 * len(lines[0]) + 1))))
        covered = paste(scene, panel, rng, 4.0, 0.06, panel.shape[1])
        text_area = covered
    else:
        vertical = style == "vertical"
        text_h = int(rng.uniform(22, 70)) if style != "poster" else int(rng.uniform(26, 60))
        panel, _ = text_panel(lines, fonts, rng, text_h, vertical=vertical)
        if style == "flag":
            panel = wave(panel, rng, rng.uniform(0.03, 0.07))
        if style == "upside_down":
            panel = np.ascontiguousarray(panel[::-1, ::-1])
        rot = {"angled": 35.0, "flag": 12.0, "vertical": 6.0}.get(style, 8.0)
        persp = {"angled": 0.35, "flag": 0.15}.get(style, 0.08)
        target = rng.uniform(0.35, 0.8) * W if not vertical else rng.uniform(0.12, 0.25) * W
        # Keep the smallest line at least MIN_TEXT_PX tall: smaller is not "text a person can read".
        across = panel.shape[1]
        target = min(0.95 * W, max(target, MIN_TEXT_PX * across / max(1, panel_min_h[0])))
        covered = paste(scene, panel, rng, rot, persp, int(target))
        # The text area: the panel less its margins (eroded by a third of its smaller side).
        ys, xs = np.nonzero(covered)
        grow = max(3, int(0.15 * min(np.ptp(ys) if len(ys) else 1, np.ptp(xs) if len(xs) else 1)))
        text_area = cv2.erode(covered.astype(np.uint8), np.ones((grow, grow), np.uint8)) > 0
    if style != "shirt" and rng.random() < 0.35:
        occlude(scene, rng, text_area)
    return Scene(image=degrade(scene, rng)[:, :, ::-1].copy(), category=category, style=style, lines=lines)


def generate(
    count: int,
    seed: int,
    registry: Registry | None = None,
    neutral_share: float = 0.4,
    styles: tuple[str, ...] = STYLES,
) -> list[Scene]:
    """``count`` scenes, about ``neutral_share`` of them neutral, ``styles`` in rotation."""
    registry = registry or load_registry(None)
    rng = np.random.default_rng(seed)
    fonts = find_fonts()
    scenes: list[Scene] = []
    for i in range(count):
        category = "neutral" if rng.random() < neutral_share else "campaign"
        style = styles[i % len(styles)]
        scenes.append(render(registry, fonts, rng, category, style))
    return scenes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for i, scene in enumerate(generate(args.count, args.seed)):
        name = f"{i:03d}_{scene.category}_{scene.style}.jpg"
        Image.fromarray(scene.image).save(args.out / name, quality=92)
        manifest.append({"file": name, "category": scene.category, "style": scene.style, "lines": scene.lines})
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    print(f"wrote {len(manifest)} scenes to {args.out}")


if __name__ == "__main__":
    main()
