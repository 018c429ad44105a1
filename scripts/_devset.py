"""Shared helpers for scripts that read ../shared/devset (never copied into the repository)."""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DEVSET = Path(__file__).resolve().parents[2] / "shared" / "devset"


@dataclass(frozen=True)
class DevFile:
    path: Path
    rel: str
    category: str
    label: str


def manifest(devset: Path) -> list[DevFile]:
    """Rows of MANIFEST.tsv that exist on disk; exits cleanly when the devset is absent."""
    tsv = devset / "MANIFEST.tsv"
    if not tsv.is_file():
        print(f"devset not found at {devset}; nothing to evaluate (pass --devset PATH)")
        sys.exit(0)
    out = []
    with tsv.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            p = devset / row["path"]
            if p.is_file():
                out.append(DevFile(p, row["path"], row["category"], row["label"]))
    return out
