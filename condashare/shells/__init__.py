"""One record per shell: its names, its dialect, and which startup files it reads.

Everything that asks "which file does this shell read" (``init``'s plan, ``--reverse``, the
doctor's startup checks) asks :mod:`condashare.shells.records`, so the answers cannot drift
apart. The dialects (quoting, templates) are in :mod:`condashare.shells.dialects`.
"""

from __future__ import annotations

from condashare.shells.records import (
    SHELLS,
    Home,
    Placement,
    Shell,
    ShellName,
    lookup,
    shell_names,
)

__all__ = ["SHELLS", "Home", "Placement", "Shell", "ShellName", "lookup", "shell_names"]
