"""The one result vocabulary: what a check or a verification found, and the exit rule.

The doctor's checks, ``condashare verify``, ``condashare admin`` and the conda plugin all speak
in :class:`Finding` records, so one renderer (:mod:`condashare.render`) shows them
and one rule (:func:`exit_code_for`) turns them into an exit code.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from condashare.errors import ExitCode


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
    """One thing found: what, how bad, why it matters and how to fix it.

    ``check`` is the finding's id: what produced it (a doctor check's id, a verify code).
    ``code`` says what kind of finding it is, the same wherever it is reported: the
    verification engine's findings keep their code (``integrity.env-files`` ...) in
    ``condashare verify``, in the doctor's ``integrity.files`` check and in the conda plugin.
    It defaults to ``check``. ``fix`` holds concrete steps a person can run, one per line
    (:attr:`fix_commands` is that list); ``fixable`` says whether ``--fix`` can apply it (only
    ever to the user's own files and caches). ``data`` carries machine-readable specifics
    (paths, package names, sizes) for JSON output.
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

    @property
    def id(self) -> str:
        return self.check

    @property
    def fix_commands(self) -> list[str]:
        """The fix as a list: one step or command per line, blank lines dropped."""
        return [line for line in self.fix.split("\n") if line.strip()]


def worst(findings: Iterable[Finding]) -> Severity:
    """The highest severity among ``findings`` (OK when there are none)."""
    return max((f.severity for f in findings), key=lambda s: s.rank, default=Severity.OK)


def exit_code_for(
    findings: Iterable[Finding] = (),
    *,
    usage: bool = False,
    incomplete: bool = False,
    problems: bool | None = None,
) -> ExitCode:
    """The one exit rule: 2 for bad usage, else 3 when the run could not finish, else 1 when
    a problem (warning or error) was found, else 0.

    ``problems`` replaces the look at the findings' severities where the caller knows better
    (problems that a fix has since repaired do not count).
    """
    if usage:
        return ExitCode.USAGE
    if incomplete:
        return ExitCode.INCOMPLETE
    found = any(f.severity.is_problem for f in findings) if problems is None else problems
    return ExitCode.PROBLEMS if found else ExitCode.OK


# The key a finding's ``data`` holds when it is a root cause: the mountpoint of a share that
# does not answer (or answers with errors). Everything else found on that share follows from it.
DEAD_SHARE = "dead_share"


@dataclass(frozen=True)
class Group:
    """A root cause and the findings that follow from it (shown under it, without own fixes).

    A finding with no known cause is a group of its own with no consequences.
    """

    root: Finding
    consequences: tuple[Finding, ...] = ()


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)


def mentions(finding: Finding, mountpoint: str) -> bool:
    """Does ``finding`` speak of a path on the share mounted at ``mountpoint``?"""
    point = mountpoint.rstrip("/")
    if not point:
        return False  # the root filesystem holds everything: it explains nothing
    texts = [finding.title, finding.detail, *_texts(finding.data)]
    for text in texts:
        start = text.find(point)
        while start >= 0:
            end = start + len(point)
            if end == len(text) or not (text[end].isalnum() or text[end] in "._-"):
                return True
            start = text.find(point, end)
    return False


def group_by_cause(
    findings: Iterable[Finding],
    explained_by_dead_share: Callable[[Finding], bool] = lambda f: False,
) -> list[Group]:
    """One root cause, one entry: findings folded under the dead share they follow from.

    A problem finding is a consequence of a dead share when it speaks of a path on it, or
    when ``explained_by_dead_share`` says so (a check that ran out of time, a start-up time
    measured while a share did not answer). Only problems are folded; exact repeats (same
    severity, title and detail, whichever check found them) are said once. Order: as found, by root.
    """
    unique: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for finding in findings:
        key = (finding.severity.value, finding.title, finding.detail)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    roots: dict[str, Finding] = {}
    for finding in unique:
        point = finding.data.get(DEAD_SHARE)
        if finding.severity.is_problem and isinstance(point, str) and point not in roots:
            roots[point] = finding
    root_ids = {id(root) for root in roots.values()}
    folded: dict[int, list[Finding]] = {key: [] for key in root_ids}
    order: list[Finding] = []
    for finding in unique:
        cause = None
        if id(finding) not in root_ids and finding.severity.is_problem and roots:
            cause = next((r for p, r in roots.items() if mentions(finding, p)), None)
            if cause is None and explained_by_dead_share(finding):
                cause = next(iter(roots.values()))
        if cause is None:
            order.append(finding)
        else:
            folded[id(cause)].append(finding)
    return [Group(f, tuple(folded.get(id(f), ()))) for f in order]
