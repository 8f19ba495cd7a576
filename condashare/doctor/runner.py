"""Run checks concurrently, each in its own child process, under budgets and one deadline.

Every selected check starts at once in a child process (see :mod:`condashare.bounded.calls`).
A check gets ``min(its budget, the time left)``. One that raises, dies or overruns becomes a
finding of its own (``state`` crashed/timeout) and the others still report. The parent never
touches a share and never starts threads, so it returns by the deadline whatever the shares do.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from condashare import findings
from condashare.bounded import calls
from condashare.doctor.context import Context
from condashare.doctor.model import Check, FixOutcome
from condashare.errors import ConfigError
from condashare.findings import Finding, Group, Severity, group_by_cause
from condashare.render import shown
from condashare.site.file import DEFAULT_PROBE_TIMEOUT
from condashare.site.locate import LocateRequest
from condashare.wording import seconds_text

# States of one check's run.
DONE = "done"
CRASHED = "crashed"
TIMEOUT = "timeout"
NOT_RUN = "not-run"

ALONE_RESERVE = 6.0  # seconds kept for the checks that run alone (io.speed needs ~4)


@dataclass
class CheckResult:
    """One check's outcome: its findings (never empty), state and wall time."""

    id: str
    group: str
    title: str
    state: str
    seconds: float
    findings: list[Finding] = field(default_factory=list)

    @property
    def severity(self) -> Severity:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=Severity.OK)

    @property
    def complete(self) -> bool:
        return self.state == DONE


@dataclass
class RunReport:
    """Everything one doctor run found, in registry order."""

    results: list[CheckResult]
    seconds: float
    timeout: float
    fixes: list[FixOutcome] = field(default_factory=list)

    @property
    def incomplete(self) -> list[str]:
        """Ids of checks that could not finish (overran, crashed, or never started)."""
        return [r.id for r in self.results if not r.complete]

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings]

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def problems(self) -> bool:
        return any(f.severity.is_problem for f in self.findings)

    def groups(self) -> list[Group]:
        """The findings by root cause: what a dead share explains is folded under it."""
        return group_by_cause(self.findings, explained_by_dead_share)


# Checks whose verdict is a time measured across the shares (a shell's start, a read rate):
# while a share does not answer, the wait they saw is that share's (or condashare's own probe
# timeout for it), so their advice ("speed up your startup files") would blame the wrong thing.
TIMING_CHECKS = frozenset({"startup.start_time", "startup.stdout", "io.speed"})


def explained_by_dead_share(finding: Finding) -> bool:
    """True for a check that ran out of time or measured time: a dead share explains it."""
    return finding.data.get("state") in (TIMEOUT, NOT_RUN) or finding.check in TIMING_CHECKS


def _normalise(check: Check, value: object) -> list[Finding]:
    """A check's return value as findings; anything malformed is itself reported."""
    if value is None or value == []:
        return [Finding(check.id, Severity.OK, check.title)]
    if isinstance(value, list) and all(isinstance(f, Finding) for f in value):
        return value
    return [
        Finding(
            check.id,
            Severity.ERROR,
            f"check returned {type(value).__name__}, not a list of findings",
            "This is a bug in the check; please report it.",
            data={"state": CRASHED},
        )
    ]


def _run_inline(check: Check, ctx: Context) -> list[Finding]:
    return _normalise(check, check.run(ctx))


def result_from_answer(check: Check, answer: calls.ChildAnswer, budget: float) -> CheckResult:
    """Turn a child's answer into a CheckResult; crashes and overruns become error findings."""
    if answer.state == calls.DONE:
        findings = _normalise(check, answer.value)
        state = CRASHED if any(f.data.get("state") == CRASHED for f in findings) else DONE
        return CheckResult(check.id, check.group, check.title, state, answer.seconds, findings)
    if answer.state == calls.TIMEOUT:
        finding = Finding(
            check.id,
            Severity.ERROR,
            f"{check.title}: did not finish within {seconds_text(budget)}",
            "The check was stopped. The usual cause is a share that stopped answering "
            "(a hung NFS server makes every access to it wait).",
            "Run `condashare doctor mount` to see which share is unresponsive; run this check "
            f"alone with a longer time limit: condashare doctor {check.id} --timeout 60",
            data={"state": TIMEOUT, "budget": round(budget, 2)},
        )
        return CheckResult(check.id, check.group, check.title, TIMEOUT, answer.seconds, [finding])
    tail = answer.traceback.strip().splitlines()[-6:]
    finding = Finding(
        check.id,
        Severity.ERROR,
        f"{check.title}: the check crashed ({answer.error})",
        "\n".join(map(shown, tail)),
        "This is a bug in condashare; please report it with the output of "
        f"`condashare doctor {check.id} -v --json`.",
        data={"state": CRASHED, "error": answer.error},
    )
    return CheckResult(check.id, check.group, check.title, CRASHED, answer.seconds, [finding])


def not_run(check: Check, why: str) -> CheckResult:
    finding = Finding(
        check.id, Severity.ERROR, f"{check.title}: not run", why, data={"state": NOT_RUN}
    )
    return CheckResult(check.id, check.group, check.title, NOT_RUN, 0.0, [finding])


