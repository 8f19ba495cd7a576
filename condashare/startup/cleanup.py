"""What ``init`` leaves besides file contents: directories it created for a new file (fish's
``conf.d``), and temporary files a killed run left next to a startup file. Found while planning,
removed after the edits; every touch of a possibly remote home through the bounded writer."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Callable, Iterable, Sequence

from condashare.files.read import Reader
from condashare.files.write import bounded_write


def missing_dirs(path: str, home: str, exists: Callable[[str], bool]) -> list[str]:
    """The directories inside ``home`` that writing ``path`` would create, innermost first."""
    top = home.rstrip("/") + "/"
    out: list[str] = []
    parent = os.path.dirname(path)
    while parent.startswith(top) and not exists(parent):
        out.append(parent)
        parent = os.path.dirname(parent)
    return out


def _temp_pattern(name: str) -> re.Pattern[str]:
    # files/write.py's atomic writes: mkstemp(prefix="." + name + ".tmp-"), 8 random characters
    return re.compile(r"\." + re.escape(name) + r"\.tmp-[A-Za-z0-9_]{8}")


def _list_stale(directory: str, names: Sequence[str]) -> list[str]:
    """Runs here or in a bounded child: temp files of ``names`` in ``directory``."""
    try:
        entries = os.listdir(directory)
    except OSError:
        return []
    patterns = [_temp_pattern(n) for n in names]
    found = []
    for entry in entries:
        if not any(p.fullmatch(entry) for p in patterns):
            continue
        full = os.path.join(directory, entry)
        with contextlib.suppress(OSError):
            st = os.lstat(full)  # a regular file of this user's, never a link
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid():
                found.append(full)
    return sorted(found)


def stale_temp_files(paths: Iterable[str], reader: Reader) -> list[str]:
    """Temporary files an interrupted write of one of ``paths`` left behind (only ``init``
    writes these names, and it holds the init lock while it does)."""
    by_dir: dict[str, list[str]] = {}
    for path in paths:
        by_dir.setdefault(os.path.dirname(path), []).append(os.path.basename(path))
    out: list[str] = []
    for directory, names in by_dir.items():
        out += bounded_write(_list_stale, (directory, names), [directory], reader, directory)
    return out


def _remove(files: Sequence[str], dirs: Sequence[str]) -> list[str]:
    """Runs here or in a bounded child: unlink ``files``, rmdir ``dirs`` that are empty."""
    removed = []
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            removed.append(path)
    for path in dirs:
        try:
            os.rmdir(path)
            removed.append(path)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                raise
    return removed


def remove(files: Sequence[str], dirs: Sequence[str], reader: Reader) -> list[str]:
    """Remove the stale files and the directories (if still empty); what was removed."""
    if not files and not dirs:
        return []
    places = list(files) + list(dirs)
    return bounded_write(_remove, (list(files), list(dirs)), places, reader, (files or dirs)[0])
