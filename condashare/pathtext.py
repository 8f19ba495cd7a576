"""Relations between paths decided by string work alone, so asking never touches a path (one on
a dead share would hang the asker). Callers pass absolute, normalised paths."""

from __future__ import annotations


def within(path: str, top: str) -> bool:
    """Is ``path`` ``top`` itself or below it? ``/a/bc`` is not below ``/a/b``; a trailing
    slash on ``top`` does not matter."""
    top = top.rstrip("/")
    return path == top or path.startswith(top + "/")
