"""What ``conda clean --all`` would free in one package cache, by conda's own rules, plus the
inode counts of its filesystem: ``condaclean PKGS MAX_ENTRIES BUDGET`` (MAX_ENTRIES 0: only
the inode counts, for any directory).

conda's rules (``conda/cli/main_clean.py`` at 0f64223): *tarballs* are the files directly in
the cache whose name ends in ``.conda`` or ``.tar.bz2`` (or those with ``.partial``); a file
with more than one hard link is skipped. *Packages* are the sub-directories that have an
``info/`` directory and none of whose files has more than one hard link (one linked into an
environment means the package is in use, and conda skips it whole); a package's size is the sum
of its files' ``st_size``. The *index cache* is ``cache/``, the *logs* ``.logs/*``. Answers
``tarballs``, ``packages``, ``index_cache``, ``logfiles`` as ``{count, bytes, files}``,
``complete`` (false when MAX_ENTRIES or BUDGET stopped the walk), and ``inodes``:
``{total, free}`` from statvfs (``null`` where the filesystem does not count inodes).
"""

from __future__ import annotations

import os
import stat
import sys
import time

from condashare.bounded.programs.reply import answer, fail

TYPE_CHECKING = False  # see the package docstring: typing is slow to import
if TYPE_CHECKING:
    from typing import Any

ARCHIVES = (".conda", ".tar.bz2")
PARTIAL = ".partial"


class Budget:
    """Stops the walk after ``limit`` entries or at ``deadline``."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.left = limit
        self.deadline = time.monotonic() + seconds
        self.complete = True

    def take(self) -> bool:
        self.left -= 1
        if self.left < 0 or time.monotonic() > self.deadline:
            self.complete = False
            return False
        return True


def _tally() -> dict[str, int]:
    return {"count": 0, "bytes": 0, "files": 0}


def package_size(path: str, budget: Budget) -> tuple[int, int] | None:
    """(bytes, files) of an unused package dir; None when a file is hard-linked (in use)."""
    size = files = 0
    stack = [path]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if not budget.take():
                    return None
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
                    continue
                if st.st_nlink > 1:
                    return None
                size += st.st_size
                files += 1
    return size, files


def tree_size(path: str, budget: Budget) -> tuple[int, int]:
    size = files = 0
    stack = [path]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except FileNotFoundError:
            continue
        with it:
            for entry in it:
                if not budget.take():
                    return size, files
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
                else:
                    size += st.st_size
                    files += 1
    return size, files


def scan(pkgs: str, budget: Budget) -> dict[str, Any]:
    tarballs, packages, index, logs = _tally(), _tally(), _tally(), _tally()
    with os.scandir(pkgs) as it:
        entries = list(it)
    for entry in entries:
        if not budget.take():
            break
        st = entry.stat(follow_symlinks=False)
        name = entry.name
        if stat.S_ISREG(st.st_mode):
            base = name[: -len(PARTIAL)] if name.endswith(PARTIAL) else name
            if base.endswith(ARCHIVES) and st.st_nlink == 1:
                tarballs["count"] += 1
                tarballs["bytes"] += st.st_size
                tarballs["files"] += 1
        elif stat.S_ISDIR(st.st_mode):
            if name == "cache":
                size, files = tree_size(entry.path, budget)
                index.update(count=1, bytes=size, files=files)
            elif name == ".logs":
                size, files = tree_size(entry.path, budget)
                logs.update(count=files, bytes=size, files=files)
            elif os.path.isdir(os.path.join(entry.path, "info")):
                got = package_size(entry.path, budget)
                if got is not None:
                    packages["count"] += 1
                    packages["bytes"] += got[0]
                    packages["files"] += got[1]
    return {"tarballs": tarballs, "packages": packages, "index_cache": index, "logfiles": logs}


def inodes(path: str) -> dict[str, int] | None:
    vfs = os.statvfs(path)
    if not vfs.f_files:
        return None  # the filesystem does not count inodes (some NFS servers, btrfs)
    return {"total": vfs.f_files, "free": vfs.f_favail}


def main() -> None:
    pkgs, limit, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    budget = Budget(limit, seconds)
    try:
        counts = inodes(pkgs)
        if limit == 0:  # only the inode counts
            answer(status="ok", inodes=counts)
        found = scan(pkgs, budget)
    except OSError as exc:
        fail(exc)
    answer(status="ok", complete=budget.complete, inodes=counts, **found)
