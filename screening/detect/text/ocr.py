"""Read text lines from a photo with the PP-OCR models that ship in rapidocr (detector, direction
classifier, recogniser), run through the shared :class:`~screening.runtime.sessions.Runtime`.

The stages follow rapidocr / PaddleOCR (DB text detection, perspective crop of each quad, 0/180
direction check, CTC recognition) but are re-implemented here with OpenCV and numpy only, because:

* a photo with no text must cost almost nothing: a cheap low-resolution pass (the *gate*) decides
  whether to look further, and the full-resolution pass only runs on the parts of the photo where the
  gate saw text;
* recognition is batched by aspect ratio and decoded over the Latin characters only: campaign text
  in Indonesia is Latin script, and letting the 18k-symbol Chinese dictionary compete turns stylised
  Latin letters into look-alike CJK characters;
* rapidocr fetches non-default models and dictionaries from a hub; nothing here downloads anything
  (the character list lives in the recogniser's ONNX metadata).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from screening.detect.text import stacked
from screening.runtime.sessions import Runtime

DET_MODEL = "text_detector"
REC_MODEL = "text_recognizer"
DIR_MODEL = "text_direction"

_REC_HEIGHT = 48
_DIR_SHAPE = (48, 192)  # height, width of the direction classifier input


@dataclass(frozen=True)
class OcrConfig:
    """Settings of the OCR pipeline (the ``[detectors.text]`` table of rules.toml supplies them).

    Sides are long sides in pixels of the working copy after resizing for the detector.
    """

    gate_side: int = 480  # low-resolution detection that decides whether a photo has text at all
    gate_thresh: float = 0.15  # gate-map probability that proposes a region for the closer look
    gate_min_pixels: int = 6  # proposed pixels (on the gate map) below which the photo counts as text-free
    det_side: int = 800  # detection resolution for the regions the gate flagged (rules.toml explains)
    det_thresh: float = 0.3  # DB probability that a pixel is text
    min_det_score: float = 0.5  # mean DB probability inside a box to keep it
    unclip_ratio: float = 1.6  # DB box expansion (PaddleOCR default)
    min_text_height: int = 8  # working-copy pixels; smaller lines are unreadable anyway
    min_rec_score: float = 0.5  # mean character confidence of a line to keep it
    max_lines: int = 60  # recognise at most this many boxes (largest first) per photo
    rec_batch: int = 8
    rec_max_ratio: float = 30.0  # width/height cap of one recognised line
    gate_blob_radius: float = 0.08  # gate blobs thicker than this share of the short side are not looked at closer
    direction_tilt: float = 20.0  # degrees; tilted boxes get the 0/180 classifier
    direction_thresh: float = 0.85  # classifier confidence to flip a line
    direction_retry_score: float = 0.9  # level lines reading worse than this get the classifier too
    join_rows: bool = True  # join boxes that continue one another on a row ("PARTAI" + "PKS")
    stacked: bool = True  # read columns of upright letters written one under another
    stacked_min_score: float = 0.8  # a column's reading replaces its boxes' own from this confidence


@dataclass(frozen=True)
class TextLine:
    """One recognised line. ``quad`` is tl, tr, br, bl in working-copy pixels (float32 4x2).

    ``char_pos`` gives, for each character of ``text``, its centre as a fraction (0..1) of the
    line's width along the quad, so a matched word can be boxed on its own.
    """

    quad: np.ndarray
    text: str
    score: float
    det_score: float
    char_pos: tuple[float, ...]

    def sub_quad(self, start: int, end: int) -> np.ndarray:
        """The part of ``quad`` covering characters ``start``..``end-1`` (padded by half a character)."""
        n = len(self.text)
        if n == 0 or (start <= 0 and end >= n):
            return self.quad
        pos = self.char_pos
        half = 0.5 / max(n, 1)
        a = max(0.0, (pos[start] if start < len(pos) else 0.0) - half)
        b = min(1.0, (pos[end - 1] if end - 1 < len(pos) else 1.0) + half)
        tl, tr, br, bl = self.quad
        top_a, top_b = tl + (tr - tl) * a, tl + (tr - tl) * b
        bot_a, bot_b = bl + (br - bl) * a, bl + (br - bl) * b
        return np.array([top_a, top_b, bot_b, bot_a], dtype=np.float32)


@dataclass(frozen=True)
class _Box:
    quad: np.ndarray  # tl, tr, br, bl in working pixels
    score: float


class OcrPipeline:
    """Detect, orient and recognise text lines. Thread-safe: only read-only state and shared sessions."""

    def __init__(self, runtime: Runtime, config: OcrConfig | None = None) -> None:
        self.runtime = runtime
        self.config = config or OcrConfig()
        self._charset: list[str] | None = None
        self._allowed: np.ndarray | None = None

    # -- models ---------------------------------------------------------------------------------
    def warmup(self) -> None:
        """Load the three sessions and the character list now."""
        for name in (DET_MODEL, REC_MODEL, DIR_MODEL):
            self.runtime.onnx(name)
        self._characters()

    def _characters(self) -> tuple[list[str], np.ndarray]:
        if self._charset is None or self._allowed is None:
            session = self.runtime.onnx(REC_MODEL)
            meta = session.get_modelmeta().custom_metadata_map
            # Same layout as rapidocr's CTCLabelDecode: blank first, the dictionary, then space.
            chars = ["", *meta["character"].splitlines(), " "]
            allowed = [0] + [i for i, c in enumerate(chars) if i > 0 and _is_latin(c)]
            # Assign atomically: concurrent first calls compute the same values.
            self._allowed = np.array(allowed, dtype=np.int64)
            self._charset = chars
        return self._charset, self._allowed

    # -- whole pipeline -------------------------------------------------------------------------
    def read(self, bgr: np.ndarray, gray: np.ndarray | None = None) -> list[TextLine]:
        """All text lines readable in ``bgr`` (uint8 HxWx3), largest boxes first. ``gray`` is ``bgr`` in
        grayscale when the caller already has it (``LoadedImage.gray``, shared with other detectors)."""
        boxes = self.detect(bgr, gray)
        if not boxes:
            return []
        return self.recognize(bgr, boxes)

    # -- detection ------------------------------------------------------------------------------
    def detect(self, bgr: np.ndarray, gray: np.ndarray | None = None) -> list[_Box]:
        """Text boxes in working-copy pixels: a cheap gate pass, then full detection where it saw text.
        ``gray``: ``bgr`` in grayscale if already at hand (computed here otherwise)."""
        cfg = self.config
        h, w = bgr.shape[:2]
        gate_scale = min(2.0, cfg.gate_side / max(h, w))
        gate_prob = self._prob_map(bgr, gate_scale)
        # Small text is faint on the low-resolution map: propose regions at a lower threshold than DB's.
        # The detector also answers 0.2-0.5 on flat areas (a blank wall, a white page): text has
        # edges, so only pixels near an edge count.
        if gray is None:
            gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        gate_mask = ((gate_prob > cfg.gate_thresh) & _edges(gray, gate_prob.shape)).astype(np.uint8)
        if int(gate_mask.sum()) < cfg.gate_min_pixels:
            return []
        fine_scale = min(2.0, cfg.det_side / max(h, w))
        limit = 0.5 * min(h, w)  # a "line" thicker than half the photo is a blob, not text
        gate_boxes = self._boxes(gate_prob, gate_scale, (0, 0), limit)
        if fine_scale <= gate_scale * 1.25:
            return gate_boxes
        # The detector also fires on thick blobs (a person, a flat-coloured shape). A closer look
        # there finds the same blob; lines that thick are big enough to take from the gate.
        from_gate: list[_Box] = []
        thick = _thick_blobs(gate_mask, cfg.gate_blob_radius * min(gate_mask.shape))
        if thick is not None:
            from_gate = [b for b in gate_boxes if _centre_in(b.quad * gate_scale, thick)]
            gate_mask[thick] = 0
        if int(gate_mask.sum()) < cfg.gate_min_pixels:
            return from_gate
        regions = _regions(gate_mask, gate_prob.shape, gate_scale, (w, h))
        boxes: list[_Box] = []
        for x0, y0, x1, y1 in regions:
            prob = self._prob_map(bgr[y0:y1, x0:x1], fine_scale)
            boxes.extend(self._boxes(prob, fine_scale, (x0, y0), limit))
        return _dedupe(from_gate + boxes)

    def _prob_map(self, bgr: np.ndarray, scale: float) -> np.ndarray:
        """DB text probability map of ``bgr`` resized by ``scale`` (sides rounded to multiples of 32)."""
        h, w = bgr.shape[:2]
        rh = max(32, round(h * scale / 32) * 32)
        rw = max(32, round(w * scale / 32) * 32)
        resized = cv2.resize(bgr, (rw, rh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        blob = resized.astype(np.float32) * (2.0 / 255.0) - 1.0  # (x/255 - 0.5) / 0.5
        blob = blob.transpose(2, 0, 1)[None]
        out = self.runtime.onnx(DET_MODEL).run(None, {"x": blob})[0]
        prob = out[0, 0]
        # Back to the un-rounded scale so box coordinates map with one factor per axis.
        return cv2.resize(prob, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_LINEAR)

    def _boxes(self, prob: np.ndarray, scale: float, offset: tuple[int, int], limit: float) -> list[_Box]:
        """DB post-processing: contours of the thresholded map -> scored, unclipped rotated boxes.

        ``limit`` (working pixels) is the thickest a line may be: the detector also fires on blobs.
        """
        cfg = self.config
        mask = (prob > cfg.det_thresh).astype(np.uint8)
        mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        out: list[_Box] = []
        for contour in contours[:1000]:
            (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
            if min(rw, rh) < 3:
                continue
            # Score inside the contour, not its rectangle: a curved line on a waving flag fills only
            # part of its rectangle, and would otherwise score like background.
            score = _mean_in_poly(prob, contour.reshape(-1, 2).astype(np.float32))
            if score < cfg.min_det_score:
                continue
            # Unclip as PaddleOCR does: offset the polygon by area * ratio / perimeter.
            d = rw * rh * cfg.unclip_ratio / (2.0 * (rw + rh))
            rect = ((cx, cy), (rw + 2 * d, rh + 2 * d), angle)
            pts = cv2.boxPoints(rect) / scale + np.array(offset, dtype=np.float32)
            quad = _order_quad(pts)
            size = _quad_size(quad)
            if min(size) < cfg.min_text_height or min(size) > limit:
                continue  # too small to read, or a blob the detector fires on (a person, a sky)
            out.append(_Box(quad.astype(np.float32), float(score)))
        return out

    # -- recognition ----------------------------------------------------------------------------
    def recognize(self, bgr: np.ndarray, boxes: list[_Box]) -> list[TextLine]:
        """Crop, orient and read ``boxes``; keep lines above ``min_rec_score``."""
        cfg = self.config
        boxes = sorted(boxes, key=lambda b: -_quad_area(b.quad))[: cfg.max_lines]
        crops: list[np.ndarray] = []
        quads: list[np.ndarray] = []
        tilted: list[bool] = []
        for box in boxes:
            crop, quad, turned = _crop(bgr, box.quad)
            crops.append(crop)
            quads.append(quad)
            tilted.append(turned or _tilt(quad) > cfg.direction_tilt)
        # Tilted and vertical lines may be upside down: ask the direction classifier about those.
        check = [i for i, t in enumerate(tilted) if t]
        if check:
            flips = self._upside_down([crops[i] for i in check])
            for i, flip in zip(check, flips, strict=True):
                if flip:
                    crops[i] = cv2.rotate(crops[i], cv2.ROTATE_180)
                    quads[i] = quads[i][[2, 3, 0, 1]]
        results = self._read_crops(crops)
        # A tall box is a vertical line, or one tall character ("1", "I"): read it upright too and
        # keep whichever reading is more confident.
        turned = [i for i, box in enumerate(boxes) if _is_tall(box.quad)]
        if turned:
            upright = [_crop(bgr, boxes[i].quad, allow_turn=False)[0] for i in turned]
            for i, res in zip(turned, self._read_crops(upright), strict=True):
                if res[1] > results[i][1]:
                    results[i] = res
                    quads[i] = boxes[i].quad
        # An upright-looking line that reads badly may be an upside-down sign: one more try.
        retry = [i for i, (_, s, _) in enumerate(results) if s < cfg.direction_retry_score and not tilted[i]]
        if retry:
            flips = self._upside_down([crops[i] for i in retry])
            again = [i for i, f in zip(retry, flips, strict=True) if f]
            if again:
                flipped = [cv2.rotate(crops[i], cv2.ROTATE_180) for i in again]
                for i, res in zip(again, self._read_crops(flipped), strict=True):
                    if res[1] > results[i][1]:
                        results[i] = res
                        quads[i] = quads[i][[2, 3, 0, 1]]
        if cfg.stacked:
            self._read_stacked(bgr, boxes, quads, results)
        lines: list[TextLine] = []
        for box, quad, (text, score, pos) in zip(boxes, quads, results, strict=True):
            text_stripped = text.strip()
            if not text_stripped or score < cfg.min_rec_score:
                continue
            lead = len(text) - len(text.lstrip())
            pos = pos[lead : lead + len(text_stripped)]
            lines.append(TextLine(quad=quad, text=text_stripped, score=score, det_score=box.score, char_pos=pos))
        return join_rows(lines) if cfg.join_rows else lines

    def _read_stacked(
        self,
        bgr: np.ndarray,
        boxes: list[_Box],
        quads: list[np.ndarray],
        results: list[tuple[str, float, tuple[float, ...]]],
    ) -> None:
        """Read columns of stacked letters (see :mod:`stacked`) laid flat; where a column reads
        confidently its first box takes the column's reading and quad and the others are emptied."""
        columns = stacked.find_columns([b.quad for b in boxes])
        flats = [(col, flat) for col in columns if (flat := stacked.lay_flat(bgr, col, _REC_HEIGHT)) is not None]
        if not flats:
            return
        readings = self._read_crops([flat.image for _, flat in flats])
        for (col, flat), (text, score, pos) in zip(flats, readings, strict=True):
            if len(text.strip()) < 2 or score < self.config.stacked_min_score:
                continue
            first = col.members[0]
            # One tall box: its own (turned) reading may be better, as for a rotated line, unless both
            # say the same letters and the column adds where its words break. Several boxes: the
            # detector cut the column, and their own readings are fragments.
            own_text, own_score, _ = results[first]
            if len(col.members) == 1 and score <= own_score and _letters(text) != _letters(own_text):
                continue
            words, where = flat.words(text, pos)
            results[first] = (words, score, where)
            quads[first] = stacked.column_quad(col)
            for k in col.members[1:]:
                results[k] = ("", 0.0, ())

    def _upside_down(self, crops: list[np.ndarray]) -> list[bool]:
        """Direction classifier: True where a crop reads upside down with enough confidence."""
        hh, ww = _DIR_SHAPE
        batch = np.zeros((len(crops), 3, hh, ww), dtype=np.float32)
        for k, crop in enumerate(crops):
            batch[k] = _norm_line(crop, hh, ww)
        probs = self.runtime.onnx(DIR_MODEL).run(None, {"x": batch})[0]
        return [bool(p[1] > self.config.direction_thresh) for p in probs]

    def _read_crops(self, crops: list[np.ndarray]) -> list[tuple[str, float, tuple[float, ...]]]:
        """CTC recognition, batched by aspect ratio so little width is wasted on padding."""
        cfg = self.config
        chars, allowed = self._characters()
        session = self.runtime.onnx(REC_MODEL)
        ratios = [min(cfg.rec_max_ratio, c.shape[1] / max(1, c.shape[0])) for c in crops]
        order = np.argsort(ratios)
        results: list[tuple[str, float, tuple[float, ...]]] = [("", 0.0, ())] * len(crops)
        for start in range(0, len(crops), cfg.rec_batch):
            idx = order[start : start + cfg.rec_batch]
            max_ratio = max(320 / _REC_HEIGHT, max(ratios[i] for i in idx))
            width = math.ceil(_REC_HEIGHT * max_ratio / 8.0) * 8
            batch = np.zeros((len(idx), 3, _REC_HEIGHT, width), dtype=np.float32)
            used: list[int] = []
            for k, i in enumerate(idx):
                batch[k] = _norm_line(crops[i], _REC_HEIGHT, width)
                used.append(min(width, math.ceil(_REC_HEIGHT * ratios[i])))
            preds = session.run(None, {"x": batch})[0]  # [B, T, C] softmax
            sub = preds[:, :, allowed]
            best = sub.argmax(axis=2)
            prob = np.take_along_axis(sub, best[:, :, None], axis=2)[:, :, 0]
            ids = allowed[best]
            steps = preds.shape[1]
            for k, i in enumerate(idx):
                results[i] = _ctc_decode(ids[k], prob[k], chars, steps * used[k] / width)
        return results


