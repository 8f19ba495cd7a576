"""Exit codes shared by every command (and documented in docs/)."""

from __future__ import annotations

OK = 0  # healthy / done
PROBLEMS = 1  # ran fine and found problems
USAGE = 2  # bad command line or configuration (site file, condarc, platform override)
INCOMPLETE = 3  # could not finish (timeouts, crashes)
