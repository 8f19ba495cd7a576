"""The hash cache: a local SQLite file of sha256 sums keyed by stat identity, and of records
that verified clean, so an unchanged tree is re-verified with ``stat`` only.

Only the coordinator writes it (workers open it read-only). Never on a network filesystem.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from condashare.host.mounts import Mount, mount_for

FLUSH_SECONDS = 0.25  # write learnt hashes this often, so little is left to write at the end


class HashCache:
    """sha256 of file contents keyed by the stat identity of the file, plus record fingerprints.

    A change of content changes mtime/ctime (and usually size), and a replaced file gets a new
    inode, so a hit means the same bytes. Workers only read it; only this process writes it,
    in short transactions. No connection stays open here between writes: workers are forked
    from this process, and SQLite state must never cross a fork. Plain rollback journal, not
    WAL: a reader that meets a writer just counts a miss.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending: list[tuple[Any, ...]] = []
        self.pending_records: list[tuple[Any, ...]] = []
        self.forget: list[str] = []
        self.pending_dirs: list[tuple[Any, ...]] = []
        self.last_commit = time.monotonic()
        with contextlib.closing(self._connect()) as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS files (dev INTEGER, ino INTEGER, size INTEGER,"
                " mtime_ns INTEGER, ctime_ns INTEGER, sha256 TEXT, md5 TEXT, seen INTEGER,"
                " PRIMARY KEY (dev, ino))"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS records (path TEXT PRIMARY KEY, rkey TEXT,"
                " mode TEXT, paths TEXT, keys BLOB, meta TEXT, seen INTEGER)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS dirs (root TEXT, path TEXT, key TEXT, subdirs TEXT,"
                " arts TEXT, seen INTEGER, PRIMARY KEY (root, path))"
            )
            db.commit()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), timeout=1.0)
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
            db.execute("PRAGMA journal_mode=DELETE")
        return db

    def add(self, rows: Iterable[Sequence[Any]]) -> None:
        now = int(time.time())
        for row in rows:
            self.pending.append((*row[:7], now))
        if len(self.pending) > 20000:  # bounded memory
            self.flush()

    def due(self) -> bool:
        """Time to write what was learnt (the run loop decides when: see ``engine.Scheduler``)."""
        return bool(self.pending or self.pending_records or self.pending_dirs or self.forget) and (
            time.monotonic() - self.last_commit > FLUSH_SECONDS
        )

    def add_record(self, fp: dict[str, Any]) -> None:
        """Remember that a record verified clean with these files in this state."""
        self.pending_records.append(
            (
                fp["path"],
                fp["rkey"],
                fp["mode"],
                fp["paths"],
                bytes.fromhex(fp["keys"]),
                fp["meta"],
                int(time.time()),
            )
        )

    def add_dirs(self, rows: Iterable[Sequence[Any]]) -> None:
        """Remember directory listings (subdirectories, leftovers) under their stat key."""
        now = int(time.time())
        self.pending_dirs.extend((*row[:5], now) for row in rows)

    def forget_record(self, path: str) -> None:
        self.forget.append(path)

    def flush(self, prune: bool = False) -> None:
        """Write what was learnt; a locked cache (another run) only costs re-hashing later."""
        if self.pending or self.pending_records or self.forget or self.pending_dirs or prune:
            try:
                with contextlib.closing(self._connect()) as db:
                    forget = _storable([(p,) for p in self.forget])
                    db.executemany("DELETE FROM records WHERE path=?", forget)
                    db.executemany(
                        "INSERT OR REPLACE INTO records VALUES (?,?,?,?,?,?,?)",
                        _storable(self.pending_records),
                    )
                    db.executemany(
                        "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?)",
                        _storable(self.pending),
                    )
                    db.executemany(
                        "INSERT OR REPLACE INTO dirs VALUES (?,?,?,?,?,?)",
                        _storable(self.pending_dirs),
                    )
                    if prune:  # forget files not seen for half a year
                        cutoff = int(time.time()) - 180 * 86400
                        db.execute("DELETE FROM files WHERE seen < ?", (cutoff,))
                        db.execute("DELETE FROM records WHERE seen < ?", (cutoff,))
                        db.execute("DELETE FROM dirs WHERE seen < ?", (cutoff,))
                    db.commit()
            except sqlite3.Error:
                pass
        self.pending_records.clear()
        self.pending.clear()
        self.forget.clear()
        self.pending_dirs.clear()
        self.last_commit = time.monotonic()

    def close(self) -> None:
        self.flush(prune=True)


def _storable(rows: Iterable[Sequence[Any]]) -> list[Sequence[Any]]:
    """The rows SQLite can store: a name with undecodable bytes (a surrogate) is not
    remembered, which only costs hashing it again; storing it would raise."""
    kept = []
    for row in rows:
        try:
            for value in row:
                if isinstance(value, str):
                    value.encode("utf-8")
        except UnicodeEncodeError:
            continue
        kept.append(row)
    return kept


def open_hash_cache(mounts: Sequence[Mount]) -> tuple[HashCache | None, str]:
    """The user's hash cache, or None with the reason (network home, unwritable, ...)."""
    from condashare.host import dirs

    base = Path(dirs.write_dir(dirs.CACHE))
    mount = mount_for(base, mounts)
    if mount is not None and mount.possibly_remote:
        kind = "network" if mount.is_network else "possibly remote"
        return None, (
            f"hash cache disabled: the user cache dir {base} is on a {kind} filesystem "
            f"({mount.fstype}); SQLite is unsafe there, so every file is re-hashed"
        )
    path = base / "verify-hashes.sqlite3"
    try:
        base.mkdir(parents=True, exist_ok=True)
        try:
            return HashCache(path), f"hash cache: {base}"
        except sqlite3.DatabaseError:  # a damaged cache is only a cache: start a new one
            path.unlink(missing_ok=True)
            return HashCache(path), f"hash cache: {base} (damaged cache file replaced)"
    except OSError as exc:  # a read-only or full home: say it in words, not Python's repr
        from condashare.bounded.errnos import error_words

        return None, (
            f"hash cache disabled: {path} cannot be written "
            f"({error_words(exc.errno, exc.strerror or '')}); every file is hashed"
        )
    except sqlite3.Error as exc:
        return None, f"hash cache disabled: {path}: {exc}; every file is hashed"
