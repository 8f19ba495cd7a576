"""The worker's file primitives: heartbeats, hashing, and read-only lookups in the hash cache.

Runs only in worker processes (see :mod:`condashare.verify.worker`), standard library only so
a spawned worker starts fast. A read or ``stat`` on a dead share can block forever; the
coordinator abandons a worker that falls silent, so everything here beats while it works.
"""

from __future__ import annotations

import array
import errno as errno_mod
import json
import os
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # imported where a cache is opened: a --no-cache run never loads sqlite3
    import sqlite3

try:
    import mmap
except ImportError:  # pragma: no cover - every POSIX Python has it
    mmap = None  # type: ignore[assignment]

O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# a window is mapped with its pages already in (MAP_POPULATE, Linux): one call instead of a
# page fault per 4 KiB while hashing
MAP_FLAGS = (mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)) if mmap is not None else 0
BUFFER = 1 << 20  # 1 MiB reads: few syscalls, bounded memory
MMAP_WINDOW = 32 << 20  # hash big local files through 32 MiB mappings (bounded RSS)
CACHE_MIN_BYTES = 64 << 10  # smaller files are cheaper to re-hash than to look up and store
DEFER_BYTES = 16 << 20  # files this big are hashed as their own task, so workers share them
HEARTBEAT_SECONDS = 0.5
MAX_ITEMS = 2000  # cap on listed items per answer (bounded memory and pipe traffic)
SKIP_SUFFIXES = (".pyc", ".pyo")  # compiled later, never reliably recorded (conda skips them)


