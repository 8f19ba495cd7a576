"""condashare's checks inside ``conda doctor``, through conda's ``conda_health_checks`` hook.

conda imports every plugin module on every command (``conda list``, ``conda activate`` ...), even
with ``--no-plugins`` (the plugin is then blocked, not skipped), so this module imports nothing
from conda and nothing heavy from condashare at import time: everything happens inside the check
actions, which only ``conda doctor`` calls.

The checks are condashare's doctor checks: ``condashare.doctor.for_conda.run_for_conda(group,
prefix, *, timeout) -> list[Finding]`` runs the doctor checks behind one plugin check
(``nfs``, ``locking``, ``integrity``, ``shared-envs``) with the environment as the target, each
in an abandonable child process under one deadline, so a dead share cannot hang conda.

Output follows conda's own checks: one ``✅``/``❌`` line per finding, details and fix hints
indented below, a blank line after each check. Like conda's built-in checks (and unlike the
rest of condashare, where only the CLI prints) these actions print, because that is the hook's
contract: ``action(prefix, verbose) -> None``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from argparse import Namespace

    from condashare.findings import Finding

# conda's ``conda.plugins.hookimpl`` is ``pluggy.HookimplMarker("conda")``. Taking the marker from
# pluggy directly is the same object type and avoids importing conda; when conda runs, pluggy is
# already imported, so this costs nothing. Without pluggy nobody can call the hook anyway.
try:
    from pluggy import HookimplMarker
except ImportError:  # pragma: no cover - conda absent and pluggy absent

    def hookimpl(function: Callable[..., Any]) -> Callable[..., Any]:
        return function

else:
    hookimpl = HookimplMarker("conda")

OK_MARK = "✅"  # conda's own marks (conda.base.constants.OK_MARK / X_MARK)
X_MARK = "❌"
DEFAULT_TIMEOUT = 2.0
TIMEOUT_VARIABLE = "CONDASHARE_TIMEOUT"
# Lines of detail shown per finding without -v (conda's checks list files only with -v).
BRIEF_DETAIL_LINES = 3

# name, group, summary (shown by ``conda doctor --list``), fix description or None.
CHECKS: tuple[tuple[str, str, str, str | None], ...] = (
    (
        "condashare-nfs",
        "nfs",
        "condashare: the shares under the env, package caches, installation and home: alive, "
        "hard-mounted, shared locks",
        None,
    ),
    (
        "condashare-locking",
        "locking",
        "condashare: a real conda-style lock in your package cache; lock settings on NFS",
        None,
    ),
    (
        "condashare-integrity",
        "integrity",
        "condashare: files missing or resized (e.g. by NFS), bad records, .nfs*/conda_trash files",
        "Remove *.conda_trash leftovers",
    ),
    (
        "condashare-shared-envs",
        "shared-envs",
        "condashare: env built for another OS/arch; other-OS envs in envs_dirs; env names hiding "
        "each other",
        None,
    ),
)


def check_timeout(env: dict[str, str] | None = None) -> float:
    """Seconds to wait for a share before calling it unresponsive (``CONDASHARE_TIMEOUT``)."""
    value = (os.environ if env is None else env).get(TIMEOUT_VARIABLE, "")
    try:
        seconds = float(value)
    except ValueError:
        return DEFAULT_TIMEOUT
    return seconds if 0 < seconds <= 600 else DEFAULT_TIMEOUT


def _run_condashare_checks(group: str, prefix: str, verbose: bool) -> list[Finding]:
    """The doctor's findings of one group for ``prefix`` (imported only when a check runs)."""
    from condashare.doctor.for_conda import run_for_conda

    return run_for_conda(group, prefix, timeout=check_timeout())


