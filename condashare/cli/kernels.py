"""``condashare kernels``: a Jupyter kernel per shared release, for every OS sharing the home."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from condashare.errors import ExitCode

if TYPE_CHECKING:
    from condashare.kernels.sync import KernelsPlan, KernelsResult
    from condashare.render import Output


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from condashare.cli import add_site_options

    parser = sub.add_parser(
        "kernels",
        help="register each shared release with ipykernel as a Jupyter kernel",
        description="Write one Jupyter kernelspec per shared release that has ipykernel, into "
        "the Jupyter data dir of this OS (and, in a home shared between OSes, of the others). "
        "Each kernel picks the installation of the machine it starts on, and a dead share "
        "makes the start fail after the probe timeout instead of hanging. Run again to sync "
        "with today's releases; --reverse removes every kernelspec condashare wrote.",
    )
    add_site_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    parser.add_argument(
        "--reverse", action="store_true", help="remove the kernelspecs condashare wrote"
    )
    parser.add_argument(
        "--data-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="Jupyter data dir to write (repeatable; kernelspecs go into DIR/kernels); "
        "default: this OS's Jupyter data dir, and the other OSes' in a shared home",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON document")
    parser.set_defaults(run=run)


_SEVERITY = {
    "create": "info",
    "update": "info",
    "remove": "info",
    "unchanged": "ok",
    "conflict": "warning",
    "kept": "warning",
}


def render_plan(plan: KernelsPlan, out: Output, dry_run: bool) -> None:
    if plan.installations:
        out.heading("Shared releases with ipykernel")
        for ik in plan.installations:
            inst = ik.installation
            where = f"{inst.name} ({inst.os}, {inst.prefix})"
            if not ik.listed:
                out.status("warning", f"{where}: not listed: {ik.detail or ik.status}")
                continue
            names = ", ".join(ik.releases) or "none"
            out.status("ok", f"{where}: {names}")
            if ik.without_ipykernel:
                out.line(f"      without ipykernel: {', '.join(ik.without_ipykernel)}")
            for name, why in ik.refused:
                out.status("warning", f"env {name!r} {why}: no kernel for it", indent=6)
        out.line()
    for note in plan.notes:
        out.status("info", note)
    for dir_plan in plan.dirs:
        out.heading(f"Kernelspecs in {dir_plan.data_dir.describe()}")
        if dir_plan.status in ("skipped", "unresponsive", "error"):
            severity = "info" if dir_plan.status == "skipped" else "error"
            out.status(severity, f"{dir_plan.status}: {dir_plan.detail}")
            continue
        if dir_plan.detail:
            out.status("warning", dir_plan.detail)
        if not dir_plan.changes:
            out.line("  (none)")
        for change in dir_plan.changes:
            line = f"{change.action:9} {change.name}  {change.display_name!r}"
            if change.reason and change.action != "remove":
                line += f": {change.reason}"
            out.status(_SEVERITY[change.action], line, indent=2)
    if dry_run:
        out.dry_run_footer([c.diff() for c in plan.changing], "kernelspec")


def _exit_code(result: KernelsResult) -> int:
    plan = result.plan
    if result.failed or any(d.status in ("unresponsive", "error") for d in plan.dirs):
        return ExitCode.INCOMPLETE
    if any(ik.status in ("unresponsive", "error") for ik in plan.installations):
        return ExitCode.INCOMPLETE
    if any(c.action == "conflict" for d in plan.dirs for c in d.changes):
        return ExitCode.PROBLEMS
    return ExitCode.OK


def _json(result: KernelsResult, dry_run: bool) -> dict[str, Any]:
    plan = result.plan
    return {
        "action": plan.action,
        "platform": plan.platform,
        "applied": result.applied,
        "notes": plan.notes,
        "installations": [
            {
                "name": ik.installation.name,
                "os": ik.installation.os,
                "prefix": ik.installation.prefix,
                "status": ik.status,
                "detail": ik.detail,
                "releases": list(ik.releases),
                "without_ipykernel": list(ik.without_ipykernel),
                "refused": [{"name": n, "reason": r} for n, r in ik.refused],
            }
            for ik in plan.installations
        ],
        "dirs": [
            {
                "path": d.data_dir.path,
                "kernels_dir": d.data_dir.kernels_dir,
                "os": d.data_dir.os,
                "source": d.data_dir.source,
                "status": d.status,
                "detail": d.detail,
                "kernels": [
                    {
                        "action": c.action,
                        "name": c.name,
                        "path": c.path,
                        "release": c.release,
                        "display_name": c.display_name,
                        "reason": c.reason,
                        **({"diff": c.diff()} if dry_run and c.action in ("create", "update",
                                                                         "remove") else {}),
                    }
                    for c in d.changes
                ],
            }
            for d in plan.dirs
        ],
        "outcomes": [
            {"name": o.name, "path": o.path, "action": o.action, "done": o.done,
             "error": o.error, "note": o.note, "backups": list(o.backups)}
            for o in result.outcomes
        ],
    }  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import os

    from condashare.cli import ConfigError
    from condashare.files.write import EditError
    from condashare.kernels.sync import apply_plan, plan_reverse, plan_sync
    from condashare.render import Output

    out = Output(args.color)
    if args.reverse:
        from condashare.host import dirs
        from condashare.host.detect import detect_host
        from condashare.site.file import DEFAULT_PROBE_TIMEOUT

        host = detect_host()
        state_dir = dirs.state_dir()
        timeout = DEFAULT_PROBE_TIMEOUT
        plan = plan_reverse(
            host.os, str(host.platform), os.environ, host.home, timeout, args.data_dir
        )
    else:
        from condashare.shared_envs.setup import resolve_setup

        setup = resolve_setup(site_path=args.site, prefix=args.prefix)
        if setup.site is None:
            raise ConfigError(
                "no site file found; pass --site FILE or --prefix PATH, or ask your admins "
                "where the site file is"
            )
        state_dir, timeout = setup.state_dir, setup.ctx.probe_timeout
        plan = plan_sync(setup, args.data_dir)
    try:
        result = apply_plan(plan, state_dir, timeout, args.dry_run)
    except EditError as exc:  # the lock: another `condashare kernels` is running
        out.warn(f"condashare: error: {exc}")
        return ExitCode.INCOMPLETE
    code = _exit_code(result)
    if args.json:
        out.json("kernels", _json(result, args.dry_run), code)
        return code
    render_plan(plan, out, args.dry_run)
    if args.dry_run:
        return code
    out.line()
    for outcome in result.outcomes:
        if not outcome.done:
            out.status("error", f"{outcome.action} {outcome.name}: {outcome.error}")
        elif outcome.note:
            out.status("info", f"{outcome.action} {outcome.name}: {outcome.note}")
    done = [o for o in result.outcomes if o.done]
    if not result.outcomes:
        out.status("ok", "nothing to change")
    elif done:
        removed = sum(1 for o in done if o.action == "remove")
        out.status("ok", f"{len(done) - removed} kernelspec(s) written, {removed} removed")
        if plan.action == "sync":
            out.line("    restart Jupyter (or reload its kernel list) to see them")
    return code
