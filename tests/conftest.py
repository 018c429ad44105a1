"""Shared fixtures: model availability, and test photos taken from a registry package.

The face photos come from the source distribution of ``face_recognition==1.3.0`` on PyPI (MIT, the
project's own test images), fetched once with pip into a cache and pinned by sha256. Nothing from
../shared/devset is used in tests.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from screening.errors import ModelError
from screening.runtime.sessions import Runtime

SDIST = "face_recognition==1.3.0"
SDIST_SHA256 = "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
PHOTOS = {
    "obama.jpg": "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
    "obama2.jpg": "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6",
    "biden.jpg": "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c",
}


def _cache_dir() -> Path:
    """``$SCREENING_TESTDATA``, else ``~/.cache/screening/testdata``."""
    if os.environ.get("SCREENING_TESTDATA"):
        return Path(os.environ["SCREENING_TESTDATA"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "screening" / "testdata"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fetch_photos(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / "download"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d", str(tmp), SDIST],
        check=True,
        capture_output=True,
    )
    archive = next(tmp.glob("face_recognition-1.3.0.tar.gz"))
    if _sha(archive) != SDIST_SHA256:
        raise RuntimeError(f"{archive.name} does not match its pinned sha256")
    with tarfile.open(archive) as tar:
        for name in PHOTOS:
            member = tar.getmember(f"face_recognition-1.3.0/tests/test_images/{name}")
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            (dest / name).write_bytes(data)
    archive.unlink()
    tmp.rmdir()


@pytest.fixture(scope="session")
def face_photos() -> dict[str, Path]:
    """obama.jpg, obama2.jpg (same person, other photo) and biden.jpg, verified by sha256."""
    dest = _cache_dir() / "face_recognition-1.3.0"
    if not all((dest / n).is_file() and _sha(dest / n) == s for n, s in PHOTOS.items()):
        try:
            _fetch_photos(dest)
        except (subprocess.CalledProcessError, StopIteration, OSError) as exc:
            pytest.skip(f"cannot fetch {SDIST} from the package index: {exc}")
    for name, sha in PHOTOS.items():
        assert _sha(dest / name) == sha, f"{name} changed"
    return {n: dest / n for n in PHOTOS}


@pytest.fixture(scope="session")
def runtime() -> Runtime:
    return Runtime()


def _models_present(names: tuple[str, ...]) -> bool:
    rt = Runtime()
    try:
        for n in names:
            rt.path(n)
    except ModelError:
        return False
    return True


@pytest.fixture(scope="session")
def face_models(runtime: Runtime) -> Runtime:
    """The runtime, if the face models are fetched; otherwise the test is skipped."""
    if not _models_present(("face_detector", "face_embedder")):
        pytest.skip("face models missing: run 'screening models fetch'")
    return runtime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """With SCREENING_REQUIRE_ALL=1 (scripts/test.sh, after setup fetched models and test photos) a
    skipped test is a failure: a missing model or an unreachable index must not pass as green."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("SCREENING_REQUIRE_ALL") == "1":
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped, but SCREENING_REQUIRE_ALL=1 requires every test to run: {reason}"
