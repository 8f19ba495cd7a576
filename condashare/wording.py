"""How numbers read in messages: one way to write a duration, one way to count things.

Messages are read by people: ``0.481952 s`` and ``(1 checks)`` make a tool look careless, and
the same time limit written three ways makes people wonder whether it is the same.
"""

from __future__ import annotations


def seconds_text(seconds: float) -> str:
    """``480 ms`` below a second, ``2.5 s`` below ten, ``20 s`` from there (never raw floats)."""
    if seconds < 0.9995:
        return f"{max(seconds, 0.0) * 1000:.0f} ms"
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s"


def plural(count: int, noun: str, many: str = "") -> str:
    """``1 check``, ``2 checks``; ``many`` for irregular plurals."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def agree(count: int, one: str, many: str) -> str:
    """The verb that goes with ``count`` things: ``1 file is``, ``3 files are``."""
    return one if count == 1 else many
