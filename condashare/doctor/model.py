"""The records every check speaks in: severities and findings (never printed here)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


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
    """

    check: str
    severity: Severity
    title: str
    detail: str = ""
    fix: str = ""
    fixable: bool = False
    data: dict[str, Any] = field(default_factory=dict)
