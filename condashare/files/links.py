"""Following symlinks on the way to a user file, only where nobody else could have planted them.

Writers follow symlinks (dotfile managers link ``~/.bashrc`` into a repository). But ``$ENV``,
``ZDOTDIR`` or ``XDG_CONFIG_HOME`` may point into a directory others can write, such as a
sticky ``/tmp/shared``: a link another user put there would make condashare rewrite whatever
file it names (the victim's ``~/.ssh/authorized_keys``) with the victim's rights. The kernel's
``protected_symlinks`` guards only sticky world-writable directories and only for links it
follows itself; ``realpath`` follows anything.

So every link met on the way (the last component or any directory before it) is followed only
when the user running condashare owns it, root owns it (system links such as ``/bin`` or
macOS ``/var``; root can write anything anyway), or the directory holding it can be written by
the user alone (owned by the user, no group or other write bit). Anything else is refused with
:class:`UnsafeLink`, before a byte is written.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections import deque

MAX_HOPS = 40  # as the kernel's MAXSYMLINKS


class UnsafeLink(PermissionError):
    """A symlink on the way to a file was planted where others can write; nothing was written.

    A PermissionError, so writers that report any OSError of a write report this one too.
    """

    def __init__(self, link: str, reason: str) -> None:
        super().__init__(errno.EPERM, reason, link)
        self.link = link
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.link}: {self.reason}"


def _owner_name(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (KeyError, ImportError):
        return f"uid {uid}"


def link_trusted(link: os.stat_result, directory: os.stat_result, uid: int) -> bool:
    """The rule above, for a link's own stat (lstat) and its directory's stat."""
    if link.st_uid in (uid, 0):
        return True
    others_write = directory.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return directory.st_uid == uid and not others_write


def _refusal(link: str, st: os.stat_result, directory: str) -> str:
    return (
        f"is a symlink owned by {_owner_name(st.st_uid)} in {directory}, a directory others "
        "can write; condashare follows a symlink only when you (or root) own it or its "
        "directory is writable by you alone, so it refuses to write through this one "
        "(remove the link, or point the variable that leads here elsewhere)"
    )


def resolve_trusted(path: str, uid: int | None = None) -> tuple[str, bool]:
    """The file a write to ``path`` lands in (symlinks followed, even dangling ones), and
    whether ``path`` itself is a symlink. UnsafeLink for a link the rule does not trust, or
    for a symlink loop. Parts that do not exist are kept as written (the write creates them).
    """
    uid = os.geteuid() if uid is None else uid
    absolute = os.path.abspath(path)
    is_link = os.path.islink(absolute)
    todo = deque(absolute.split("/"))
    resolved = "/"
    hops = 0
    while todo:
        name = todo.popleft()
        if name in ("", "."):
            continue
        if name == "..":
            resolved = posixpath.dirname(resolved)
            continue
        here = posixpath.join(resolved, name)
        try:
            st = os.lstat(here)
        except OSError:
            # missing (or not a directory): the rest cannot hold a link; the write reports it
            return posixpath.normpath(posixpath.join(here, *todo)), is_link
        if not stat.S_ISLNK(st.st_mode):
            resolved = here
            continue
        hops += 1
        if hops > MAX_HOPS:
            raise UnsafeLink(path, "is a symlink loop (too many levels of symbolic links)")
        if not link_trusted(st, os.stat(resolved), uid):
            raise UnsafeLink(here, _refusal(here, st, resolved))
        target = os.readlink(here)
        if target.startswith("/"):
            resolved = "/"
        todo.extendleft(reversed(target.split("/")))
    return resolved, is_link
