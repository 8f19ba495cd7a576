"""Metadata latency and read throughput of an installation: ``iospeed PREFIX STATS BYTES BUDGET``.

Stats up to STATS entries of ``conda-meta`` (of PREFIX itself when there is none) within half of
BUDGET seconds, then reads up to BYTES of the largest of ``bin/python``, ``lib/libpython*`` and a
few ``pkgs/*.conda`` that this user may open, dropping it from the page cache first where the OS
allows, until BUDGET. Answers ``stats``, ``stat_seconds``, ``read_file``, ``read_bytes``,
``read_seconds`` and ``unreadable`` (larger candidates the user may not open).
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


def _candidates(prefix: str) -> list[str]:
    """The well-known big files, largest first: ``bin/python``, ``lib/libpython*``, a few
    ``pkgs/*.conda``."""
    candidates = [os.path.join(prefix, "bin", "python")]
    candidates += glob.glob(os.path.join(prefix, "lib", "libpython*"))
    candidates += glob.glob(os.path.join(prefix, "pkgs", "*.conda"))[:5]
    sized: list[tuple[int, str]] = []
    for candidate in candidates:
        try:
            sized.append((os.stat(candidate).st_size, candidate))
        except OSError:
            continue
    return [path for _, path in sorted(sized, key=lambda item: -item[0])]


def _open_largest(prefix: str) -> tuple[str | None, int | None, int]:
    """The largest candidate this user can open (admins often leave package archives 0600:
    unreadable to everyone else, which says nothing about the share's speed), its descriptor,
    and how many larger ones could not be opened."""
    refused = 0
    for path in _candidates(prefix):
        try:
            return path, os.open(path, os.O_RDONLY), refused
        except PermissionError:
            refused += 1
    return None, None, refused


def _time_read(fd: int, max_bytes: int, budget: float) -> tuple[int, float]:
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
        best, fd, refused = _open_largest(prefix)
        read_bytes, read_seconds = 0, 0.0
        if fd is not None:
            read_bytes, read_seconds = _time_read(fd, int(max_bytes), float(budget))
    except OSError as exc:
        fail(exc)
    answer(
        status="ok",
        stats=stats,
        stat_seconds=stat_seconds,
        read_file=best,
        read_bytes=read_bytes,
        read_seconds=read_seconds,
        unreadable=refused,
    )
