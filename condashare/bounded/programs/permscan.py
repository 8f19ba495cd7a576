"""Who may change a shared installation: ``permscan PREFIX MAX_ENTRIES BUDGET UID``.

Walks the most sensitive directories first (``bin``, ``condabin``, ``etc``, ``conda-meta``,
``shell``, then each environment's ``bin``, ``etc``, ``conda-meta``, then the rest) until
MAX_ENTRIES entries or BUDGET seconds, without following symlinks. Answers ``counts`` of
world-writable (not sticky directories), group-writable and owned-by-UID entries (the last only
when UID is not root and does not own PREFIX) with up to 20 examples each (``world``,
``group``, ``mine``), the entries per owner uid (``owners``), ``root_uid``, ``scanned`` and
``complete``.
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

FIRST = ("bin", "condabin", "etc", "conda-meta", "shell")
ENV_FIRST = ("bin", "etc", "conda-meta")
EXAMPLES = 20


def _starts(prefix: str) -> list[str]:
    starts = [os.path.join(prefix, d) for d in FIRST]
    envs = os.path.join(prefix, "envs")
    try:
        for name in sorted(os.listdir(envs)):
            starts.extend(os.path.join(envs, name, d) for d in ENV_FIRST)
    except OSError:
        pass
    return [*starts, prefix]


def scan(prefix: str, max_entries: int, budget: float, me: int, root_uid: int) -> dict[str, Any]:
    examples: dict[str, list[str]] = {"world": [], "group": [], "mine": []}
    counts = {"world": 0, "group": 0, "mine": 0}
    owners: dict[int, int] = {}

    def note(kind: str, path: str) -> None:
        counts[kind] += 1
        if len(examples[kind]) < EXAMPLES:
            examples[kind].append(path)

    walk = Walk([(d, "") for d in _starts(prefix)], max_entries, budget)
    for entry, st, _ in walk:
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            continue
        owners[st.st_uid] = owners.get(st.st_uid, 0) + 1
        if mode & 0o002 and not (stat.S_ISDIR(mode) and mode & 0o1000):
            note("world", entry.path)
        elif mode & 0o020:
            note("group", entry.path)
        if me != 0 and st.st_uid == me and root_uid != me:
            note("mine", entry.path)
        if stat.S_ISDIR(mode):
            walk.push(entry.path, "")
    return {
        "scanned": walk.count,
        "complete": walk.complete,
        "root_uid": root_uid,
        "counts": counts,
        **examples,
        "owners": {str(uid): n for uid, n in owners.items()},
    }


def main() -> None:
    prefix, max_entries, budget, me = sys.argv[1:5]
    try:
        root = os.lstat(prefix)
    except OSError as exc:
        fail(exc)
    answer(status="ok", **scan(prefix, int(max_entries), float(budget), int(me), root.st_uid))
