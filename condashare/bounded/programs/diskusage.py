"""Free space and a bounded ``du``: ``diskusage TOP MAX_ENTRIES BUDGET free|du``.

``free`` answers ``free`` and ``total`` bytes of TOP's filesystem. ``du`` also walks TOP (hard
links counted once, allocated blocks like ``du``) until MAX_ENTRIES entries or BUDGET seconds,
and answers ``bytes``, ``entries``, ``complete`` (false when it stopped early) and the ten
``largest`` top-level entries as ``[name, bytes]``.
"""

from __future__ import annotations

import os
import stat
import sys

from condashare.bounded.programs.reply import answer, fail
from condashare.bounded.programs.walk import Walk

TYPE_CHECKING = False  # see the package docstring: typing is slow to import
if TYPE_CHECKING:
    from typing import Any


def usage_of(top: str, max_entries: int, budget: float) -> dict[str, Any]:
    seen: set[tuple[int, int]] = set()
    size = 0
    children: dict[str, int] = {}
    walk = Walk([(top, "")], max_entries, budget)
    for entry, st, owner in walk:
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue
        seen.add(key)
        used = getattr(st, "st_blocks", 0) * 512 or st.st_size
        size += used
        owner = owner or entry.name
        children[owner] = children.get(owner, 0) + used
        if stat.S_ISDIR(st.st_mode):
            walk.push(entry.path, owner)
    largest = sorted(children.items(), key=lambda kv: -kv[1])[:10]
    return {"bytes": size, "entries": walk.count, "complete": walk.complete, "largest": largest}


def main() -> None:
    top, max_entries, budget, what = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    try:
        vfs = os.statvfs(top)
    except OSError as exc:
        fail(exc)
    free, total = vfs.f_bavail * vfs.f_frsize, vfs.f_blocks * vfs.f_frsize
    if what == "free":
        answer(status="ok", free=free, total=total)
    usage = usage_of(top, max_entries, budget)
    answer(status="ok", **usage, free=free, total=total)
