"""condashare's checks inside ``conda doctor``, through conda's ``conda_health_checks`` hook.

conda imports every plugin module on every command (``conda list``, ``conda activate`` ...), even
with ``--no-plugins`` (the plugin is then blocked, not skipped), so this module imports nothing
from conda and nothing heavy from condashare at import time: everything happens inside the check
actions, which only ``conda doctor`` calls.

The checks reuse condashare's doctor. The contract with the registry (another module) is:

    condashare.doctor.registry.run_for_conda(group: str, prefix: str, *, timeout: float)
        -> list[condashare.doctor.model.Finding]

run the checks of ``group`` (``nfs``, ``locking``, ``integrity``, ``shared-envs``) for the
environment ``prefix``. Until that function exists the interim checks of
``condashare._plugin_fallback`` answer instead.

Output follows conda's own checks: one ``✅``/``❌`` line per finding, details and fix hints
indented below, a blank line after each check. Like conda's built-in checks (and unlike the
rest of condashare, where only the CLI prints) these actions print, because that is the hook's
contract: ``action(prefix, verbose) -> None``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from argparse import Namespace

    from condashare._plugin_fallback import CondaDirs
    from condashare.doctor.model import Finding

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
REGISTRY_MODULE = "condashare.doctor.registry"
# Lines of detail shown per finding without -v (conda's checks list files only with -v).
BRIEF_DETAIL_LINES = 3

# name, group, summary (shown by ``conda doctor --list``), fix description or None.
CHECKS: tuple[tuple[str, str, str, str | None], ...] = (
    (
        "condashare-nfs",
        "nfs",
        "condashare: env and package caches on network shares: alive, hard-mounted, shared locks",
        None,
    ),
    (
        "condashare-locking",
        "locking",
        "condashare: a real conda-style lock in the writable package cache and the env",
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
        "condashare: envs in view built for another OS/arch; env names hiding each other",
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


def conda_dirs() -> CondaDirs:
    """conda's own package caches and envs dirs when conda runs us; else env vars and defaults."""
    from condashare._plugin_fallback import CondaDirs

    if "conda" in sys.modules:
        try:
            from conda.base.context import context

            return CondaDirs(tuple(context.pkgs_dirs), tuple(context.envs_dirs))
        except Exception:  # an odd conda: fall through to the plain reading
            pass
    home = os.path.expanduser("~")
    pkgs = [p for p in os.environ.get("CONDA_PKGS_DIRS", "").split(",") if p]
    envs = [p for p in os.environ.get("CONDA_ENVS_DIRS", "").split(os.pathsep) if p]
    return CondaDirs(
        tuple(pkgs or [os.path.join(home, ".conda", "pkgs")]),
        tuple(envs or [os.path.join(home, ".conda", "envs")]),
    )


def _registry_findings(group: str, prefix: str, timeout: float) -> list[Finding] | None:
    """Findings from the doctor registry, or None when it does not offer the contract yet."""
    from importlib import import_module

    try:
        registry = import_module(REGISTRY_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != REGISTRY_MODULE:  # the registry exists but is broken: say so
            raise
        return None
    run = getattr(registry, "run_for_conda", None)
    if run is None:
        return None
    return list(run(group, prefix, timeout=timeout))


def _run_condashare_checks(group: str, prefix: str, verbose: bool) -> list[Finding]:
    """The findings of one group for ``prefix``: the registry's, else the interim checks'."""
    timeout = check_timeout()
    found = _registry_findings(group, prefix, timeout)
    if found is not None:
        return found
    from condashare._plugin_fallback import run_group

    return run_group(group, prefix, conda_dirs(), timeout)


def format_findings(name: str, findings: list[Finding], verbose: bool) -> list[str]:
    """conda-style lines: a mark and title per finding, detail and fix indented below."""
    lines: list[str] = []
    for finding in findings:
        problem = finding.severity.is_problem
        if finding.severity.value == "info" and not verbose:
            continue
        level = " (warning)" if finding.severity.value == "warning" else ""
        mark = X_MARK if problem else OK_MARK
        lines.append(f"{mark} {name}: {finding.title}{level}")
        if finding.detail and (verbose or problem):
            detail = finding.detail.splitlines()
            if not verbose and len(detail) > BRIEF_DETAIL_LINES:
                hidden = len(detail) - BRIEF_DETAIL_LINES
                detail = [*detail[:BRIEF_DETAIL_LINES], f"... {hidden} more (use -v)"]
            lines.extend(f"    {line}" for line in detail)
        if finding.fix and problem:
            lines.append(f"    fix: {finding.fix}")
    if not lines:
        lines.append(f"{OK_MARK} {name}: nothing to report")
    lines.append("")
    return lines


def _action(name: str, group: str) -> Callable[[str, bool], None]:
    def action(prefix: str, verbose: bool) -> None:
        try:
            findings = _run_condashare_checks(group, prefix, verbose)
        except Exception as exc:  # a crash must not cost the user conda's other checks
            print(f"{X_MARK} {name}: the check crashed: {type(exc).__name__}: {exc}\n")
            return
        print("\n".join(format_findings(name, findings, verbose)))

    action.__name__ = f"condashare_{group.replace('-', '_')}_check"
    return action


def fix_integrity(prefix: str, args: Namespace, confirm: Callable[[str], None]) -> int:
    """Remove ``*.conda_trash`` leftovers of ``prefix`` after ``confirm`` (conda's callback).

    ``confirm`` raises DryRunExit under ``--dry-run`` and CondaSystemExit when the user says no,
    so nothing is removed unless it returns. Files conda renamed to ``*.conda_trash`` are ones it
    meant to delete; ``.nfs*`` files are in use by a process and are never touched; corrupted
    packages are conda's to reinstall (the check prints the command).
    """
    from condashare._plugin_fallback import conda_trash_files

    run = conda_trash_files(prefix, check_timeout())
    if run.status != "ok":
        print(f"{X_MARK} condashare-integrity: {prefix} could not be scanned ({run.status}).")
        return 1
    trash = [
        str(r["path"])
        for r in run.records
        if r.get("kind") == "artefact" and r.get("type") == "trash"
    ]
    if not trash:
        print("No *.conda_trash leftovers found.")
        return 0
    print(f"Found {len(trash)} *.conda_trash leftover(s) in {prefix}:")
    for rel in trash:
        print(f"  {rel}")
    print()
    confirm("Remove these files?")
    failed = 0
    for rel in trash:
        path = os.path.join(prefix, rel)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                import shutil

                shutil.rmtree(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            failed += 1
            print(f"{X_MARK} could not remove {path}: {exc.strerror or exc}")
    print(f"Removed {len(trash) - failed} of {len(trash)} file(s).")
    return 1 if failed else 0


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
