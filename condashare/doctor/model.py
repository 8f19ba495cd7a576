"""The records every check speaks in: severities and findings (never printed here)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from condashare.doctor.context import Context


class Severity(str, enum.Enum):
    """How bad a finding is; ``rank`` orders them for summaries and exit codes."""

    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return ("ok", "info", "warning", "error").index(self.value)

    @property
    def is_problem(self) -> bool:
        return self in (Severity.WARNING, Severity.ERROR)


@dataclass(frozen=True)
class Finding:
    """One thing a check found: what, how bad, why it matters and how to fix it.

    ``fix`` is a hint with concrete commands a person can run; ``fixable`` says whether
    ``condashare doctor --fix`` can apply it (only ever to the user's own files and caches).
    ``data`` carries machine-readable specifics (paths, package names, sizes) for JSON output.
    ``check`` names what produced the finding (a doctor check's id); ``code`` says what kind of
    finding it is, the same wherever it is reported: the verification engine's findings keep
    their code (``integrity.env-files`` ...) in ``condashare verify``, in the doctor's
    ``integrity.files`` check and in the conda plugin. It defaults to ``check``.
    """

    check: str
    severity: Severity
    title: str
    detail: str = ""
    fix: str = ""
    fixable: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    code: str = ""

    def __post_init__(self) -> None:
        if not self.code:
            object.__setattr__(self, "code", self.check)


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
