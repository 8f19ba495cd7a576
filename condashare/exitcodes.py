"""The exit codes as module constants; they live in :class:`condashare.errors.ExitCode`.

Kept so code written against the old names still works; new code imports ``ExitCode``.
"""

from __future__ import annotations

from condashare.errors import ExitCode

OK = ExitCode.OK
PROBLEMS = ExitCode.PROBLEMS
USAGE = ExitCode.USAGE
INCOMPLETE = ExitCode.INCOMPLETE