def run_checks(
    checks: Sequence[Check],
    ctx: Context,
    deadline: float,
    isolate: bool = True,
    on_result: Callable[[CheckResult], None] | None = None,
) -> RunReport:
    """Run ``checks`` against ``ctx``; returns by ``deadline`` (monotonic) whatever they do.

    ``isolate=False`` runs checks one after the other in this process (for debugging only: a
    check stuck on a dead share then blocks the run).
    """
    started = time.monotonic()
    timeout = max(0.0, deadline - started)
    by_id = {c.id: c for c in checks}
    results: dict[str, CheckResult] = {}
    budgets: dict[str, float] = {}

    def record(result: CheckResult) -> None:
        results[result.id] = result
        if on_result is not None:
            on_result(result)

    if not isolate:
        for check in checks:
            t0 = time.monotonic()
            if t0 >= deadline:
                record(not_run(check, "the run's time limit was reached before it started"))
                continue
            try:
                answer = calls.ChildAnswer(calls.DONE, check.run(ctx))
            except Exception as exc:
                import traceback

                answer = calls.ChildAnswer(
                    calls.RAISED,
                    error=f"{type(exc).__name__}: {exc}",
                    traceback=traceback.format_exc(),
                )
            answer.seconds = time.monotonic() - t0
            record(result_from_answer(check, answer, check.budget))
    else:
        # A site with a long probe timeout (a slow but working share) stretches every budget.
        stretch = max(1.0, ctx.timeout / DEFAULT_PROBE_TIMEOUT)
        # Measurements (``alone``) start once the rest has finished, or when only ALONE_RESERVE
        # seconds (a quarter of a short run) are left: a check stuck on a dead share reads
        # nothing, so it cannot spoil a measurement, but it must not take its turn.
        alone = [c for c in checks if c.alone]
        others = [c for c in checks if not c.alone]
        reserve = min(ALONE_RESERVE, timeout / 4)

        def answered(key: str, answer: calls.ChildAnswer) -> None:
            record(result_from_answer(by_id[key], answer, budgets[key]))

        def start(batch: list[Check]) -> dict[str, calls.CallTask]:
            tasks = {}
            for check in batch:
                budget = check.budget * stretch
                budgets[check.id] = min(budget, deadline - time.monotonic())
                # the budget counts from when the child is ready: a spawned one imports first
                tasks[check.id] = calls.start(
                    _run_inline, check, ctx, deadline=deadline, budget=budget
                )
            return tasks

        running = start(others)
        got = calls.collect(running, answered, until=deadline - reserve if alone else None)
        left = {k: t for k, t in running.items() if k not in got}
        if alone:
            calls.collect({**left, **start(alone)}, answered)
    ordered = [results[c.id] for c in checks]
    return RunReport(ordered, time.monotonic() - started, timeout)


def exit_code(report: RunReport) -> int:
    """3 when a check could not finish, else 1 for warnings or errors, else 0."""
    return findings.exit_code_for(report.findings, incomplete=bool(report.incomplete))


class DoctorConfigError(ConfigError):
    """An explicit --site / CONDASHARE_SITE / --prefix that cannot be used (exit 2)."""


def _build_in_child(kwargs: dict[str, Any]) -> tuple[str, Any]:
    from condashare.doctor.context import build_context
    from condashare.host.detect import PlatformError
    from condashare.site.file import SiteError

    try:
        return "ok", build_context(**kwargs)
    except (SiteError, PlatformError) as exc:
        return "config", str(exc)


def diagnose(
    checks: Sequence[Check],
    timeout: float,
    *,
    request: LocateRequest | None = None,
    deep: bool = False,
    target: str | None = None,
    probe_timeout: float | None = None,
    conda_root: str | None = None,
) -> tuple[Context | None, RunReport]:
    """Build the context in a child and run ``checks``; everything ends within ``timeout``.

    The keyword arguments go to :func:`~condashare.doctor.context.build_context`. Raises
    DoctorConfigError for an explicit site or prefix that cannot be used. When even the context
    cannot be built in time, every check is ``not-run``.
    """
    start = time.monotonic()
    deadline = start + timeout
    # the child runs in /: a relative --site, --prefix or --target means relative to here
    if request is not None:
        request = dataclasses.replace(
            request,
            site_path=os.path.abspath(request.site_path) if request.site_path else None,
            prefix=os.path.abspath(request.prefix) if request.prefix else None,
        )
    context_args: dict[str, Any] = {
        "request": request,
        "deep": deep,
        "target": os.path.abspath(target) if target else None,
        "probe_timeout": probe_timeout,
        "conda_root": conda_root,
    }
    answer = calls.call(_build_in_child, context_args, timeout=timeout)
    if answer.state == calls.DONE and answer.value[0] == "config":
        raise DoctorConfigError(answer.value[1])
    if answer.state == calls.DONE:
        ctx: Context = answer.value[1]
        return ctx, run_checks(checks, ctx, deadline)
    why = (
        "finding the host and site file did not finish in time (a share is not answering?)"
        if answer.state == calls.TIMEOUT
        else f"setting up failed: {answer.error}"
    )
    results = [not_run(c, why) for c in checks]
    return None, RunReport(results, time.monotonic() - start, timeout)
