"""Walk batch sources lazily: folders (recursive), zip and tar archives read in place, single files and
list files. Nothing is extracted to disk and nothing is read before the consumer asks for it, so memory
stays flat however large the archive.

Every file becomes an :class:`Entry` keyed by (source, member). The consumer calls :meth:`Entry.head`
(first bytes, to decide by content whether it is a photo) and then :meth:`Entry.read` (capped), both
before advancing the generator: a tar member's stream is only valid while it is the current one.

Hostile input becomes a per-file :class:`SourceError` (raised by ``head``/``read`` or carried by the
entry), never an exception that stops the walk: path-traversal names, encrypted zip members, zip bombs,
members larger than the byte limit, symlinks that leave the source folder, unreadable archives.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from screening.batch.magic import SNIFF_BYTES, Kind, sniff
from screening.image.load import MB

ARCHIVE_SEP = "!/"  # "photos/export.zip!/day1/IMG_1.jpg": a member of an archive found inside a folder
MAX_RATIO = 200.0  # uncompressed/compressed; JPEGs are ~1, flat PNG/BMP stay well under this
RATIO_FLOOR = 1 << 20  # the ratio test starts at 1 MiB uncompressed (tiny files compress freely)


class SourceError(Exception):
    """A file that cannot be screened for a reason found before decoding; recorded as an error row."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True, order=True)
class Key:
    """Where a photo lives: the source as given (absolute) and its path inside it ('' for a single file)."""

    source: str
    member: str

    def display(self) -> str:
        return f"{self.source}{ARCHIVE_SEP}{self.member}" if self.member else self.source


@dataclass(eq=False)
class ArchiveCursor:
    """How far the walk has gone through one tar archive; shared by the archive's entries. A compressed
    tar has no index, so the progress estimates its member count from this (members per byte read)
    instead of decompressing the archive a second time just to count."""

    path: str  # os.path.realpath of the archive file
    size: int  # its size on disk (compressed bytes)
    members: int = 0  # entries yielded so far
    consumed: int = 0  # bytes of the file read so far
    done: bool = False  # the walk has left the archive: ``members`` is its entry count


@dataclass(eq=False)
class Entry:
    """One file of a source, read lazily. ``skip`` (a reason) marks things that are not photos by
    construction (links, devices, nested archives): the consumer counts them and moves on."""

    key: Key
    size: int | None
    opener: Callable[[], IO[bytes]] | None = None
    error: SourceError | None = None
    skip: str | None = None
    cursor: ArchiveCursor | None = None  # set on the entries of a tar archive
    _stream: IO[bytes] | None = field(default=None, repr=False)
    _head: bytes | None = field(default=None, repr=False)

    def head(self) -> bytes:
        """The first bytes of the file (enough to tell its type)."""
        if self.error is not None:
            raise self.error
        if self._head is None:
            assert self.opener is not None
            try:
                self._stream = self.opener()
                self._head = _read_upto(self._stream, SNIFF_BYTES)
            except SourceError:
                raise
            except Exception as exc:  # hostile bytes raise anything (zlib.error, LZMAError...): one file's problem
                raise SourceError("read_error", f"cannot read: {type(exc).__name__}: {exc}") from exc
        return self._head

    def read(self, max_bytes: int) -> bytes:
        """The whole file, refusing more than ``max_bytes`` (the declared size of an archive member may lie)."""
        head = self.head()
        if self.size is not None and self.size > max_bytes:
            raise SourceError("too_large", f"{self.size / MB:.1f} MB is over the limit of {max_bytes / MB:.0f} MB")
        assert self._stream is not None
        try:
            rest = _read_upto(self._stream, max_bytes + 1 - len(head))
        except Exception as exc:  # a corrupt member (bad CRC, broken deflate stream) is that member's error
            raise SourceError("read_error", f"cannot read: {type(exc).__name__}: {exc}") from exc
        data = head + rest
        if len(data) > max_bytes:
            raise SourceError("too_large", f"more than the limit of {max_bytes / MB:.0f} MB")
        return data

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.close()
            except Exception:  # closing a broken member stream must not stop the walk
                pass
            self._stream = None


def _read_upto(stream: IO[bytes], n: int) -> bytes:
    chunks: list[bytes] = []
    left = n
    while left > 0:
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def unsafe_member_name(name: str) -> str | None:
    """Why an archive member name is unsafe (absolute, drive letter, '..' segments), or None."""
    norm = name.replace("\\", "/")
    if not norm or "\x00" in norm:
        return "an empty or NUL-containing name"
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return "an absolute path"
    if ".." in PurePosixPath(norm).parts:
        return "a '..' path segment (path traversal)"
    return None


# --- sources -----------------------------------------------------------------------------------


