#!/usr/bin/env bash
# Set up if needed, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Everything was just installed and fetched, so no test may skip.
SCREENING_REQUIRE_ALL=1 .venv/bin/python -m pytest -q "$@"
