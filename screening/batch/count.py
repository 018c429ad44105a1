"""How many entries a batch walk will yield (the progress bar's total and ETA), found cheaply.

The walk (:mod:`~screening.batch.sources`) opens every file and decompresses every archive; counting the
same way would read everything twice, and a 300k-photo ``.tar.gz`` would be decompressed twice. The
count reads only what says how many: folder listings (files named like photos are not even opened),
zip central directories and plain tar headers (member data is seeked over, not read).

A compressed tar has no index: its member count is only known by decompressing it, which the walk does
anyway. So it is estimated from the walk's own progress (:class:`~screening.batch.sources.ArchiveCursor`:
members yielded per compressed byte read), for the archive being walked and, at the same rate, for the
compressed archives not reached yet. The estimate sharpens as the walk goes and is exact once the walk
has left every compressed archive.
"""

from __future__ import annotations

import os
import stat
import tarfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from screening.batch.magic import SNIFF_BYTES, Kind, is_plain_tar, sniff
from screening.batch.sources import ArchiveCursor, folder_entries, is_document_zip, leaves_root, listed_paths

# Extensions of the photos a camera or phone export holds: counted as one entry without opening the file.
# (A zip named .jpg would be counted as one; the count only feeds the progress display.)
PHOTO_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif", ".avif"}
)


@dataclass
class SourceCount:
    """What the counting walk found: entries counted exactly, and compressed tars left to estimate."""

    exact: int = 0
    compressed: dict[str, int] = field(default_factory=dict)  # realpath -> size on disk


class _Stopped(Exception):
    pass


def count_sources(
    args: list[str], *, cwd: Path | None = None, stop: threading.Event | None = None, exclude: str | None = None
) -> SourceCount:
    """Count the entries :func:`~screening.batch.sources.iter_sources` yields for ``args``, without reading
    file contents (see the module doc). ``exclude``: a realpath prefix the batch run does not count (its
    own store). Returns what was counted so far when ``stop`` is set."""
    counter = _Counter(stop or threading.Event(), exclude)
    base = cwd or Path.cwd()
    try:
        for arg in args:
            if arg.startswith("@"):
                counter.list_file(base / arg[1:], base)
            else:
                counter.path(base / arg)
    except _Stopped:
        pass
    return counter.result