def iter_sources(args: list[str], *, cwd: Path | None = None) -> Iterator[Entry]:
    """Every entry of the given sources, in a stable order (folders sorted, archives in member order).

    ``@list.txt`` reads one path per line (blank lines and ``#`` comments ignored), relative to ``cwd``.
    """
    base = cwd or Path.cwd()
    for arg in args:
        if arg.startswith("@"):
            yield from iter_list_file(base / arg[1:], base)
        else:
            yield from iter_path(base / arg)


def listed_paths(list_path: Path, base: Path) -> Iterator[Path]:
    """The paths a list file names, one per line, blank lines and ``#`` comments skipped, relative to
    ``base``. Raises OSError when the file cannot be read."""
    with open(list_path, encoding="utf-8") as fh:
        for line in fh:  # read line by line: a list of a million paths stays out of memory
            line = line.strip()
            if line and not line.startswith("#"):
                yield base / line


def iter_list_file(list_path: Path, base: Path) -> Iterator[Entry]:
    """Entries of every path named in a text file (one per line)."""
    try:
        for path in listed_paths(list_path, base):
            yield from iter_path(path)
    except OSError as exc:
        yield Entry(Key(str(list_path), ""), None, error=SourceError("read_error", f"cannot read list: {exc.strerror}"))


def iter_path(path: Path) -> Iterator[Entry]:
    """A folder, an archive or a single file given on the command line."""
    abspath = Path(os.path.abspath(path))
    key = Key(str(abspath), "")
    try:
        st = abspath.stat()
    except OSError as exc:
        yield Entry(key, None, error=SourceError("read_error", f"cannot open: {exc.strerror or exc}"))
        return
    if stat.S_ISDIR(st.st_mode):
        yield from iter_folder(abspath)
    elif stat.S_ISREG(st.st_mode):
        yield from _file_or_archive(abspath, key, st.st_size)
    else:
        yield Entry(key, None, skip="special_file")


def _file_or_archive(path: Path, key: Key, size: int) -> Iterator[Entry]:
    entry = Entry(key, size, opener=lambda: open(path, "rb"))
    try:
        kind = sniff(entry.head())
    except SourceError as exc:
        entry.close()
        yield Entry(key, size, error=exc)
        return
    if kind is Kind.ZIP:
        entry.close()
        yield from iter_zip(path, key.source, prefix=_prefix(key))
    elif kind is Kind.TAR:
        entry.close()
        yield from iter_tar(path, key.source, prefix=_prefix(key))
    else:
        try:
            yield entry
        finally:
            entry.close()


def _prefix(key: Key) -> str:
    return key.member + ARCHIVE_SEP if key.member else ""


