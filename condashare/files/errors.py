"""Why an edit of a user file did not happen, in words a user can act on.

Every failure of a write (a full disk, a read-only filesystem, a quota, a directory where the
file should be) becomes an :class:`EditError` naming the file and saying what was left as it
was — never a traceback or an "internal error": these are things a user can cause and fix.
"""

from __future__ import annotations

import errno

from condashare.errors import CondashareError, ExitCode


class EditError(CondashareError):
    """A file cannot be edited safely; nothing was changed. The message names the file."""

    exit_code: int = ExitCode.USAGE  # fix the file (or the command line) and run again

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class EditConflict(EditError):
    """The file changed after the edit was planned; it was left alone."""


class EditUnresponsive(EditError):
    """The share holding the file did not answer in time (exit 3: could not finish)."""

    exit_code = ExitCode.INCOMPLETE


class EditWriteFailed(EditError):
    """The system refused the write (disk full, read-only filesystem ...); the file is as it
    was (every write is atomic). Exit 3: the command could not finish."""

    exit_code = ExitCode.INCOMPLETE


_WORDS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "your disk quota is exceeded",
    errno.EROFS: "the filesystem is mounted read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EISDIR: "it is a directory",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ELOOP: "a symlink loop (too many levels of symbolic links)",
    errno.ENAMETOOLONG: "the path is too long",
    errno.EIO: "an I/O error",
    errno.EEXIST: "something else is already there",
}


def os_words(exc: OSError) -> str:
    """A short reason for an OSError (``no space left on the device``)."""
    return _WORDS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()


def write_failed(path: str, exc: OSError, doing: str, kept: str) -> EditWriteFailed:
    """``<path>: cannot <doing>: <reason>; <kept>`` for an OSError of a write."""
    return EditWriteFailed(path, f"cannot {doing}: {os_words(exc)}; {kept}")