# -- helpers ------------------------------------------------------------------------------------


def _letters(text: str) -> str:
    """Letters and digits only, upper case: two readings that agree on these read the same."""
    return "".join(c for c in text.upper() if c.isalnum())


def _is_latin(c: str) -> bool:
    """Characters campaign text can contain: printable ASCII and accented Latin letters."""
    if len(c) != 1:
        return False
    o = ord(c)
    return 32 <= o < 127 or (0xC0 <= o <= 0x24F and c.isalpha())


def _ctc_decode(
    ids: np.ndarray, prob: np.ndarray, chars: list[str], used_steps: float
) -> tuple[str, float, tuple[float, ...]]:
    keep = np.ones(len(ids), dtype=bool)
    keep[1:] = ids[1:] != ids[:-1]
    keep &= ids != 0
    where = np.nonzero(keep)[0]
    if len(where) == 0:
        return "", 0.0, ()
    text = "".join(chars[int(i)] for i in ids[where])
    score = float(prob[where].mean())
    span = max(used_steps, 1.0)
    pos = tuple(float(min(1.0, (t + 0.5) / span)) for t in where)
    return text, score, pos


def _norm_line(crop: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a line crop to ``height`` keeping its ratio, scale to [-1, 1], pad right with zeros."""
    h, w = crop.shape[:2]
    rw = max(1, min(width, math.ceil(height * w / max(1, h))))
    img = cv2.resize(crop, (rw, height), interpolation=cv2.INTER_AREA if h > height else cv2.INTER_LINEAR)
    out = np.zeros((3, height, width), dtype=np.float32)
    out[:, :, :rw] = img.astype(np.float32).transpose(2, 0, 1) * (2.0 / 255.0) - 1.0
    return out


def _order_quad(pts: np.ndarray) -> np.ndarray:
    """Order 4 points as tl, tr, br, bl (PaddleOCR's x-then-y rule)."""
    xs = pts[np.argsort(pts[:, 0], kind="stable")]
    left = xs[:2][np.argsort(xs[:2, 1], kind="stable")]
    right = xs[2:][np.argsort(xs[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def _quad_size(quad: np.ndarray) -> tuple[float, float]:
    w = max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[3] - quad[2]))
    h = max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2]))
    return float(w), float(h)


