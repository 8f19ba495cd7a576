"""Atomic replacement of a user file (private helper; to be unified with fileedit.py at merge).

Temp file in the target's own directory, fsync, rename over the target, fsync the directory.
A symlinked path is written at its final target, so the link stays a link. The mode is kept.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def resolve_target(path: str) -> Path:
    """The file a write to ``path`` should replace: symlinks followed, even dangling ones."""
    return Path(os.path.realpath(path))


def atomic_write(path: str, data: bytes, default_mode: int = 0o644) -> str:
    """Replace ``path``'s content with ``data``; returns the real file written."""
    target = resolve_target(path)
    directory = target.parent
    directory.mkdir(parents=True, exist_ok=True)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = default_mode & ~umask
    fd, tmp_name = tempfile.mkstemp(
        dir=directory, prefix="." + target.name + ".", suffix=".condashare-tmp"
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(mode)
        tmp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return str(target)
