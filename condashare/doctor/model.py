"""What a doctor check is (id, group, budget, function, fixer) and what a fix did.

Findings and severities live in :mod:`condashare.findings` (shared with verify and admin);
they are re-exported here for the checks that import them from this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from condashare.findings import Finding, Severity

if TYPE_CHECKING:
    from condashare.doctor.context import Context

__all__ = ["Check", "CheckFunction", "Finding", "FixFunction", "FixOutcome", "Severity"]


# A check's function: given the run's Context, return what it found (an OK finding when healthy).
CheckFunction = Callable[["Context"], "list[Finding]"]
# A fixer: given the Context and the check's fixable findings, plan (apply=False) or apply the fix.
FixFunction = Callable[["Context", "list[Finding]", bool], "FixOutcome"]

DEFAULT_BUDGET = 10.0  # seconds a check may run before it is reported as "did not finish"


@dataclass(frozen=True)
class Check:
    """One diagnostic: a stable id (``mount.responsive``), its group, a title and a function.

    ``run`` returns findings and never prints. The runner gives it ``budget`` seconds (capped by
    the run's deadline) in a child process, so a check stuck on a dead share cannot stall the
    others. ``fixer`` (optional) can repair what the check finds, only in the user's own files.
    ``deep`` checks run only with ``--deep`` or when named explicitly. ``alone`` checks start
    once the others have finished: a measurement of the share must not time our own load.
    """

    id: str
    group: str
    title: str
    run: CheckFunction
    budget: float = DEFAULT_BUDGET
    fixer: FixFunction | None = None
    deep: bool = False
    description: str = ""
    alone: bool = False


@dataclass(frozen=True)
class FixOutcome:
    """What a fixer did or would do: a summary, a unified diff or list, and the files touched."""

    check: str
    summary: str
    diff: str = ""
    changed: tuple[str, ...] = ()
    backups: tuple[str, ...] = ()
    applied: bool = False
    error: str = ""