def iter_folder(root: Path) -> Iterator[Entry]:
    """Files under ``root``, recursively and sorted. Symlinks are followed only while they stay inside
    ``root``; an archive found in the folder is read in place (one level: no archives in archives)."""
    real_root = os.path.realpath(root)
    unreadable: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unreadable.append):
        yield from _unlistable(root, unreadable)
        dirnames.sort()
        for name in folder_entries(dirpath, dirnames, filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            key = Key(str(root), rel)
            yield from _folder_file(full, key, real_root)
    yield from _unlistable(root, unreadable)


def folder_entries(dirpath: str, dirnames: list[str], filenames: list[str]) -> list[str]:
    """The names in one ``os.walk`` step that are entries, sorted: its files, and its symlinks to
    folders (os.walk lists those among the folders and does not descend into them)."""
    links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
    return sorted([*filenames, *links])


def leaves_root(real_path: str, real_root: str) -> bool:
    """Whether a symlink's resolved target lies outside the source folder (such links are not followed)."""
    return os.path.commonpath([real_path, real_root]) != real_root


def is_document_zip(names: set[str]) -> bool:
    """Office documents and EPUBs are zips too; they are documents, not photo exports."""
    return "[Content_Types].xml" in names or "mimetype" in names


def _unlistable(root: Path, errors: list[OSError]) -> Iterator[Entry]:
    # A folder we may not list becomes an error row, not a silent hole in the results.
    while errors:
        err = errors.pop()
        rel = os.path.relpath(err.filename or root, root).replace(os.sep, "/")
        yield Entry(Key(str(root), rel + "/"), None, error=SourceError("read_error", f"cannot list: {err.strerror}"))


def _folder_file(full: str, key: Key, real_root: str) -> Iterator[Entry]:
    try:
        lst = os.lstat(full)
    except OSError as exc:
        yield Entry(key, None, error=SourceError("read_error", f"cannot open: {exc.strerror}"))
        return
    target = full
    if stat.S_ISLNK(lst.st_mode):
        real = os.path.realpath(full)
        if leaves_root(real, real_root):
            err = SourceError("symlink_outside_source", "a symlink that leaves the source folder (not followed)")
            yield Entry(key, None, error=err)
            return
        target = real
    try:
        st = os.stat(target)
    except OSError as exc:
        yield Entry(key, None, error=SourceError("read_error", f"cannot open: {exc.strerror}"))
        return
    if stat.S_ISDIR(st.st_mode):
        yield Entry(key, None, skip="link_to_folder")  # inside the tree: its files are walked anyway
    elif not stat.S_ISREG(st.st_mode):
        yield Entry(key, None, skip="special_file")  # FIFOs and devices would block or never end
    else:
        yield from _file_or_archive(Path(target), key, st.st_size)


def iter_zip(path: Path, source: str, *, prefix: str = "") -> Iterator[Entry]:
    """Members of a zip archive, in archive order, checked against bombs, encryption and unsafe names."""
    try:
        zf = zipfile.ZipFile(path)
    except Exception as exc:  # BadZipFile, OSError, ValueError, struct errors on a mangled directory
        err = SourceError("archive_error", f"not a readable zip: {exc}")
        yield Entry(Key(source, prefix.removesuffix(ARCHIVE_SEP)), None, error=err)
        return
    with zf:
        names = {i.filename for i in zf.infolist()}
        if is_document_zip(names):
            yield Entry(Key(source, prefix.removesuffix(ARCHIVE_SEP)), None, skip="document")
            return
        for info in zf.infolist():
            if info.is_dir():
                continue
            key = Key(source, prefix + info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                yield Entry(key, info.file_size, skip="link")
                continue
            why = unsafe_member_name(info.filename)
            if why:
                yield Entry(key, info.file_size, error=SourceError("unsafe_path", f"member name has {why}"))
                continue
            if info.flag_bits & 0x1:
                yield Entry(key, info.file_size, error=SourceError("encrypted", "the zip member is encrypted"))
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
                msg = f"compression ratio {ratio:.0f}:1 ({info.file_size / MB:.0f} MB declared): a zip bomb"
                yield Entry(key, info.file_size, error=SourceError("zip_bomb", msg))
                continue
            entry = Entry(key, info.file_size, opener=lambda info=info: zf.open(info))
            try:
                yield entry
            finally:
                entry.close()


def iter_tar(path: Path, source: str, *, prefix: str = "") -> Iterator[Entry]:
    """Members of a tar archive (plain, gzip, bzip2 or xz), streamed in order. Every entry carries the
    archive's :class:`ArchiveCursor`."""
    cursor = ArchiveCursor(os.path.realpath(path), _file_size(path))
    with closing(_tar_entries(path, source, prefix, cursor)) as entries:  # a walk left early closes the file
        for entry in entries:
            entry.cursor = cursor
            cursor.members += 1
            yield entry
    cursor.consumed = cursor.size
    cursor.done = True


def _tar_entries(path: Path, source: str, prefix: str, cursor: ArchiveCursor) -> Iterator[Entry]:
    archive_key = Key(source, prefix.removesuffix(ARCHIVE_SEP))
    with ExitStack() as stack:
        try:
            raw = stack.enter_context(open(path, "rb"))  # ours, so its position is the compressed bytes read
            tf = stack.enter_context(tarfile.open(fileobj=raw, mode="r:*"))
        except Exception as exc:
            if archive_key.member:
                yield Entry(archive_key, None, skip="not_image")  # e.g. a .gz of something else in a folder
            else:
                yield Entry(archive_key, None, error=SourceError("archive_error", f"not a readable tar: {exc}"))
            return
        while True:
            try:
                info = tf.next()
            except Exception as exc:  # a truncated or corrupt stream ends the archive, not the run
                yield Entry(archive_key, None, error=SourceError("archive_error", f"the archive is damaged: {exc}"))
                return
            if info is None:
                return
            tf.members.clear()  # TarFile keeps every header it has seen; we never need them again
            cursor.consumed = raw.tell()
            if info.isdir():
                continue
            key = Key(source, prefix + info.name)
            if not info.isreg():
                yield Entry(key, None, skip="link" if info.issym() or info.islnk() else "special_file")
                continue
            why = unsafe_member_name(info.name)
            if why:
                yield Entry(key, info.size, error=SourceError("unsafe_path", f"member name has {why}"))
                continue
            entry = Entry(key, info.size, opener=lambda info=info: _tar_member(tf, info))
            try:
                yield entry
            finally:
                entry.close()


def _file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _tar_member(tf: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    stream = tf.extractfile(info)
    if stream is None:
        raise SourceError("read_error", "the tar member has no data")
    return stream
