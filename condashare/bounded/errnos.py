"""The words for what a failing share answered, and which errors mean the share is broken.

ESTALE, EIO and ENOTCONN mean the share (its server, its export, its client process) is broken,
not that a file is absent, and are never reported as "missing". Standard library only and
nothing else: the verify engine needs these words without the probes of
:mod:`condashare.bounded.liveness` (which re-exports them).
"""

from __future__ import annotations

import errno as errno_mod
import os

# errno -> what a user should read. Network-filesystem failures first: they mean the share (its
# server, its export, its client process) is broken, whatever file was asked for.
_WORDS: dict[int, str] = {
    errno_mod.ESTALE: "stale file handle",
    errno_mod.EIO: "I/O error",
    errno_mod.ENOTCONN: "transport endpoint not connected",
    errno_mod.ETIMEDOUT: "timed out",
    errno_mod.EHOSTDOWN: "server down",
    errno_mod.EHOSTUNREACH: "server unreachable",
    errno_mod.ENETDOWN: "network down",
    errno_mod.ENETUNREACH: "network unreachable",
    errno_mod.ECONNREFUSED: "connection refused",
    errno_mod.ECONNRESET: "connection reset",
    errno_mod.ECONNABORTED: "connection aborted",
    errno_mod.EACCES: "permission denied",
    errno_mod.EPERM: "operation not permitted",
    errno_mod.ENOENT: "missing",
    errno_mod.ENOTDIR: "not a directory",
}
SHARE_FAILURES = frozenset(
    {
        errno_mod.ESTALE,
        errno_mod.EIO,
        errno_mod.ENOTCONN,
        errno_mod.ETIMEDOUT,
        errno_mod.EHOSTDOWN,
        errno_mod.EHOSTUNREACH,
        errno_mod.ENETDOWN,
        errno_mod.ENETUNREACH,
        errno_mod.ECONNREFUSED,
        errno_mod.ECONNRESET,
        errno_mod.ECONNABORTED,
    }
)


def error_words(err: object, strerror: str = "") -> str:
    """``stale file handle (ESTALE)``, ``I/O error (EIO)`` ...; the system's text otherwise
    (``strerror`` only when there is no errno). ``err`` may come from JSON: non-ints are none."""
    code = err if isinstance(err, int) and not isinstance(err, bool) else 0
    name = errno_mod.errorcode.get(code, "")
    words = _WORDS.get(code)
    if words is None:
        text = os.strerror(code) if code else (strerror or "error")
        words = text[:1].lower() + text[1:]
    return f"{words} ({name})" if name else words


def is_share_failure(err: int | None) -> bool:
    """Does this errno say the share is broken (rather than something about one file)?"""
    return err in SHARE_FAILURES