def _quad_area(quad: np.ndarray) -> float:
    return float(abs(cv2.contourArea(quad.astype(np.float32))))


def _tilt(quad: np.ndarray) -> float:
    """Angle in degrees of the quad's top edge from horizontal."""
    dx, dy = quad[1] - quad[0]
    return abs(math.degrees(math.atan2(float(dy), float(dx))))


def _thick_blobs(mask: np.ndarray, radius: float) -> np.ndarray | None:
    """Pixels of the connected parts of ``mask`` that contain a disc wider than ``radius``."""
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    if float(dist.max()) <= radius:
        return None
    _, labels = cv2.connectedComponents(mask, connectivity=8)
    thick_ids = np.unique(labels[dist > radius])
    thick_ids = thick_ids[thick_ids > 0]
    return np.isin(labels, thick_ids)


def _centre_in(quad: np.ndarray, region: np.ndarray) -> bool:
    cx, cy = quad.mean(axis=0)
    y, x = int(np.clip(cy, 0, region.shape[0] - 1)), int(np.clip(cx, 0, region.shape[1] - 1))
    return bool(region[y, x])


def _edges(gray: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Where the grayscale image has edges, at the gate map's resolution (dilated a little)."""
    small = cv2.resize(gray, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    lap = np.abs(cv2.Laplacian(small, cv2.CV_16S, ksize=3))
    return cv2.dilate((lap > 12).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def _is_tall(quad: np.ndarray) -> bool:
    w, h = _quad_size(quad)
    return h >= 1.5 * w


def _crop(bgr: np.ndarray, quad: np.ndarray, allow_turn: bool = True) -> tuple[np.ndarray, np.ndarray, bool]:
    """Perspective crop of ``quad``; tall crops (vertical lines) are turned to lie horizontal.

    Returns the crop, the quad re-ordered so its first edge runs along the text, and whether the
    crop was turned (then its direction is unknown and the classifier decides).
    """
    w, h = _quad_size(quad)
    cw, ch = max(1, round(w)), max(1, round(h))
    dst = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    crop = cv2.warpPerspective(bgr, m, (cw, ch), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    if allow_turn and ch >= 1.5 * cw:
        # A vertical line: rotate it counter-clockwise (text running top-to-bottom becomes left-to-right);
        # the quad's corners rotate with it so boxes and sub-boxes stay right.
        return cv2.rotate(crop, cv2.ROTATE_90_COUNTERCLOCKWISE), quad[[1, 2, 3, 0]], True
    return crop, quad, False


def _mean_in_poly(prob: np.ndarray, pts: np.ndarray) -> float:
    h, w = prob.shape
    x0 = int(np.clip(np.floor(pts[:, 0].min()), 0, w - 1))
    x1 = int(np.clip(np.ceil(pts[:, 0].max()), 0, w - 1))
    y0 = int(np.clip(np.floor(pts[:, 1].min()), 0, h - 1))
    y1 = int(np.clip(np.ceil(pts[:, 1].max()), 0, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    cv2.fillPoly(mask, [(pts - np.array([x0, y0], dtype=np.float32)).astype(np.int32)], 1)
    return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


def _regions(
    mask: np.ndarray, shape: tuple[int, ...], scale: float, size: tuple[int, int]
) -> list[tuple[int, int, int, int]]:
    """Working-copy bands around the gate's text pixels: full width (the gate often sees only part
    of a faint line, and a line continues sideways), padded up and down by at least the blob's own
    height (the unseen end of a tilted line lies higher or lower), merged. Blobs much taller than wide
    (vertical banners) get a full-height column instead.

    When they would cover most of the photo one full-frame region is cheaper than several bands.
    """
    w, h = size
    grown = cv2.dilate(mask, np.ones((5, 5), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    bands: list[list[int]] = []
    for k in range(1, n):
        x, y, rw, rh, _ = stats[k]
        if rh > 2 * rw:  # a vertical line (not just a tall blob): a full-height column instead
            pad = max(80, int(1.0 * rw / scale))
            bands.append([max(0, int(x / scale) - pad), 0, min(w, math.ceil((x + rw) / scale) + pad), h])
            continue
        pad = max(80, int(1.0 * rh / scale))
        y0 = max(0, int(y / scale) - pad)
        y1 = min(h, math.ceil((y + rh) / scale) + pad)
        bands.append([0, y0, w, y1])
    merged = _merge_rects(bands)
    if sum((r[2] - r[0]) * (r[3] - r[1]) for r in merged) > 0.55 * w * h:
        return [(0, 0, w, h)]
    return [(r[0], r[1], r[2], r[3]) for r in merged]


def _merge_rects(rects: list[list[int]]) -> list[list[int]]:
    """Union overlapping rectangles until none overlap (so no text is detected twice or cut)."""
    rects = [r[:] for r in rects]
    changed = True
    while changed:
        changed = False
        out: list[list[int]] = []
        for r in rects:
            for o in out:
                if r[0] < o[2] and o[0] < r[2] and r[1] < o[3] and o[1] < r[3]:
                    o[0], o[1] = min(o[0], r[0]), min(o[1], r[1])
                    o[2], o[3] = max(o[2], r[2]), max(o[3], r[3])
                    changed = True
                    break
            else:
                out.append(r)
        rects = out
    return rects


def join_rows(lines: list[TextLine]) -> list[TextLine]:
    """Join lines that continue one another along a row into one line.

    DB splits a banner line at wide word gaps or at a fold of the cloth ("PARTAI" | "PKS"); the
    lexicon matches phrases within a line, so the pieces are put back together, left to right.
    """
    n = len(lines)
    if n < 2:
        return lines
    nxt: dict[int, int] = {}
    prev: dict[int, int] = {}
    cands: list[tuple[float, int, int]] = []
    for i, a in enumerate(lines):
        _wa, ha = _quad_size(a.quad)
        u = a.quad[1] - a.quad[0]
        u = u / max(1e-6, float(np.linalg.norm(u)))
        v = np.array([-u[1], u[0]], dtype=np.float32)
        ca = a.quad.mean(axis=0)
        a_right = float(max(a.quad[1] @ u, a.quad[2] @ u))
        for j, b in enumerate(lines):
            if i == j:
                continue
            _, hb = _quad_size(b.quad)
            h = 0.5 * (ha + hb)
            if not 0.6 <= hb / max(ha, 1e-6) <= 1.6 or abs(_tilt(a.quad) - _tilt(b.quad)) > 12:
                continue
            if abs(float((b.quad.mean(axis=0) - ca) @ v)) > 0.45 * h:
                continue
            gap = float(min(b.quad[0] @ u, b.quad[3] @ u)) - a_right
            if -0.5 * h <= gap <= 1.2 * h:
                cands.append((gap / h, i, j))
    for _, i, j in sorted(cands):
        if i not in nxt and j not in prev and not _reaches(nxt, j, i):
            nxt[i], prev[j] = j, i
    if not nxt:
        return lines
    out: list[TextLine] = []
    for start in range(n):
        if start in prev:
            continue
        chain = [start]
        while chain[-1] in nxt:
            chain.append(nxt[chain[-1]])
        out.append(lines[start] if len(chain) == 1 else _joined([lines[k] for k in chain]))
    return out


def _reaches(nxt: dict[int, int], a: int, b: int) -> bool:
    while a in nxt:
        a = nxt[a]
        if a == b:
            return True
    return a == b


def _joined(parts: list[TextLine]) -> TextLine:
    first, last = parts[0], parts[-1]
    quad = np.array([first.quad[0], last.quad[1], last.quad[2], first.quad[3]], dtype=np.float32)
    top = quad[1] - quad[0]
    length = max(1e-6, float(np.linalg.norm(top)))
    u = top / length
    text_parts: list[str] = []
    pos: list[float] = []
    total = 0.0
    weight = 0
    for k, p in enumerate(parts):
        if k:
            text_parts.append(" ")
            # The space sits halfway between the pieces.
            pos.append(pos[-1] if pos else 0.0)
        text_parts.append(p.text)
        for f in p.char_pos:
            point = p.quad[0] + (p.quad[1] - p.quad[0]) * f
            pos.append(float(np.clip(((point - quad[0]) @ u) / length, 0.0, 1.0)))
        total += p.score * len(p.text)
        weight += len(p.text)
    text = "".join(text_parts)
    score = total / max(1, weight)
    det = min(p.det_score for p in parts)
    return TextLine(quad=quad, text=text, score=score, det_score=det, char_pos=tuple(pos[: len(text)]))


def _dedupe(boxes: list[_Box]) -> list[_Box]:
    """Drop boxes whose centre lies inside a larger kept box with most of their area (region seams)."""
    boxes = sorted(boxes, key=lambda b: -_quad_area(b.quad))
    kept: list[_Box] = []
    for b in boxes:
        c = b.quad.mean(axis=0)
        if any(cv2.pointPolygonTest(k.quad.reshape(-1, 1, 2), (float(c[0]), float(c[1])), False) > 0 for k in kept):
            continue
        kept.append(b)
    return kept
