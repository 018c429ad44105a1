"""The progress total of a batch run: counted without reading file contents a second time, estimated
for compressed tars from the walk's own progress, exact once the walk is through them."""

from __future__ import annotations

import io
import os
import random
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest
from batch_helpers import jpeg

from screening.batch import BatchOptions
from screening.batch.count import EntryTotal, count_sources
from screening.batch.run import BatchRun
from screening.batch.sources import iter_sources

_IO = Path("/proc/self/io")
needs_proc_io = pytest.mark.skipif(not _IO.exists(), reason="bytes read are measured with /proc/self/io (Linux)")


def _bytes_read() -> int:
    """Bytes this process (all its threads) has read through read() calls so far."""
    for line in _IO.read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def _noise_tar(path: Path, members: int, size: int, mode: str, seed: int = 0) -> int:
    """A tar of incompressible non-image members (compressed size ~ data size); returns its size on disk."""
    rng = random.Random(seed)
    with tarfile.open(path, mode, **({"compresslevel": 1} if mode == "w:gz" else {})) as t:
        d = tarfile.TarInfo("d")
        d.type = tarfile.DIRTYPE
        t.addfile(d)  # a folder member: no entry
        for i in range(members):
            data = rng.randbytes(size)
            ti = tarfile.TarInfo(f"d/{i:03d}.bin")
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return path.stat().st_size


@pytest.fixture()
def sources(tmp_path: Path) -> dict[str, Path]:
    """A folder with photos, a text file, a zip, a big plain tar, a symlink leaving it; a tar.gz."""
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    for i in range(3):
        (src / "a" / f"{i}.jpg").write_bytes(jpeg(i))
    (src / "notes.txt").write_text("hello")
    (src / "photo_named.dat").write_bytes(jpeg(5))
    with zipfile.ZipFile(src / "export.zip", "w") as z:
        z.writestr("x/1.jpg", jpeg(1))
        z.writestr("x/2.txt", "two")
        z.writestr("x/", "")  # a folder entry: not counted
    _noise_tar(src / "big.tar", 12, 256 * 1024, "w")  # 3 MB of member data that must not be read
    (tmp_path / "outside.jpg").write_bytes(jpeg(9))
    os.symlink(tmp_path / "outside.jpg", src / "escape.jpg")
    gz = tmp_path / "export.tar.gz"
    _noise_tar(gz, 10, 64 * 1024, "w:gz")
    return {"folder": src, "gz": gz}


@needs_proc_io
def test_the_count_matches_the_walk_without_reading_contents(sources: dict[str, Path]) -> None:
    args = [str(sources["folder"]), str(sources["gz"])]
    walked = list(iter_sources(args))
    in_gz = sum(1 for e in walked if e.key.source == str(sources["gz"]))
    before = _bytes_read()
    count = count_sources(args)
    read = _bytes_read() - before
    assert count.exact == len(walked) - in_gz == 3 + 2 + 2 + 12 + 1  # folder files, zip, tar, the symlink
    assert count.compressed == {os.path.realpath(sources["gz"]): sources["gz"].stat().st_size}
    # Headers, zip directory and a few first bytes only: not the 3 MB plain tar nor the 640 kB tar.gz.
    assert read < 64 * 1024


def test_a_stopped_count_returns_at_once(sources: dict[str, Path]) -> None:
    stop = threading.Event()
    stop.set()
    assert count_sources([str(sources["folder"])], stop=stop).exact == 0


def test_compressed_tars_are_estimated_from_the_walk_and_exact_once_walked(tmp_path: Path) -> None:
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    _noise_tar(a, 20, 256 * 1024, "w:gz", seed=1)
    _noise_tar(b, 40, 256 * 1024, "w:gz", seed=2)
    args = [str(a), str(b)]
    total = EntryTotal()
    assert total.value() == (None, False)  # not counted yet
    total.counted(count_sources(args))
    assert total.value() == (None, False)  # counted, but nothing walked to estimate the archives from
    seen: list[tuple[int | None, bool]] = []
    for entry in iter_sources(args):
        assert entry.cursor is not None
        total.walked(entry.cursor)
        seen.append(total.value())
    assert total.value() == (60, False)  # both walked: exact
    # At the first member nothing is read yet; from the second on, an estimate of the 60 entries (members
    # per compressed byte so far, applied to both archives) within 10%.
    assert seen[0] == (None, False)
    assert all(est and n is not None and abs(n - 60) <= 6 for n, est in seen[1:])


@needs_proc_io
def test_a_run_decompresses_a_tar_gz_once_and_ends_with_the_exact_total(tmp_path: Path) -> None:
    gz = tmp_path / "export.tar.gz"
    size = _noise_tar(gz, 16, 512 * 1024, "w:gz")  # 8 MB of non-images: walked and skipped, no workers
    opts = BatchOptions(sources=[str(gz)], store=tmp_path / "r.sqlite", detectors=(), quiet=False)
    threads_before = set(threading.enumerate())
    before = _bytes_read()
    batch = BatchRun(opts, stream=io.StringIO())
    summary = batch.run()
    for t in set(threading.enumerate()) - threads_before:  # whatever the run left counting in the background
        t.join(timeout=30)
    read = _bytes_read() - before
    assert summary.counts.skipped == 16
    assert size <= read < 1.5 * size  # the archive was read once, not once more for the progress total
    assert batch.progress.total == 16 and not batch.progress.estimated
