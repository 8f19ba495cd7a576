"""``condashare doctor``: find what is wrong with this shared-conda setup, say it with the fix.

Checks run concurrently in child processes under one deadline, so a dead share cannot hang it:
the run ends within ``--timeout`` seconds (plus a moment to print) and names what did not finish.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from condashare.errors import ExitCode

if TYPE_CHECKING:
    from condashare.doctor.context import Context
    from condashare.doctor.model import Check, FixOutcome
    from condashare.doctor.runner import RunReport
    from condashare.render import Output

DEFAULT_TIMEOUT = 20.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from condashare.cli import add_site_options

    parser = sub.add_parser(
        "doctor",
        help="diagnose the shared-conda setup: shares, startup files, config, locks, space",
        description="Run diagnostic checks concurrently and report findings with fixes. Name "
        "checks or groups to run only those (see --list). A dead share cannot hang it: the run "
        "ends within --timeout seconds and names the checks that could not finish.",
        epilog="Exit codes: 0 no problems, 1 warnings or errors found, 2 usage or "
        "configuration error, 3 some checks could not finish.",
    )
    parser.add_argument(
        "checks",
        nargs="*",
        metavar="CHECK",
        help="check ids (mount.responsive) or groups (mount) to run",
    )
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show every finding with details, also the healthy ones",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout (nothing else)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"end the whole run after S seconds (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--deep", action="store_true", help="slower, more thorough scans and measurements"
    )
    parser.add_argument(
        "--target",
        metavar="PREFIX",
        help="an environment prefix for checks that examine one environment",
    )
    parser.add_argument(
        "--fix",
        action="store_true",
        help="repair what can be repaired in your own files (asks first)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="with --fix: show what would change, change nothing"
    )
    parser.add_argument("--yes", action="store_true", help="with --fix: do not ask")
    parser.add_argument(
        "--reverse",
        action="store_true",
        help="with --fix: undo what --fix moved to local disk (restores the files it changed)",
    )
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="also write a self-contained report (details, fixes and JSON) to FILE, a new "
        "file, to send to your administrators",
    )
    add_site_options(parser)
    parser.set_defaults(run=run)


def _select(args: argparse.Namespace) -> list[Check]:
    from condashare.cli import ConfigError
    from condashare.doctor import registry

    try:
        return registry.select(args.checks, deep=args.deep)
    except registry.UnknownCheck as exc:
        raise ConfigError(
            f"unknown check or group {exc.args[0]!r} (see: condashare doctor --list)"
        ) from None


def _validate(args: argparse.Namespace) -> None:
    from condashare.cli import ConfigError

    if not 0 < args.timeout <= 3600:
        raise ConfigError("--timeout must be more than 0 and at most 3600 seconds")
    if (args.dry_run or args.yes or args.reverse) and not args.fix:
        raise ConfigError("--dry-run, --yes and --reverse only apply to --fix")
    if args.reverse and args.checks:
        raise ConfigError("--fix --reverse undoes every recorded fix; name no checks")
    if args.reverse and args.report:
        raise ConfigError("--report goes with a diagnosis, not with --fix --reverse")
    if args.fix and args.json and not (args.dry_run or args.yes):
        raise ConfigError("--fix --json cannot ask for confirmation: add --yes or --dry-run")


def render_list(checks: list[Check], out: Output) -> None:
    from condashare.doctor import registry

    current = None
    for check in sorted(checks, key=lambda c: registry.group_order(c.group)):
        if check.group != current:
            current = check.group
            out.heading(f"{registry.group_title(check.group)} ({check.group})")
        marks = []
        if check.fixer is not None:
            marks.append("--fix")
        if check.deep:
            marks.append("--deep")
        extra = f"  [{', '.join(marks)}]" if marks else ""
        out.line(f"  {check.id:<32} {check.title}{extra}")


def _list_data(checks: list[Check]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "group": c.group,
            "title": c.title,
            "budget": c.budget,
            "fixable": c.fixer is not None,
            "deep": c.deep,
            "description": c.description,
        }
        for c in checks
    ]


def _context_summary(ctx: Context | None, args: argparse.Namespace) -> dict[str, Any]:
    if ctx is None:
        return {"timeout": args.timeout, "deep": args.deep, "target": args.target}
    inst = ctx.installation
    return {
        "platform": str(ctx.host.platform),
        "platform_source": ctx.host.platform_source,
        "home": ctx.home,
        "site": ctx.site.path if ctx.site else None,
        "installation": {"name": inst.name, "prefix": inst.prefix} if inst else None,
        "timeout": args.timeout,
        "probe_timeout": ctx.timeout,
        "deep": args.deep,
        "target": args.target,
    }


def document(report: RunReport, ctx: Context | None, args: argparse.Namespace) -> dict[str, Any]:
    """The ``data`` of the JSON envelope (format described in docs/doctor.md).

    ``checks`` lists every check with all its findings; ``problems`` lists the problems by
    root cause, each with the findings that follow from it under ``consequences``.
    """
    from condashare.findings import Severity

    problems = [g for g in report.groups() if g.root.severity.is_problem]
    return {
        "context": _context_summary(ctx, args),
        "summary": {
            "checks": len(report.results),
            **{s.value: report.count(s) for s in Severity},
            "root_causes": len(problems),
            "consequences": sum(len(g.consequences) for g in problems),
            "incomplete": report.incomplete,
            "seconds": round(report.seconds, 3),
        },
        "checks": [
            {
                "id": r.id,
                "group": r.group,
                "title": r.title,
                "state": r.state,
                "severity": r.severity.value,
                "seconds": round(r.seconds, 3),
                "findings": r.findings,
            }
            for r in report.results
        ],
        "problems": problems,
        "fixes": report.fixes,
    }


def render_report(report: RunReport, ctx: Context | None, out: Output, verbose: bool) -> None:
    """Check groups in registry order; under each, its findings by root cause (a consequence
    is shown under its cause, in the cause's group, and counted where it came from)."""
    from condashare.doctor import registry
    from condashare.findings import Severity, worst
    from condashare.render import finding_lines
    from condashare.wording import plural, seconds_text

    if ctx is not None:
        inst = ctx.installation
        where = f"installation {inst.name} at {inst.prefix}" if inst else "no installation"
        out.line(f"condashare doctor: {ctx.host.platform}, {where}")
    else:
        out.line("condashare doctor")
    out.line()
    if report.results and all(r.state == "not-run" for r in report.results):
        out.status("error", "no check could run: " + report.results[0].findings[0].detail)
        return
    group_of = {id(f): r.group for r in report.results for f in r.findings}
    causes = [g for g in report.groups() if verbose or g.root.severity.is_problem]
    folded: dict[str, int] = {}
    for cause in causes:
        for f in cause.consequences:
            folded[group_of[id(f)]] = folded.get(group_of[id(f)], 0) + 1
    results_by_group: dict[str, list[Any]] = {}
    for result in report.results:
        results_by_group.setdefault(result.group, []).append(result)
    problem_groups = 0
    for group in sorted(results_by_group, key=registry.group_order):
        results = results_by_group[group]
        mine = [c for c in causes if group_of[id(c.root)] == group]
        top = worst(c.root for c in mine if c.root.severity.is_problem)
        problem_groups += top.is_problem
        text = f"{registry.group_title(group)} ({plural(len(results), 'check')})"
        count = folded.get(group, 0)
        if count:
            under = "its cause" if count == 1 else "their causes"
            text += f", {plural(count, 'problem')} shown under {under}"
        # a group whose only problems follow from another's root cause is not "ok"
        out.status(top.value if top.is_problem else ("info" if count else "ok"), text)
        out.findings(
            finding_lines(
                mine,
                indent=4,
                details="all" if verbose else "none",
                show_fix=lambda f: verbose or f.severity.is_problem,
            )
        )
        if verbose:
            for result in results:
                if result.state == "done":
                    took = seconds_text(result.seconds)
                    out.line(out.paint(f"        ({result.id}, {took})", "dim"))
    for fix in report.fixes:
        _render_fix(fix, out)
    out.line()
    incomplete = report.incomplete
    if incomplete:
        timed_out = any(r.state == "timeout" for r in report.results)
        limit = f" (time limit {seconds_text(report.timeout)})" if timed_out else ""
        out.status(
            "error",
            f"{plural(len(incomplete), 'check')} could not finish{limit}: {', '.join(incomplete)}",
        )
    roots = [c.root for c in causes if c.root.severity.is_problem]
    errors = sum(f.severity == Severity.ERROR for f in roots)
    warnings = sum(f.severity == Severity.WARNING for f in roots)
    if errors or warnings:
        more = sum(len(c.consequences) for c in causes)
        following = f", and {plural(more, 'problem')} that follow from them" if more else ""
        out.status(
            "error" if errors else "warning",
            f"Doctor found problems in {plural(problem_groups, 'group')}: "
            f"{plural(errors, 'error')}, {plural(warnings, 'warning')}{following}."
            + ("" if verbose else " Run with -v for details."),
        )
    elif not incomplete:
        out.status(
            "ok",
            f"No problems found ({plural(len(report.results), 'check')}, "
            f"{seconds_text(report.seconds)}).",
        )


def _render_fix(fix: FixOutcome, out: Output) -> None:
    out.line()
    state = "applied" if fix.applied else ("failed" if fix.error else "would")
    sev = "error" if fix.error else ("ok" if fix.applied else "info")
    out.status(sev, f"fix {fix.check}: {state}: {fix.summary}")
    out.block(fix.error, "    ")
    out.block(fix.diff, "    ", tabs=True)
    for backup in fix.backups:
        out.line(f"    backup: {backup}")


def _confirm(out: Output, prompt: str) -> bool:
    if not sys.stdin.isatty():
        out.warn("condashare doctor --fix: not asking without a terminal; re-run with --yes")
        return False
    out.err.write(prompt + " [y/N] ")
    out.err.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _run_fixes(
    report: RunReport, ctx: Context, checks: list[Check], args: argparse.Namespace, out: Output
) -> list[str]:
    """Plan every fix in a child, show or ask, then apply; returns the ids of applied fixes."""
    from condashare.bounded import calls
    from condashare.doctor.model import FixOutcome

    by_id = {c.id: c for c in checks}
    applied: list[str] = []
    for result in report.results:
        check = by_id[result.id]
        fixable = [f for f in result.findings if f.fixable]
        if check.fixer is None or not fixable:
            continue
        plan = calls.call(check.fixer, ctx, fixable, False, timeout=args.timeout)
        if plan.state != calls.DONE:
            report.fixes.append(
                FixOutcome(check.id, "could not plan the fix", error=plan.error or plan.state)
            )
            continue
        outcome: FixOutcome = plan.value
        if args.dry_run or not outcome.changed:
            report.fixes.append(outcome)
            continue
        if not args.yes:
            if not args.json:
                _render_fix(outcome, out)
            if not _confirm(out, f"Apply fix {check.id}?"):
                report.fixes.append(
                    FixOutcome(check.id, outcome.summary + " (declined)", outcome.diff)
                )
                continue
        done = calls.call(check.fixer, ctx, fixable, True, timeout=args.timeout)
        if done.state != calls.DONE:
            report.fixes.append(
                FixOutcome(check.id, outcome.summary, error=done.error or done.state)
            )
            continue
        report.fixes.append(done.value)
        if done.value.applied:
            applied.append(check.id)
    return applied


def _run_reverse(args: argparse.Namespace, out: Output) -> int:
    """``doctor --fix --reverse``: plan the undo in a child, show or ask, then apply."""
    from condashare.bounded import calls
    from condashare.cli import ConfigError
    from condashare.doctor import runner
    from condashare.doctor.checks import offnet
    from condashare.doctor.model import FixOutcome
    from condashare.site.locate import LocateRequest

    try:
        ctx, report = runner.diagnose(
            [],
            args.timeout,
            request=LocateRequest(site_path=args.site, prefix=args.prefix),
            deep=args.deep,
        )
    except runner.DoctorConfigError as exc:
        raise ConfigError(str(exc)) from None
    if ctx is None:
        outcome = FixOutcome(offnet.CID, "could not set up", error="setting up did not finish")
    else:
        plan = calls.call(offnet.reverse, ctx, False, timeout=args.timeout)
        outcome = (
            plan.value
            if plan.state == calls.DONE
            else FixOutcome(offnet.CID, "could not plan the undo", error=plan.error or plan.state)
        )
        if not (args.dry_run or outcome.error or not outcome.changed):
            if not args.yes:
                if not args.json:
                    _render_fix(outcome, out)
                confirmed = _confirm(out, "Undo the fix?")
            else:
                confirmed = True
            if confirmed:
                done = calls.call(offnet.reverse, ctx, True, timeout=args.timeout)
                outcome = (
                    done.value
                    if done.state == calls.DONE
                    else FixOutcome(offnet.CID, outcome.summary, error=done.error or done.state)
                )
            else:
                outcome = FixOutcome(offnet.CID, outcome.summary + " (declined)", outcome.diff)
    report.fixes.append(outcome)
    code = ExitCode.PROBLEMS if outcome.error else ExitCode.OK
    if args.json:
        out.json("doctor", document(report, ctx, args), code)
    else:
        _render_fix(outcome, out)
    return code


def run(args: argparse.Namespace) -> int:
    from condashare.bounded import children
    from condashare.cli import ConfigError
    from condashare.cli.doctor_report import check_report_path, report_text, save_report
    from condashare.doctor import runner
    from condashare.render import Output
    from condashare.site.locate import LocateRequest

    out = Output(args.color)
    _validate(args)
    checks = _select(args)
    if args.list:
        if args.json:
            out.json("doctor", {"checks": _list_data(checks)}, ExitCode.OK)
        else:
            render_list(checks, out)
        return ExitCode.OK
    if args.reverse:
        return _run_reverse(args, out)
    report_path = check_report_path(args.report) if args.report else None
    try:
        ctx, report = runner.diagnose(
            checks,
            args.timeout,
            request=LocateRequest(site_path=args.site, prefix=args.prefix),
            deep=args.deep,
            target=args.target,
        )
    except runner.DoctorConfigError as exc:
        raise ConfigError(str(exc)) from None
    code = runner.exit_code(report)
    if args.fix and ctx is not None:
        fixed = _run_fixes(report, ctx, checks, args, out)
        if fixed:  # re-run the repaired checks so the report shows the state after fixing
            again = runner.run_checks(
                [c for c in checks if c.id in fixed], ctx, time.monotonic() + args.timeout
            )
            redone = {r.id: r for r in again.results}
            report.results = [redone.get(r.id, r) for r in report.results]
            code = runner.exit_code(report)
    if args.json:
        out.json("doctor", document(report, ctx, args), code)
    else:
        render_report(report, ctx, out, args.verbose)
    if report_path:
        save_report(report_path, report_text(report, ctx, args, code))
        out.warn(f"report written to {report_path}: send it to your administrators")
    out.out.flush()
    if children.reap():
        # A check is stuck on a dead share; it is abandoned and will end with the share.
        # Nothing of ours waits for it: exit now without interpreter cleanup.
        out.err.flush()
        os._exit(code)
    return code
