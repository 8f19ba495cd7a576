"""Which local processes hold files open (the holders of NFS silly-rename leftovers)."""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Sequence

HOLDER_SCAN_SECONDS = 2.0


def find_holders(paths: Sequence[str], budget: float = HOLDER_SCAN_SECONDS) -> dict[str, list[str]]:
    """Which local processes hold these files open: ``{path: ["1234 (python)", ...]}``.

    Linux: read ``/proc/*/fd`` links (never touches the files themselves, so a dead share
    cannot hang it). Elsewhere psutil's ``open_files``. Bounded by ``budget`` seconds; files held
    by processes on *other* hosts cannot be seen from here.
    """
    wanted = set(paths)
    found: dict[str, list[str]] = collections.defaultdict(list)
    if not wanted:
        return found
    deadline = time.monotonic() + budget
    me = os.getpid()
    if os.path.isdir("/proc/self/fd"):
        try:
            pids = [int(n) for n in os.listdir("/proc") if n.isdigit()]
        except OSError:
            pids = []
        for pid in pids:
            if time.monotonic() > deadline:
                break
            if pid == me:
                continue
            fd_dir = f"/proc/{pid}/fd"
            try:
                fds = os.listdir(fd_dir)
            except OSError:
                continue
            hit = set()
            for fd in fds:
                try:
                    target = os.readlink(f"{fd_dir}/{fd}")
                except OSError:
                    continue
                if target.endswith(" (deleted)"):
                    target = target[: -len(" (deleted)")]
                if target in wanted:
                    hit.add(target)
            if hit:
                try:
                    with open(f"/proc/{pid}/comm") as fh:
                        comm = fh.read().strip()
                except OSError:
                    comm = "?"
                for target in hit:
                    found[target].append(f"{pid} ({comm})")
        return found
    try:
        import psutil
    except ImportError:
        return found
    for proc in psutil.process_iter(["pid", "name"]):
        if time.monotonic() > deadline:
            break
        try:
            for item in proc.open_files():
                if item.path in wanted:
                    found[item.path].append(f"{proc.info['pid']} ({proc.info['name']})")
        except (psutil.Error, OSError):
            continue
    return found
