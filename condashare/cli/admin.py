"""``condashare admin``: tools for the admins of a shared installation (publish, audit,
init-system)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from condashare.errors import ExitCode
from condashare.wording import plural, seconds_text

if TYPE_CHECKING:
    from condashare.admin.audit import Applied, AuditReport, Change
    from condashare.admin.publish import PublishReport
    from condashare.findings import Finding
    from condashare.render import Output
    from condashare.site.file import Site

DEFAULT_TIMEOUT = 15.0
PLAN_LINES = 50  # changes listed in text output after applying (a dry run lists them all)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "admin",
        help="for admins: publish a release env, audit a whole installation",
        description="Tools for the admins of a shared conda installation. They never change "
        "owners and never follow symlinks; every touch of the tree runs in child processes, "
        "so a share that stops answering is reported instead of hanging the command.",
    )
    admin = parser.add_subparsers(dest="admin_command", metavar="SUBCOMMAND")
    parser.set_defaults(run=lambda _args: _help(parser))

    pub = admin.add_parser(
        "publish",
        help="check and protect one release env before users see it",
        description="Check a release env before users see it: modes in the env and in its "
        "installation's pkgs/ (nothing group- or world-writable unless the site file allows "
        "it, everything readable by all, package archives included), owners among the admins, "
        "the CEP 22 frozen marker conda-meta/frozen (conda then refuses to modify or remove the "
        "env without --override-frozen), a deep verify, and where the site file shows it. "
        "Without --dry-run it applies exactly the changes it lists.",
        epilog="Exit codes: 0 publishable, 1 problems remain (after a dry run: changes still "
        "to make), 2 not an env or bad usage, 3 could not finish (unresponsive share).",
    )
    pub.add_argument("prefix", metavar="PREFIX", help="the release env")
    pub.add_argument(
        "--message", metavar="TEXT", help="message conda shows when it refuses to change the env"
    )
    pub.add_argument(
        "--quick", action="store_true", help="verify sizes only instead of hashing every file"
    )
    _common(pub)
    pub.add_argument("--dry-run", action="store_true", help="list the changes, change nothing")
    pub.set_defaults(run=run_publish)

    aud = admin.add_parser(
        "audit",
        help="permission and supply-chain audit of a whole installation",
        description="Walk an installation once (symlinks never followed) and report files and "
        "dirs writable by their group or by everyone, owners outside the admins, files users "
        "need but cannot read (0600 package archives), setuid/setgid files, symlinks leaving "
        "the tree and envs without the frozen marker, with a repair plan: --fix --dry-run "
        "shows it, --fix applies it (modes and markers only).",
        epilog="Exit codes: 0 clean, 1 problems remain, 2 bad usage, 3 could not finish.",
    )
    aud.add_argument("prefix", metavar="PREFIX", help="the installation's root prefix")
    aud.add_argument("--fix", action="store_true", help="apply the repair plan")
    aud.add_argument(
        "--dry-run", action="store_true", help="with --fix: show the plan, change nothing"
    )
    aud.add_argument(
        "--message", metavar="TEXT", help="with --fix: the message of the markers written"
    )
    _common(aud)
    aud.set_defaults(run=run_audit)

    from condashare.cli import admin_startup

    admin_startup.register(admin)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", metavar="FILE", help="site file to use (else CONDASHARE_SITE, …)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"silence after which the share counts as unresponsive (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON document")


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return ExitCode.USAGE


def _validate(args: argparse.Namespace) -> None:
    from condashare.cli import ConfigError

    if not 0 < args.timeout <= 3600:
        raise ConfigError("--timeout must be more than 0 and at most 3600 seconds")
    if args.message is not None and not args.message.strip():
        raise ConfigError("--message must not be empty (leave it out for an empty marker)")
    if getattr(args, "fix", True) is False and (args.dry_run or args.message is not None):
        raise ConfigError("--dry-run and --message only apply to --fix")


def _site(path: str | None) -> Site | None:
    from condashare.host.mounts import read_mount_table
    from condashare.site.file import discover_site

    site, _ = discover_site(path, mounts=read_mount_table())
    return site


def render_findings(findings: Sequence[Finding], out: Output, applied: bool = False) -> None:
    """Findings with their fix hints (once the plan is applied, only for what it cannot fix)."""
    from condashare.findings import Group
    from condashare.render import finding_lines

    out.findings(
        finding_lines(
            [Group(f) for f in findings],
            body_indent=6,
            show_fix=lambda f: f.severity.is_problem and not (applied and f.fixable),
        )
    )


def render_plan(plan: Sequence[Change], applied: Sequence[Applied], out: Output) -> None:
    if not plan:
        return
    out.line()
    if not applied:
        out.heading(f"Changes ({len(plan)}):")
        for change in plan:
            also = f" (and {plural(len(change.links), 'more link')})" if change.links else ""
            why = ", ".join(change.reasons)
            out.line(f"  {change.what:<34} {change.path}{also}  [{why}]")
        return
    counts: dict[str, int] = {}
    for done in applied:
        counts[done.status] = counts.get(done.status, 0) + 1
    out.heading("Applied: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    listed = 0
    for done in applied:
        if done.status == "changed" and listed >= PLAN_LINES:
            continue
        listed += done.status == "changed"
        severity = {"changed": "ok", "skipped": "warning"}.get(done.status, "error")
        detail = f": {done.detail}" if done.detail else ""
        out.status(severity, (f"{done.status} {done.what} {done.path}{detail}"), indent=2)
    if listed < counts.get("changed", 0):
        out.line(f"  ... and {counts['changed'] - listed} more changed (--json lists all)")


def _summary(
    findings: Sequence[Finding], applied: Sequence[Applied], fixed: bool, out: Output
) -> None:
    from condashare.admin.audit import remaining

    errors = sum(f.severity.value == "error" for f in findings)
    warnings = sum(f.severity.value == "warning" for f in findings)
    if not (errors or warnings):
        return
    found = f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
    if not fixed:
        out.line(found)
        return
    left = remaining(findings, applied, fixed)
    out.line(f"found {found}; left after the changes: {len(left)}")
    for f in left:
        out.status(f.severity.value, (f.title), indent=2)


def _plan_json(plan: Sequence[Change], applied: Sequence[Applied]) -> list[dict[str, Any]]:
    rows = []
    for i, change in enumerate(plan):
        row: dict[str, Any] = {
            "path": change.path,
            "change": change.what,
            "reasons": list(change.reasons),
            "links": list(change.links),
        }
        if change.action.kind == "chmod":
            row["old_mode"] = f"{change.action.old:04o}"
            row["new_mode"] = f"{change.action.new:04o}"
        if applied:
            row["status"] = applied[i].status
            row["detail"] = applied[i].detail
        rows.append(row)
    return rows


def _render_result(
    out: Output,
    findings: Sequence[Finding],
    plan: Sequence[Change],
    applied: Sequence[Applied],
    fixed: bool,
    dry_run: bool,
    code: int,
    *,
    done: str,
    show_plan: bool,
) -> None:
    """What audit and publish show under their heading: findings, the plan (or a hint that
    there is one), what is left after the changes, and the closing line."""
    out.line()
    render_findings(findings, out, fixed)
    if show_plan:
        render_plan(plan, applied, out)
    elif plan:
        out.line()
        out.line(f"{plural(len(plan), 'change')} would repair this: see them with --fix --dry-run")
    out.line()
    _summary(findings, applied, fixed, out)
    if dry_run and plan:
        out.line(f"dry run: {plural(len(plan), 'change')} listed; nothing was changed")
    elif code == ExitCode.OK:
        out.status("ok", done)


# ------------------------------------------------------------------------------------ audit


def audit_document(report: AuditReport) -> dict[str, Any]:
    return {
        "prefix": report.root,
        "real_prefix": report.real_root,
        "status": report.status,
        "detail": report.detail,
        "entries": report.entries,
        "seconds": report.seconds,
        "policy": report.policy,
        "fix": report.fix,
        "dry_run": report.dry_run,
        "findings": report.findings,
        "plan": _plan_json(report.plan, report.applied),
    }


def run_audit(args: argparse.Namespace) -> int:
    import os

    from condashare.admin.audit import audit, fix
    from condashare.render import Output

    _validate(args)
    out = Output(args.color)
    site = _site(args.site)
    prefix = os.path.normpath(os.path.abspath(args.prefix))
    report = audit(
        prefix,
        settings=site.admin if site else None,
        settings_source=f"site file {site.path}" if site and site.path else "default",
        timeout=args.timeout,
        message=args.message,
    )
    if report.status in ("missing", "not-a-dir"):
        out.warn(f"condashare admin audit: {prefix}: {report.detail}")
        return ExitCode.USAGE
    if args.fix and not args.dry_run and report.status == "ok":
        fix(report, args.timeout)
    report.dry_run = bool(args.dry_run)
    code = report.exit_code
    if args.json:
        out.json("admin.audit", audit_document(report), code)
        return code
    p = report.policy
    out.line(
        f"condashare admin audit: {prefix}: {plural(report.entries, 'entry', 'entries')} in "
        f"{seconds_text(report.seconds)}; admins: {p['owner']} and group {p['admin_group']} "
        f"({p['source']})"
    )
    _render_result(
        out, report.findings, report.plan, report.applied, report.fix, report.dry_run, code,
        done="audit clean", show_plan=bool(args.fix),
    )  # fmt: skip
    return code


# ---------------------------------------------------------------------------------- publish


def publish_document(report: PublishReport) -> dict[str, Any]:
    view = report.view
    return {
        "prefix": report.prefix,
        "status": report.status,
        "detail": report.detail,
        "publishable": report.publishable,
        "dry_run": report.dry_run,
        "site_view": {
            "status": view.status,
            "name": view.name,
            "installation": view.installation,
            "site_file": view.site_path,
        },
        "policy": report.policy,
        "verify": report.verify,
        "findings": report.findings,
        "plan": _plan_json(report.plan, report.applied),
    }


def run_publish(args: argparse.Namespace) -> int:
    from condashare.admin.publish import apply_publish, plan_publish
    from condashare.render import Output

    _validate(args)
    out = Output(args.color)
    site = _site(args.site)
    report = plan_publish(
        args.prefix, site=site, message=args.message, timeout=args.timeout, deep=not args.quick
    )
    if report.status in ("missing", "not-a-dir", "not-an-env"):
        out.warn(f"condashare admin publish: {report.prefix}: {report.detail}")
        return ExitCode.USAGE
    if not args.dry_run and report.status == "ok":
        apply_publish(report, args.timeout)
    code = report.exit_code
    if args.json:
        out.json("admin.publish", publish_document(report), code)
        return code
    out.line(f"condashare admin publish: {report.prefix}")
    _render_result(
        out, report.findings, report.plan, report.applied, not report.dry_run, report.dry_run,
        code, done="published: users can use it as it is", show_plan=True,
    )  # fmt: skip
    if code == ExitCode.PROBLEMS and not (report.dry_run and report.plan):
        out.status("error", "not publishable yet: see the problems above")
    return code
