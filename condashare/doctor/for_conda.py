"""The doctor's checks as ``conda doctor`` runs them (the contract of ``condashare.conda_plugin``).

Each ``condashare-*`` health check of the plugin is a fixed set of doctor checks, run through
the doctor's runner with the environment conda asks about as the target: every check in its own
abandonable child, under one deadline, so a dead share makes a check report "does not answer"
or "did not finish" instead of hanging conda. Nothing here prints; the plugin formats.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from condashare.bounded import calls
from condashare.doctor import registry, runner
from condashare.doctor.context import Context
from condashare.doctor.model import FixOutcome
from condashare.findings import Finding, Severity
from condashare.site.file import DEFAULT_PROBE_TIMEOUT
from condashare.wording import seconds_text

# Plugin group -> doctor check ids (see docs/conda-plugin.md for what each reports).
GROUPS: dict[str, tuple[str, ...]] = {
    "nfs": (
        "mount.present",
        "mount.autofs",
        "mount.responsive",
        "mount.hard",
        "mount.locks",
        "mount.conda_dirs",
    ),
    "locking": ("locking.pkgs", "condarc.lock_advice"),
    "integrity": ("integrity.files",),
    "shared-envs": ("host.target", "condarc.other_os_envs", "condarc.env_names"),
}
# Seconds one group may take in all at the default probe timeout (longer probe timeouts stretch
# it); the integrity scan reads every record of the environment.
DEADLINES: dict[str, float] = {"integrity": 180.0}
DEFAULT_DEADLINE = 30.0


def running_conda_root() -> str | None:
    """The root prefix of the conda running us, if conda is loaded (it knows; PATH may not)."""
    if "conda" not in sys.modules:
        return None
    try:
        from conda.base.context import context

        return str(context.root_prefix)
    except Exception:  # an odd or partial conda: condashare finds the root on its own
        return None


@dataclass
class GroupRun:
    """One group's run: the context it ran in (None if it could not be built) and its report."""

    ctx: Context | None
    report: runner.RunReport | None
    findings: list[Finding] = field(default_factory=list)


def run_group(group: str, prefix: str, timeout: float) -> GroupRun:
    """Run the doctor checks of ``group`` with ``prefix`` as the target; bounded in time."""
    if group not in GROUPS:
        raise ValueError(f"unknown check group {group!r} (known: {', '.join(GROUPS)})")
    checks = registry.select(list(GROUPS[group]))
    root = running_conda_root()
    stretch = max(1.0, timeout / DEFAULT_PROBE_TIMEOUT)
    try:
        ctx, report = runner.diagnose(
            checks,
            DEADLINES.get(group, DEFAULT_DEADLINE) * stretch,
            target=prefix,
            probe_timeout=timeout,
            conda_root=root,
        )
    except runner.DoctorConfigError as exc:
        finding = Finding(
            f"condashare-{group}",
            Severity.ERROR,
            f"condashare's configuration cannot be used: {exc}",
            fix="Fix or unset CONDASHARE_SITE (condashare info shows which site file is used).",
        )
        return GroupRun(None, None, [finding])
    return GroupRun(ctx, report, report.findings)


def run_for_conda(group: str, prefix: str, *, timeout: float) -> list[Finding]:
    """The findings of the doctor checks behind plugin group ``group`` for environment ``prefix``.

    ``timeout`` is the per-probe time limit (seconds) for touching a share.
    """
    return run_group(group, prefix, timeout).findings


@dataclass
class TrashPlan:
    """What ``conda doctor --fix condashare-integrity`` would remove, and what it needs to."""

    run: GroupRun
    outcome: FixOutcome | None
    error: str = ""

    @property
    def paths(self) -> tuple[str, ...]:
        return self.outcome.changed if self.outcome else ()


def _integrity_result(run: GroupRun) -> runner.CheckResult | None:
    if run.report is None:
        return None
    return next((r for r in run.report.results if r.id == "integrity.files"), None)


def plan_trash_fix(prefix: str, *, timeout: float) -> TrashPlan:
    """Scan ``prefix`` with integrity.files and plan its fixer (nothing is changed)."""
    run = run_group("integrity", prefix, timeout)
    result = _integrity_result(run)
    if result is None or run.ctx is None:
        return TrashPlan(run, None, run.findings[0].title if run.findings else "not run")
    if not result.complete:
        return TrashPlan(run, None, result.findings[0].title)
    check = registry.select(["integrity.files"])[0]
    assert check.fixer is not None
    fixable = [f for f in result.findings if f.fixable]
    answer = calls.call(check.fixer, run.ctx, fixable, False, timeout=timeout * 5)
    if answer.state != calls.DONE:
        return TrashPlan(run, None, answer.error or f"planning the fix: {answer.state}")
    return TrashPlan(run, answer.value)


def apply_trash_fix(plan: TrashPlan, *, timeout: float) -> FixOutcome:
    """Remove what ``plan`` listed, in a child that is abandoned if the share stops answering."""
    result = _integrity_result(plan.run)
    if plan.outcome is None or result is None or plan.run.ctx is None:
        return FixOutcome("integrity.files", "nothing planned", error=plan.error)
    check = registry.select(["integrity.files"])[0]
    assert check.fixer is not None
    fixable = [f for f in result.findings if f.fixable]
    answer = calls.call(check.fixer, plan.run.ctx, fixable, True, timeout=timeout * 5)
    if answer.state != calls.DONE:
        why = answer.error or f"the share did not answer within {seconds_text(timeout * 5)}"
        return FixOutcome("integrity.files", plan.outcome.summary, error=why)
    outcome: FixOutcome = answer.value
    return outcome
