#!/usr/bin/env bash
# Set up, then show the main job on a working default: a registry seeded with the Pemilu 2024 facts,
# one stand-in "candidate" enrolled from the MIT-licensed sample photos in face_recognition 1.3.0's
# source package on PyPI, one stand-in party logo drawn in code, and `screening check` on a photo of
# the candidate (warn), of someone else (allow) and of them holding a flag with the logo (warn).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

OUT=out/demo
SAMPLES="$OUT/samples"
mkdir -p "$SAMPLES"
if [ ! -f "$SAMPLES/obama.jpg" ]; then
    .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
        -d "$SAMPLES" face_recognition==1.3.0
    tar -xzf "$SAMPLES/face_recognition-1.3.0.tar.gz" -C "$SAMPLES" --strip-components=3 \
        face_recognition-1.3.0/tests/test_images/obama.jpg \
        face_recognition-1.3.0/tests/test_images/obama2.jpg \
        face_recognition-1.3.0/tests/test_images/biden.jpg
    rm -f "$SAMPLES/face_recognition-1.3.0.tar.gz"
fi
if [ ! -f "$OUT/registry/registry.toml" ]; then
    .venv/bin/screening registry init "$OUT/registry"
    .venv/bin/screening registry add-candidate "$OUT/registry" demo-candidate "$SAMPLES/obama.jpg" \
        --name "Demo Candidate (sample photo)" --office dpr --election pileg2024 --party pkb
fi
if [ ! -f "$OUT/logo/flag.jpg" ]; then
    .venv/bin/python scripts/demo_logo.py "$SAMPLES/biden.jpg" "$OUT/logo"
fi
# Real party logos are the operator's to enrol; this one is drawn in code and stands in for PKB's.
# Enrolling is idempotent (the image is stored under its content hash).
.venv/bin/screening registry add-logo "$OUT/registry" pkb "$OUT/logo/logo.png" >/dev/null

echo
echo "== screening check (a photo with the enrolled candidate, posted during the 2024 campaign)"
.venv/bin/screening check "$SAMPLES/obama2.jpg" --registry "$OUT/registry" --date 2024-01-10 \
    --annotate "$OUT/annotated.jpg" && rc=0 || rc=$?
echo "exit code $rc (0 allow, 1 warn, 2 error); annotated copy: $OUT/annotated.jpg"
echo
echo "== screening check (someone who is not enrolled)"
.venv/bin/screening check "$SAMPLES/biden.jpg" --registry "$OUT/registry" --date 2024-01-10 && rc=0 || rc=$?
echo "exit code $rc"
echo
echo "== screening check (the same person with a flag bearing the enrolled stand-in party logo)"
.venv/bin/screening check "$OUT/logo/flag.jpg" --registry "$OUT/registry" --date 2024-01-10 \
    --annotate "$OUT/annotated_flag.jpg" && rc=0 || rc=$?
echo "exit code $rc; annotated copy: $OUT/annotated_flag.jpg"