class Reader:
    """One worker's state: its answer stream, heartbeats, a read-only view of the hash cache."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.last_beat = time.monotonic()
        self.beats = 0
        self.db: sqlite3.Connection | None = None
        self.db_path = ""
        self.buf = bytearray(BUFFER)
        self.held: list[str] = []

    # --- plumbing -----------------------------------------------------------------------
    def send(self, obj: dict[str, Any], hold: bool = False) -> None:
        """Write one answer; ``hold`` keeps it for the next write (answers of a batch of
        tasks leave in one write, and a heartbeat takes held answers along)."""
        line = json.dumps(obj, separators=(",", ":")) + "\n"
        if hold:
            self.held.append(line)
            return
        if self.held:
            line = "".join(self.held) + line
            self.held.clear()
        self.out.write(line)
        self.out.flush()

    def beat(self) -> None:
        now = time.monotonic()
        if now - self.last_beat >= HEARTBEAT_SECONDS:
            self.beats += 1
            self.last_beat = now
            self.send({"hb": self.beats})

    def open_cache(self, path: str) -> None:
        if not path or path == self.db_path:
            return
        self.db_path = path
        import sqlite3

        try:
            # a busy cache must never slow verification down: give up fast, count a miss
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.1)
        except sqlite3.Error:
            self.db = None

    def cached(self, st: os.stat_result) -> tuple[str | None, str | None]:
        if self.db is None:
            return None, None
        import sqlite3  # loaded by open_cache

        try:
            row = self.db.execute(
                "SELECT sha256, md5 FROM files WHERE dev=? AND ino=? AND size=? AND mtime_ns=?"
                " AND ctime_ns=?",
                (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns),
            ).fetchone()
        except sqlite3.Error:
            return None, None
        if row is None:
            return None, None
        return row[0], row[1]

    def digest(
        self, path: str, want_md5: bool = False, local: bool = False
    ) -> tuple[str, str | None, list[int]]:
        """sha256 (and md5) of a file, streamed; returns the stat key of the opened file."""
        fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
        try:
            return self.digest_fd(fd, os.fstat(fd), want_md5, local)
        finally:
            os.close(fd)

    def digest_fd(
        self, fd: int, st: os.stat_result, want_md5: bool = False, local: bool = False
    ) -> tuple[str, str | None, list[int]]:
        """sha256 (and md5) of the open file ``fd`` whose ``fstat`` is ``st`` (the caller has
        both already: no second open or stat per file).

        Small files are read in one call. Big files on local disks are hashed straight from
        the page cache through mmap windows (no copy; RSS bounded by the window); on network
        filesystems we read into a 1 MiB buffer instead, because a file truncated on the
        server while mapped would kill the worker with SIGBUS.
        """
        import hashlib  # here, not at the top: a quick run never hashes

        size = st.st_size
        md5 = hashlib.md5() if want_md5 else None
        if size < BUFFER:
            data = os.read(fd, size + 1)
            if len(data) > size:  # grew since fstat: stream the rest
                data += read_all(fd)
            sha = hashlib.sha256(data)
            if md5 is not None:
                md5.update(data)
        elif local and mmap is not None:
            sha = hashlib.sha256()
            offset = 0
            while offset < size:
                length = min(MMAP_WINDOW, size - offset)
                with mmap.mmap(
                    fd, length, flags=MAP_FLAGS, prot=mmap.PROT_READ, offset=offset
                ) as win:
                    sha.update(win)
                    if md5 is not None:
                        md5.update(win)
                offset += length
                self.beat()
        else:
            sha = hashlib.sha256()
            view = memoryview(self.buf)
            while True:
                n = os.readv(fd, [self.buf])
                if n <= 0:
                    break
                chunk = view[:n]
                sha.update(chunk)
                if md5 is not None:
                    md5.update(chunk)
                self.beat()
        key = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        return sha.hexdigest(), (md5.hexdigest() if md5 is not None else None), key

    def fingerprint_ok(
        self, rec_path: str, rec_key: list[int], deep: bool
    ) -> tuple[int, dict[str, Any]] | None:
        """Fast path: is this record unchanged since it last verified clean, file by file?

        The cache row holds the record's own stat key, the checked paths and every file's
        (dev, inode, size, mtime_ns, ctime_ns) at the time. Same record and same keys means
        the same bytes, so nothing needs parsing or hashing. Returns the file count and the
        package's remembered metadata, or None.
        """
        if self.db is None:
            return None
        import sqlite3  # loaded by open_cache

        try:
            row = self.db.execute(
                "SELECT rkey, mode, paths, keys, meta FROM records WHERE path=?", (rec_path,)
            ).fetchone()
            meta = json.loads(row[4]) if row is not None and row[4] else {}
        except (sqlite3.Error, ValueError):
            return None
        if row is None or row[0] != key_text(rec_key) or (deep and row[1] != "deep"):
            return None
        if not isinstance(meta, dict):
            return None
        rels = row[2].split("\0") if row[2] else []
        now = array.array("q")
        ext = now.extend
        stat_ = os.stat
        root = os.path.dirname(os.path.dirname(rec_path))
        try:
            dfd = os.open(root, os.O_RDONLY | O_CLOEXEC | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            return None
        try:
            for start in range(0, len(rels), 128):  # a slow but live share must not look dead
                for rel in rels[start : start + 128]:
                    st = stat_(rel, dir_fd=dfd)
                    ext((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
                self.beat()
        except (OSError, OverflowError):
            return None
        finally:
            os.close(dfd)
        return (len(rels), meta) if now.tobytes() == row[3] else None

    # --- tasks --------------------------------------------------------------------------

    def cached_many(self, stats: list[os.stat_result]) -> dict[tuple[int, ...], str]:
        """Cached sha256 for many files in one query per 400 inodes."""
        if self.db is None:
            return {}
        import sqlite3  # loaded by open_cache

        found: dict[tuple[int, ...], str] = {}
        by_dev: dict[int, list[int]] = {}
        for st in stats:
            by_dev.setdefault(st.st_dev, []).append(st.st_ino)
        for dev, inos in by_dev.items():
            for i in range(0, len(inos), 400):
                chunk = inos[i : i + 400]
                marks = ",".join("?" * len(chunk))
                try:
                    rows = self.db.execute(
                        "SELECT dev, ino, size, mtime_ns, ctime_ns, sha256 FROM files "
                        f"WHERE dev=? AND ino IN ({marks})",
                        [dev, *chunk],
                    ).fetchall()
                except (sqlite3.Error, OverflowError):
                    return found
                for row in rows:
                    found[tuple(row[:5])] = row[5]
        return found


def fp_add(paths: list[str], keys: array.array[int] | None, rel: str, st: os.stat_result) -> None:
    if keys is None:
        return
    paths.append(rel)
    try:
        keys.extend((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    except OverflowError:  # 64-bit unsigned inode numbers: no fast path for this record
        keys.extend((0, 0, -1, 0, 0))


def key_text(key: list[int]) -> str:
    return ":".join(str(k) for k in key)


def read_all(fd: int) -> bytes:
    parts: list[bytes] = []
    while True:
        chunk = os.read(fd, BUFFER)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)


def oserr(exc: OSError) -> str:
    name = errno_mod.errorcode.get(exc.errno or 0, "")
    text = exc.strerror or str(exc)
    return f"{name}: {text}" if name else text


def lsize(path: str) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def tree_size(path: str) -> int:
    total = 0
    stack = [path]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as it:
                for entry in it:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        else:
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total


# errors that say "not there (for you)"; anything else (ESTALE, EIO, ENOTCONN ...) is the share
ABSENT = (errno_mod.ENOENT, errno_mod.ENOTDIR, errno_mod.EACCES, errno_mod.EPERM)


def is_kind(path: str, test: Any) -> bool:
    """``os.path.isdir``/``isfile`` that tells "absent" from "the share failed": the errors
    in ``ABSENT`` mean absent (as before); any other error is raised."""
    try:
        return bool(test(os.stat(path).st_mode))
    except OSError as exc:
        if exc.errno in ABSENT:
            return False
        raise
