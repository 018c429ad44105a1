"""Demo material for the logo detector (used by demo.sh): a stand-in party logo drawn in code, saved as
a clean reference file, and a copy of a sample photo with that logo printed on a waving flag.

Real party logos are the operator's to enrol (KPU publishes them); none ships with the tool, so the
demo draws one the way the synthetic evaluation does (``gen_logo_scenes.make_logo``).

    python scripts/demo_logo.py PHOTO OUT_DIR    # writes OUT_DIR/logo.png and OUT_DIR/flag.jpg
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_logo_scenes import make_logo, paste, reference_image

from screening.image import load_image


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    photo, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    logo = make_logo("demo-party", text="DEMO")
    cv2.imwrite(str(out / "logo.png"), reference_image(logo))
    # The photo as the screener sees it (EXIF turn applied) with a flag held in front, clear of the
    # upper part where a portrait has its face.
    scene = np.ascontiguousarray(load_image(photo).bgr)
    h, w = scene.shape[:2]
    rng = np.random.default_rng(3)
    side = 0.3 * min(h, w)
    box = paste(scene, logo, rng, side, bend=0.02, tilt=0.04, carrier=(40, 40, 200), avoid=[(0, 0, w, 0.45 * h)])
    if box is None:
        print("the photo is too small for the demo flag", file=sys.stderr)
        return 1
    cv2.imwrite(str(out / "flag.jpg"), scene, [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(f"wrote {out / 'logo.png'} and {out / 'flag.jpg'} (flag at x={box[0]:.0f}, y={box[1]:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
