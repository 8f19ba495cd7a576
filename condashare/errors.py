"""One error vocabulary: every error a user can cause carries the exit code it ends the run with.

Exit codes (documented in docs/): 0 healthy or done, 1 ran fine and found problems, 2 bad
command line or configuration (site file, condarc, platform override, a file condashare refuses
to edit), 3 could not finish (a share that did not answer, a timeout, a crash). The CLI's last
line of defence turns any :class:`CondashareError` into its message and its ``exit_code``, so a
cause a user can fix never ends as "internal error".
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The four exit codes of every condashare command."""

    OK = 0
    PROBLEMS = 1
    USAGE = 2
    INCOMPLETE = 3


class CondashareError(Exception):
    """Base of condashare's errors: a message naming what and where, and an exit code.

    Subclasses keep their own constructors (a path and a line, a file read ...) and set
    ``exit_code`` as a class default (2 unless said otherwise) or per instance (a share that
    did not answer: 3).
    """

    exit_code: int = ExitCode.USAGE

    def __init__(self, message: str = "", exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(CondashareError):
    """A configuration or command-line problem the user must fix (exit 2)."""


class Unresponsive(CondashareError):
    """A share stopped answering while it was needed (exit 3: could not finish)."""

    exit_code = ExitCode.INCOMPLETE
