"""Find conda installations (root prefixes) under a directory: ``condaroots DEPTH LIMIT DIR``.

A root prefix is a directory with ``conda-meta/`` and ``etc/profile.d/conda.sh`` (what the
startup block sources); an environment has the first but not the second. DIR itself counts,
then its sub-directories down to DEPTH levels (symlinks to directories followed, hidden names
skipped), at most LIMIT directories looked at. Nothing below a root is searched (its ``envs/``
and ``pkgs/`` hold environments and packages, not installations).

Answer: ``roots`` (``[path, dev, ino]``, in walk order: DIR, then names sorted), ``looked``
(directories looked at) and ``complete`` (False when LIMIT stopped the search).
"""

from __future__ import annotations

import os
import sys

from condashare.bounded.programs.reply import answer, fail

TYPE_CHECKING = False  # see the package docstring: typing is slow to import
if TYPE_CHECKING:
    from typing import Any


def _is_root(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "conda-meta")) and os.path.isfile(
        os.path.join(path, "etc", "profile.d", "conda.sh")
    )


def search(top: str, depth: int, limit: int) -> dict[str, Any]:
    roots: list[list[Any]] = []
    looked = 0
    complete = True
    queue = [(top, 0)]
    while queue:
        path, level = queue.pop(0)
        if looked >= limit:
            complete = False
            break
        looked += 1
        if _is_root(path):
            st = os.stat(path)
            roots.append([path, st.st_dev, st.st_ino])
            continue
        if level >= depth:
            continue
        try:
            names = sorted(os.listdir(path))
        except OSError:
            if level == 0:
                raise
            continue
        for name in names:
            child = os.path.join(path, name)
            if not name.startswith(".") and os.path.isdir(child):
                queue.append((child, level + 1))
    return {"roots": roots, "looked": looked, "complete": complete}


def main() -> None:
    depth, limit, top = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    try:
        os.stat(top)
        found = search(top, depth, limit)
    except OSError as exc:
        fail(exc)
    answer(status="ok", **found)
