"""Batch screening: sources, safety, dedup, resume, crash recovery. No models needed (no detectors run:
photos are still decoded, hashed, stored and given a verdict by the rules)."""

from __future__ import annotations

import io
import os
import sqlite3
import tarfile
import zipfile
from pathlib import Path

import pytest
from batch_helpers import jpeg, photo, png, rows, run

from screening.batch.sources import iter_sources, unsafe_member_name
from screening.batch.worker import CRASH_ENV


def _tar_add(t: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))


def _mark_encrypted(zpath: Path, name: str) -> None:
    """Set the 'encrypted' flag of a member in its local header and central directory entry (zipfile
    cannot write encrypted members; the screener must refuse them before reading a byte)."""
    data = bytearray(zpath.read_bytes())
    with zipfile.ZipFile(zpath) as z:
        local = z.getinfo(name).header_offset
    data[local + 6] |= 0x1
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        n = int.from_bytes(data[central + 28 : central + 30], "little")
        if data[central + 46 : central + 46 + n] == name.encode():
            data[central + 8] |= 0x1
            break
        central = data.find(b"PK\x01\x02", central + 4)
    zpath.write_bytes(bytes(data))


@pytest.fixture()
def archive(tmp_path: Path) -> dict[str, Path]:
    """A folder, a zip and a tar.gz with photos, a duplicate, a non-image and a truncated JPEG."""
    src = tmp_path / "photos"
    (src / "day1").mkdir(parents=True)
    for i in range(3):
        (src / "day1" / f"IMG_{i}.jpg").write_bytes(jpeg(i))
    (src / "day1" / "logo.png").write_bytes(png(1))
    (src / "copy_of_IMG_0.JPG").write_bytes(jpeg(0))  # same bytes as day1/IMG_0.jpg
    (src / "notes.jpg").write_text("not a photo, whatever the extension says")
    (src / "photo_named.txt").write_bytes(jpeg(7))  # a photo, whatever the extension says
    (src / "broken.jpg").write_bytes(jpeg(9)[:1500])
    zpath = tmp_path / "export.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for i in range(10, 13):
            z.writestr(f"event/{i}.jpg", jpeg(i))
        z.writestr("event/readme.txt", "hello")
        z.writestr("event/dup.jpg", jpeg(1))  # same bytes as day1/IMG_1.jpg
    tpath = tmp_path / "export.tar.gz"
    with tarfile.open(tpath, "w:gz") as t:
        for i in range(20, 22):
            _tar_add(t, f"t/{i}.jpg", jpeg(i))
        _tar_add(t, "t/corrupt.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200)
    return {"folder": src, "zip": zpath, "tar": tpath}


def test_folder_zip_and_tar_are_screened_with_non_images_skipped_and_errors_recorded(
    tmp_path: Path, archive: dict[str, Path]
) -> None:
    store = tmp_path / "r.sqlite"
    s = run([archive["folder"], archive["zip"], archive["tar"]], store, workers=2)
    c = s.counts
    # 8 files in the folder (1 non-image), 4 photos + 1 text in the zip, 3 in the tar.
    assert (c.allow, c.error, c.skipped) == (12, 2, 2)
    assert photo(store, "photo_named.txt")["verdict"] == "allow"
    assert photo(store, "broken.jpg")["error_code"] == "corrupt_image"
    assert photo(store, "t/corrupt.jpg")["verdict"] == "error"
    db = sqlite3.connect(store)
    skipped = {r[0] for r in db.execute("SELECT member FROM skipped")}
    assert skipped == {"notes.jpg", "event/readme.txt"}
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_identical_files_are_screened_once_and_both_rows_point_at_the_result(
    tmp_path: Path, archive: dict[str, Path]
) -> None:
    store = tmp_path / "r.sqlite"
    s = run([archive["folder"], archive["zip"]], store)
    a, b = photo(store, "day1/IMG_0.jpg"), photo(store, "copy_of_IMG_0.JPG")
    assert a["sha256"] == b["sha256"] and a["verdict_json"] == b["verdict_json"]
    assert photo(store, "event/dup.jpg")["sha256"] == photo(store, "day1/IMG_1.jpg")["sha256"]
    db = sqlite3.connect(store)
    n_photos = db.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
    n_results = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert n_photos - n_results == 2 == s.counts.duplicates
    assert s.counts.screened == n_results


def test_interrupted_run_resumes_without_duplicates_or_losses(tmp_path: Path, archive: dict[str, Path]) -> None:
    sources = [archive["folder"], archive["zip"], archive["tar"]]
    full = tmp_path / "full.sqlite"
    run(sources, full, workers=2)
    part = tmp_path / "part.sqlite"
    first = run(sources, part, workers=2, stop_after=5)
    assert first.interrupted
    n_first = len(rows(part))
    assert 5 <= n_first < len(rows(full))
    second = run(sources, part, workers=2)
    assert not second.interrupted
    assert second.counts.resumed >= 5
    assert rows(part) == rows(full)  # same rows, nothing missing, nothing twice (keys are primary)
    third = run(sources, part, workers=2)
    assert third.counts.screened == 0 and third.worker_pids == []  # a finished run does nothing


def test_an_interrupted_run_stores_the_photos_its_workers_were_holding(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(6):
        (src / f"{i}.jpg").write_bytes(jpeg(30 + i))
    store = tmp_path / "r.sqlite"
    # One worker holds two photos at a time: the third is sent once the first is back, then the run
    # stops with two photos still at the worker. Their results arrive while the pool closes.
    s = run([src], store, workers=1, stop_after=1)
    assert s.interrupted
    db = sqlite3.connect(store)
    n_results = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    n_photos = db.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
    db.close()
    assert n_results == n_photos == s.counts.screened == 3  # every photo sent to the worker was stored


def test_zip_traversal_encrypted_member_and_bomb_are_per_file_errors(tmp_path: Path) -> None:
    zpath = tmp_path / "evil.zip"
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("ok.jpg", jpeg(1))
        z.writestr("../../etc/evil.jpg", jpeg(2))
        z.writestr("/abs.jpg", jpeg(3))
        z.writestr("secret.jpg", jpeg(4))
        z.writestr("bomb.bmp", b"BM" + b"\x00" * (8 << 20))  # 8 MB that deflates ~1000:1
        z.writestr("after.jpg", jpeg(5))
    _mark_encrypted(zpath, "secret.jpg")
    store = tmp_path / "r.sqlite"
    s = run([zpath], store)
    codes = {m: photo(store, m)["error_code"] for m in ("../../etc/evil.jpg", "/abs.jpg", "secret.jpg", "bomb.bmp")}
    assert codes == {
        "../../etc/evil.jpg": "unsafe_path",
        "/abs.jpg": "unsafe_path",
        "secret.jpg": "encrypted",
        "bomb.bmp": "zip_bomb",
    }
    assert photo(store, "after.jpg")["verdict"] == "allow"  # the run went on
    assert s.counts.allow == 2 and s.counts.error == 4
    written = {p.name for p in tmp_path.rglob("*")} - {"evil.zip"}
    assert written and all(n.startswith("r.sqlite") for n in written)  # nothing extracted, nothing outside


def test_oversized_members_are_refused_by_declared_and_by_actual_size(tmp_path: Path) -> None:
    tpath = tmp_path / "big.tar"
    with tarfile.open(tpath, "w") as t:
        _tar_add(t, "big.jpg", jpeg(1, (1200, 900)))
        _tar_add(t, "small.jpg", jpeg(2, (40, 30)))
        _tar_add(t, "../up.jpg", jpeg(3, (40, 30)))
    store = tmp_path / "r.sqlite"
    run([tpath], store, max_bytes=20_000)
    assert photo(store, "big.jpg")["error_code"] == "too_large"
    assert photo(store, "small.jpg")["verdict"] == "allow"
    assert photo(store, "../up.jpg")["error_code"] == "unsafe_path"


def test_the_batch_byte_limit_is_the_documented_one() -> None:
    import inspect

    from screening import cli
    from screening.batch import BatchOptions
    from screening.image.load import LoadOptions

    # README: "--max-mb (default 200) ... per file, as for check"; the API default is the same.
    assert inspect.signature(cli.batch).parameters["max_mb"].default == 200
    assert BatchOptions(sources=[]).max_bytes == LoadOptions().max_bytes == 200 * 1024 * 1024


def test_symlinks_leaving_the_folder_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(jpeg(1))
    src = tmp_path / "src"
    src.mkdir()
    (src / "real.jpg").write_bytes(jpeg(2))
    os.symlink(outside, src / "escape.jpg")
    os.symlink(src / "real.jpg", src / "inside_link.jpg")
    os.symlink("/", src / "root_dir")
    store = tmp_path / "r.sqlite"
    run([src], store)
    assert photo(store, "escape.jpg")["error_code"] == "symlink_outside_source"
    assert photo(store, "root_dir")["error_code"] == "symlink_outside_source"
    assert photo(store, "inside_link.jpg")["sha256"] == photo(store, "real.jpg")["sha256"]


def test_list_files_name_photos_folders_and_archives(tmp_path: Path, archive: dict[str, Path]) -> None:
    lst = tmp_path / "list.txt"
    lst.write_text(f"# exported paths\n{archive['folder'] / 'day1' / 'IMG_2.jpg'}\n\n{archive['zip']}\nmissing.jpg\n")
    keys = [e.key for e in iter_sources([f"@{lst}"], cwd=tmp_path)]
    assert keys[0].member == "" and keys[0].source.endswith("IMG_2.jpg")
    assert sum(k.source == str(archive["zip"]) for k in keys) == 5
    store = tmp_path / "r.sqlite"
    s = run([f"@{lst}"], store, cwd=tmp_path)
    assert s.counts.allow == 5 and s.counts.error == 1  # the missing file is an error row


def test_a_crashing_worker_is_replaced_and_its_photo_recorded(
    tmp_path: Path, archive: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    monkeypatch.setenv(CRASH_ENV, hashlib.sha256(jpeg(11)).hexdigest())  # event/11.jpg kills its worker
    store = tmp_path / "r.sqlite"
    s = run([archive["zip"]], store, workers=2)
    assert photo(store, "event/11.jpg")["error_code"] == "worker_crashed"
    assert s.counts.crashed == 1 and s.counts.allow == 3
    for m in ("event/10.jpg", "event/12.jpg", "event/dup.jpg"):
        assert photo(store, m)["verdict"] == "allow"
    # A crash says nothing about the photo: the next run of the same command screens it again.
    monkeypatch.delenv(CRASH_ENV)
    again = run([archive["zip"]], store, workers=1)
    assert photo(store, "event/11.jpg")["verdict"] == "allow" and photo(store, "event/11.jpg")["error_code"] is None
    assert again.counts.crashed == 0


@pytest.mark.parametrize(
    ("name", "bad"),
    [("a/b.jpg", False), ("../x.jpg", True), ("a/../../x", True), ("/etc/passwd", True), ("C:\\x.jpg", True)],
)
def test_unsafe_member_names(name: str, bad: bool) -> None:
    assert (unsafe_member_name(name) is not None) is bad


def test_archives_inside_folders_are_read_in_place_and_tar_links_skipped(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with zipfile.ZipFile(src / "export.zip", "w") as z:
        z.writestr("a.jpg", jpeg(1))
        with zipfile.ZipFile(io.BytesIO(), "w") as inner:
            inner.writestr("x.jpg", jpeg(2))
            z.writestr("nested.zip", inner.fp.getvalue())  # type: ignore[union-attr]
    with tarfile.open(src / "more.tar", "w") as t:
        _tar_add(t, "b.jpg", jpeg(3))
        link = tarfile.TarInfo("link.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(link)
    store = tmp_path / "r.sqlite"
    s = run([src], store)
    assert photo(store, "export.zip!/a.jpg")["verdict"] == "allow"
    assert photo(store, "more.tar!/b.jpg")["verdict"] == "allow"
    db = sqlite3.connect(store)
    assert dict(db.execute("SELECT member, reason FROM skipped")) == {
        "export.zip!/nested.zip": "archive_in_archive",
        "more.tar!/link.jpg": "link",
    }
    assert s.counts.allow == 2 and s.counts.skipped == 2


def test_rescreen_all_screens_every_distinct_photo_again(tmp_path: Path, archive: dict[str, Path]) -> None:
    store = tmp_path / "r.sqlite"
    first = run([archive["zip"]], store)
    again = run([archive["zip"]], store, rescreen="all")
    assert again.counts.screened == first.counts.screened == 3 + 1  # 3 photos + dup.jpg's content, once each
    assert again.counts.resumed == 0 and again.counts.duplicates == 0


def test_workers_retire_after_their_share_and_nothing_is_lost(tmp_path: Path, archive: dict[str, Path]) -> None:
    store = tmp_path / "r.sqlite"
    s = run([archive["folder"], archive["zip"], archive["tar"]], store, workers=2, max_tasks_per_worker=2)
    assert len(s.worker_pids) >= 4  # replacements started as workers retired
    assert (s.counts.allow, s.counts.error, s.counts.crashed) == (12, 2, 0)
    ref = tmp_path / "ref.sqlite"
    run([archive["folder"], archive["zip"], archive["tar"]], ref, workers=2)
    assert rows(store) == rows(ref)
