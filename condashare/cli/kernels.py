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


def render_plan(plan: KernelsPlan, out: Output, dry_run: bool) -> None:
    from condashare.cli import syncflow

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
                out.status("warning", f"env '{name}' {why}: no kernel for it", indent=6)
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
            label = f"{change.name}  '{change.display_name}'"
            syncflow.change_line(out, change.action, label, change.reason)
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

    from condashare.cli import syncflow
    from condashare.kernels.sync import apply_plan, plan_reverse, plan_sync
    from condashare.render import Output

    out = Output(args.color)
    begin = syncflow.start(args)
    if begin.setup is None:
        from condashare.host.detect import detect_host

        host = detect_host()
        plan = plan_reverse(
            host.os, str(host.platform), os.environ, host.home, begin.timeout, args.data_dir
        )
    else:
        plan = plan_sync(begin.setup, args.data_dir)
    result = syncflow.attempt(
        lambda: apply_plan(plan, begin.state_dir, begin.timeout, args.dry_run), out
    )
    if result is None:
        return ExitCode.INCOMPLETE
    code = _exit_code(result)
    if args.json:
        out.json("kernels", _json(result, args.dry_run), code)
        return code
    render_plan(plan, out, args.dry_run)
    if args.dry_run:
        return code
    done = [syncflow.Done(o.action, o.name, o.done, o.error, o.note) for o in result.outcomes]
    restart = "restart Jupyter (or reload its kernel list) to see them"
    syncflow.summary(out, done, "kernelspec", restart if plan.action == "sync" else "")
    return code