class _Counter:
    def __init__(self, stop: threading.Event, exclude: str | None) -> None:
        self.stop = stop
        self.exclude = exclude
        self.result = SourceCount()

    def add(self, n: int = 1) -> None:
        if self.stop.is_set():
            raise _Stopped
        self.result.exact += n

    def list_file(self, list_path: Path, base: Path) -> None:
        try:
            for path in listed_paths(list_path, base):
                self.path(path)
        except OSError:
            self.add()

    def path(self, path: Path) -> None:
        abspath = os.path.abspath(path)
        try:
            st = os.stat(abspath)
        except OSError:
            self.add()
            return
        if stat.S_ISDIR(st.st_mode):
            self.folder(abspath)
        elif stat.S_ISREG(st.st_mode):
            if not self._excluded(abspath):
                self.file(abspath, st.st_size)
        else:
            self.add()

    def folder(self, root: str) -> None:
        real_root = os.path.realpath(root)
        unreadable: list[OSError] = []
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unreadable.append):
            self.add(len(unreadable))
            unreadable.clear()
            for name in folder_entries(dirpath, dirnames, filenames):
                self.folder_file(os.path.join(dirpath, name), real_root)
        self.add(len(unreadable))

    def folder_file(self, full: str, real_root: str) -> None:
        if self._excluded(full):
            return
        target = full
        try:
            if os.path.islink(full):
                target = os.path.realpath(full)
                if leaves_root(target, real_root):
                    self.add()  # a symlink leaving the folder: one error entry
                    return
            st = os.stat(target)
        except (OSError, ValueError):
            self.add()
            return
        if stat.S_ISREG(st.st_mode):
            self.file(target, st.st_size)
        else:
            self.add()  # a link to a folder inside the tree, a FIFO, a device: one skipped entry

    def file(self, path: str, size: int) -> None:
        if os.path.splitext(path)[1].lower() in PHOTO_SUFFIXES:
            self.add()
            return
        try:
            with open(path, "rb", buffering=0) as fh:  # unbuffered: read these bytes, not 8 kB
                head = fh.read(SNIFF_BYTES)
        except OSError:
            self.add()
            return
        kind = sniff(head)
        if kind is Kind.ZIP:
            self.zip(path)
        elif kind is Kind.TAR and is_plain_tar(head):
            self.plain_tar(path)
        elif kind is Kind.TAR:  # gzip, bzip2 or xz: no index to read
            self.result.compressed[os.path.realpath(path)] = size
        else:
            self.add()

    def zip(self, path: str) -> None:
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
        except Exception:  # an unreadable zip is one error entry in the walk
            self.add()
            return
        if is_document_zip({i.filename for i in infos}):
            self.add()  # a document: one skipped entry
        else:
            self.add(sum(1 for i in infos if not i.is_dir()))

    def plain_tar(self, path: str) -> None:
        try:
            # Seekable and uncompressed: next() seeks over member data; unbuffered, each header costs
            # its 512 bytes rather than a buffer's worth.
            raw = open(path, "rb", buffering=0)
        except OSError:
            self.add()
            return
        with raw:
            try:
                tf = tarfile.open(fileobj=raw, mode="r:")
            except Exception:
                self.add()
                return
            self._tar_headers(tf)

    def _tar_headers(self, tf: tarfile.TarFile) -> None:
        with tf:
            while True:
                try:
                    info = tf.next()
                except Exception:  # a damaged archive ends with one error entry
                    self.add()
                    return
                if info is None:
                    return
                tf.members.clear()
                if not info.isdir():
                    self.add()

    def _excluded(self, path: str) -> bool:
        return self.exclude is not None and os.path.realpath(path).startswith(self.exclude)


class EntryTotal:
    """The number of entries a run will walk: exact from :func:`count_sources`, plus the estimated
    members of the compressed tars, refined from the walk's :class:`ArchiveCursor` s.

    :meth:`counted` may be called from the counting thread; :meth:`walked` and :meth:`value` from the
    thread that walks (cursors change there).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count: SourceCount | None = None
        self._cursors: dict[str, ArchiveCursor] = {}

    def counted(self, count: SourceCount) -> None:
        with self._lock:
            self._count = count

    def walked(self, cursor: ArchiveCursor) -> None:
        """The walk yielded an entry of the archive of ``cursor``."""
        self._cursors[cursor.path] = cursor

    def value(self) -> tuple[int | None, bool]:
        """(total, estimated): total is None until it is known or can be estimated."""
        with self._lock:
            count = self._count
        if count is None:
            return None, False
        walked = [self._cursors[p] for p in count.compressed if p in self._cursors]
        read = [_behind(c) for c in walked]
        rate_members, rate_bytes = sum(m for m, _ in read), sum(b for _, b in read)
        total, estimated = count.exact, False
        for path, size in count.compressed.items():
            c = self._cursors.get(path)
            if c is not None and c.done:
                total += c.members
                continue
            members, consumed = _behind(c) if c is not None else (0, 0)
            if members:  # this archive's own rate so far
                guess = members * size / consumed
            elif rate_members:  # not reached yet: the rate seen in the others
                guess = rate_members * size / rate_bytes
            else:
                return None, False  # nothing walked yet to estimate from
            total += max(c.members if c is not None else 0, round(guess))
            estimated = True
        return total, estimated


def _behind(c: ArchiveCursor) -> tuple[int, int]:
    """(entries, bytes) the walk is wholly past in an archive: at a member's header, the members before it
    (its own data is still ahead), and all of a finished archive."""
    if c.done:
        return c.members, max(c.size, 1)
    return max(c.members - 1, 0), max(c.consumed, 1)