def format_findings(name: str, findings: list[Finding], verbose: bool) -> list[str]:
    """conda-style lines: a mark and title per finding, detail and fix indented below.

    Drawn by condashare's one findings renderer (:func:`condashare.render.finding_lines`),
    with conda's marks: findings are grouped by root cause (a dead share once, what follows
    from it under it, without fixes of its own). Without ``-v`` the passing findings fold
    into one line, so problems stand out. Every line goes through
    :func:`condashare.render.shown`: names from the shared tree cannot act on the terminal or
    add a line of their own.
    """
    from condashare.findings import Severity, group_by_cause
    from condashare.render import finding_lines, shown

    lines: list[str] = []
    passed = [f for f in findings if f.severity is Severity.OK]
    if not verbose and len(passed) > 1:
        lines.append(f"{OK_MARK} {name}: {len(passed)} checks passed (-v lists them)")

    def shown_here(f: Finding) -> bool:
        if verbose or f.severity.is_problem:
            return True
        return f.severity is Severity.OK and len(passed) <= 1

    groups = [g for g in group_by_cause(findings) if shown_here(g.root)]
    listing = finding_lines(
        groups,
        details="all" if verbose else "problems",
        detail_lines=None if verbose else BRIEF_DETAIL_LINES,
        after=lambda f: (
            [f"or: conda doctor --fix {name}"] if f.fixable and f.severity.is_problem else []
        ),
    )
    for item in listing:
        if item.mark:
            level = " (warning)" if item.mark == "warning" else ""
            mark = X_MARK if item.mark in ("warning", "error") else OK_MARK
            prefix = "    " if item.indent else ""
            lines.append(f"{prefix}{mark} {name}: {item.text}{level}")
        else:
            lines.append(" " * item.indent + item.label + item.text)
    if not lines:
        lines.append(f"{OK_MARK} {name}: nothing to report")
    lines.append("")
    return [shown(line) for line in lines]


def _action(name: str, group: str) -> Callable[[str, bool], None]:
    def action(prefix: str, verbose: bool) -> None:
        try:
            findings = _run_condashare_checks(group, prefix, verbose)
        except Exception as exc:  # a crash must not cost the user conda's other checks
            from condashare.render import shown

            print(f"{X_MARK} {name}: the check crashed: {type(exc).__name__}: {shown(exc)}\n")
            return
        print("\n".join(format_findings(name, findings, verbose)))

    action.__name__ = f"condashare_{group.replace('-', '_')}_check"
    return action


def fix_integrity(prefix: str, args: Namespace, confirm: Callable[[str], None]) -> int:
    """Remove ``*.conda_trash`` leftovers of ``prefix`` after ``confirm`` (conda's callback).

    The doctor's integrity check finds them and its fixer removes them. ``confirm`` raises
    DryRunExit under ``--dry-run`` and CondaSystemExit when the user says no, so nothing is
    removed unless it returns. Files conda renamed to ``*.conda_trash`` are ones it meant to
    delete; ``.nfs*`` files are in use by a process and are never touched; damaged packages are
    conda's to reinstall (the check prints the command).
    """
    from condashare.doctor.for_conda import apply_trash_fix, plan_trash_fix
    from condashare.render import shown, text_lines
    from condashare.wording import plural

    timeout = check_timeout()
    plan = plan_trash_fix(prefix, timeout=timeout)
    if plan.error:
        print(shown(f"{X_MARK} condashare-integrity: {prefix} could not be scanned: {plan.error}"))
        return 1
    if not plan.paths:
        print("No *.conda_trash leftovers found.")
        return 0
    print(shown(f"Found {plural(len(plan.paths), '*.conda_trash leftover')} in {prefix}:"))
    for path in plan.paths:
        print(f"  {shown(path)}")
    print()
    confirm("Remove these files?")
    done = apply_trash_fix(plan, timeout=timeout)
    for line in text_lines(done.error):
        print(shown(f"{X_MARK} could not remove {line}"))
    print(f"Removed {len(done.changed)} of {plural(len(plan.paths), 'file')}.")
    return 1 if done.error else 0


@hookimpl
def conda_health_checks() -> Iterator[Any]:
    """Offer condashare's checks to ``conda doctor`` (imports conda only when conda calls it)."""
    from conda.plugins.types import CondaHealthCheck

    for name, group, summary, fix in CHECKS:
        yield CondaHealthCheck(
            name=name,
            action=_action(name, group),
            fixer=fix_integrity if group == "integrity" else None,
            summary=summary,
            fix=fix,
        )
