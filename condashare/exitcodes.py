"""The exit codes as module constants; they live in :class:`condashare.errors.ExitCode`.

Kept so code written against the old names still works; new code imports ``ExitCode``.
"""

from __future__ import annotations

from condashare.errors import ExitCode

OK: int = ExitCode.OK
PROBLEMS: int = ExitCode.PROBLEMS
USAGE: int = ExitCode.USAGE
INCOMPLETE: int = ExitCode.INCOMPLETE
