"""Metadata latency and read throughput of an installation: ``iospeed PREFIX STATS BYTES BUDGET``.

Stats up to STATS entries of ``conda-meta`` (of PREFIX itself when there is none) within half of
BUDGET seconds, then reads up to BYTES of the largest of ``bin/python``, ``lib/libpython*`` and a
few ``pkgs/*.conda``, dropping it from the page cache first where the OS allows, until BUDGET.
Answers ``stats``, ``stat_seconds``, ``read_file``, ``read_bytes`` and ``read_seconds``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import sys
import time

from condashare.bounded.programs.reply import STARTED, answer, fail


def _time_stats(prefix: str, max_stats: int, budget: float) -> tuple[int, float]:
    meta = os.path.join(prefix, "conda-meta")
    try:
        names = sorted(os.listdir(meta))[:max_stats]
    except FileNotFoundError:
        meta = prefix
        names = sorted(os.listdir(prefix))[:max_stats]
    began = time.monotonic()
    count = 0
    for name in names:
        os.stat(os.path.join(meta, name))
        count += 1
        if time.monotonic() - STARTED > budget / 2:
            break
    return count, time.monotonic() - began


def _largest(prefix: str) -> str | None:
    candidates = [os.path.join(prefix, "bin", "python")]
    candidates += glob.glob(os.path.join(prefix, "lib", "libpython*"))
    candidates += glob.glob(os.path.join(prefix, "pkgs", "*.conda"))[:5]
    best, size = None, -1
    for candidate in candidates:
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if st.st_size > size:
            best, size = candidate, st.st_size
    return best


def _time_read(path: str, max_bytes: int, budget: float) -> tuple[int, float]:
    fd = os.open(path, os.O_RDONLY)
    try:
        if hasattr(os, "posix_fadvise"):
            with contextlib.suppress(OSError):
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        began = time.monotonic()
        done = 0
        while done < max_bytes and time.monotonic() - STARTED < budget:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            done += len(chunk)
        return done, time.monotonic() - began
    finally:
        os.close(fd)


def main() -> None:
    prefix, max_stats, max_bytes, budget = sys.argv[1:5]
    try:
        os.stat(prefix)
        stats, stat_seconds = _time_stats(prefix, int(max_stats), float(budget))
        best = _largest(prefix)
        read_bytes, read_seconds = 0, 0.0
        if best:
            read_bytes, read_seconds = _time_read(best, int(max_bytes), float(budget))
    except OSError as exc:
        fail(exc)
    answer(
        status="ok",
        stats=stats,
        stat_seconds=stat_seconds,
        read_file=best,
        read_bytes=read_bytes,
        read_seconds=read_seconds,
    )
