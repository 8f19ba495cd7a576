"""A conda-style lock in a directory: ``locktest DIRECTORY OFFSET``.

Creates ``.condashare-locktest-PID``, takes an exclusive ``lockf`` lock on one byte at OFFSET
the way conda locks its caches, lets a second process try the same lock (it must be refused,
or locks do nothing here), then releases and deletes the file. Answers ``conflict_seen`` and
``second_process`` (that process's exit code: 10 refused, 0 granted, 20 another error), or an
error with the ``stage`` (create | lock) that failed. On NFS without a lock daemon the lock
fails (ENOLCK) or hangs; the parent abandons a hung test.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sys

from condashare.bounded.programs.reply import answer, fail, failure

TYPE_CHECKING = False  # see the package docstring: typing is slow to import
if TYPE_CHECKING:
    from typing import Any

REFUSED, GRANTED, OTHER = 10, 0, 20


def _second_process(name: str, offset: int) -> int:
    """Try the lock from a forked process; its exit code says what happened."""
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(name, os.O_RDWR)
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
            os._exit(GRANTED)
        except OSError as exc:
            os._exit(REFUSED if exc.errno in (errno.EAGAIN, errno.EACCES) else OTHER)
    _, status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1


def run(directory: str, offset: int) -> dict[str, Any]:
    name = os.path.join(directory, f".condashare-locktest-{os.getpid()}")
    try:
        fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        fail(exc, stage="create")
    try:
        try:
            os.write(fd, b"\0" * 64)
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except OSError as exc:
            return {**failure(exc, stage="lock"), "status": "error"}
        code = _second_process(name, offset)
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)
        return {"status": "ok", "conflict_seen": code == REFUSED, "second_process": code}
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)


def main() -> None:
    answer(**run(sys.argv[1], int(sys.argv[2])))
