"""A SQLite write and lock test in a directory: ``sqlitetest DIRECTORY``.

Creates ``.condashare-sqlitetest-PID.db``, writes a row inside a write transaction, checks that a
second connection is refused the write lock meanwhile (``lock_enforced``), commits, reads the row
back (``rows``), then deletes the database and its journals. A failure names its ``stage``
(open | write | lock | commit | read).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys

from condashare.bounded.programs.reply import answer

TYPE_CHECKING = False  # see the package docstring: typing is slow to import
if TYPE_CHECKING:
    from typing import Any


def run(directory: str) -> dict[str, Any]:
    name = os.path.join(directory, f".condashare-sqlitetest-{os.getpid()}.db")
    stage = "open"
    first = second = None
    try:
        first = sqlite3.connect(name, timeout=0, isolation_level=None)
        stage = "write"
        first.execute("create table t (x)")
        first.execute("begin immediate")
        first.execute("insert into t values (1)")
        stage = "lock"
        second = sqlite3.connect(name, timeout=0, isolation_level=None)
        try:
            second.execute("begin immediate")
            locked = False
            second.execute("rollback")
        except sqlite3.OperationalError as exc:
            locked = "locked" in str(exc) or "busy" in str(exc)
        stage = "commit"
        first.execute("commit")
        stage = "read"
        count = second.execute("select count(*) from t").fetchone()[0]
        return {"status": "ok", "lock_enforced": locked, "rows": count}
    except (sqlite3.Error, OSError) as exc:
        number = getattr(exc, "errno", 0) or 0
        return {"status": "error", "stage": stage, "error": str(exc), "errno": number}
    finally:
        for connection in (first, second):
            try:
                if connection is not None:
                    connection.close()
            except sqlite3.Error:
                pass
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(name + suffix)


def main() -> None:
    answer(**run(sys.argv[1]))
