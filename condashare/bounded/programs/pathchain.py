"""Every directory entry the kernel looks up to reach a path: ``pathchain PATH``.

Resolves PATH one component at a time as the kernel does, with ``lstat`` and ``readlink``
(symlinks are followed, their targets resolved the same way, at most 40 hops), and answers
``steps``: one ``[dir, path, kind, mode, uid, gid, link]`` per lookup, where ``dir`` is the real
directory holding the entry ("" for ``/``) and ``kind`` is dir | file | link | other | missing
(the walk ends at the first missing entry). Who can change what PATH leads to follows from
these alone: see :mod:`condashare.site.trust`.
"""

from __future__ import annotations

import os
import stat
import sys

from condashare.bounded.programs.reply import answer, fail

TYPE_CHECKING = False  # see the package docstring: typing is slow to import
if TYPE_CHECKING:
    from typing import Any

MAX_HOPS = 40  # the kernel's limit on symlinks in one lookup


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "link"
    return "file" if stat.S_ISREG(mode) else "other"


def _step(directory: str, path: str, st: os.stat_result, link: str = "") -> list[Any]:
    return [directory, path, _kind(st.st_mode), st.st_mode, st.st_uid, st.st_gid, link]


def walk(path: str) -> list[list[Any]]:
    """The lookups that reach ``path`` (absolute), in order; raises OSError but for ENOENT."""
    steps = [_step("", "/", os.lstat("/"))]
    pending = [p for p in path.split("/") if p]
    current, hops = "/", 0
    while pending:
        name = pending.pop(0)
        if name == ".":
            continue
        if name == "..":
            current = os.path.dirname(current) or "/"
            continue
        entry = os.path.join(current, name)
        try:
            st = os.lstat(entry)
        except FileNotFoundError:
            steps.append([current, entry, "missing", 0, -1, -1, ""])
            break
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(entry)
            steps.append(_step(current, entry, st, target))
            hops += 1
            if hops > MAX_HOPS:
                raise OSError(40, "too many levels of symbolic links", path)
            if target.startswith("/"):
                current = "/"
            pending = [p for p in target.split("/") if p] + pending
            continue
        steps.append(_step(current, entry, st))
        if pending and not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(20, "not a directory", entry)
        current = entry
    return steps


def main() -> None:
    path = sys.argv[1]
    try:
        steps = walk(path)
    except OSError as exc:
        fail(exc)
    answer(status="ok", steps=steps)
