"""User files (startup files, condarc files, the site file, condashare's own state).

:mod:`condashare.files.read` is the one reader every command uses for them. The writer
(:mod:`condashare.files.write`) reads through it too and moves here in a later step.
"""

from __future__ import annotations
