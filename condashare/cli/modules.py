"""``condashare modules``: an environment modulefile (Lmod or Environment Modules) per release."""

from __future__ import annotations

import argparse
import io
import os
from typing import TYPE_CHECKING, Any

from condashare.errors import ExitCode

if TYPE_CHECKING:
    from condashare.files.read import Reader
    from condashare.files.write import Edit
    from condashare.modules.sync import ModulesPlan, Outcome
    from condashare.render import Output


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from condashare.cli import add_site_options

    parser = sub.add_parser(
        "modules",
        help="write an environment modulefile (module load isis/4.3.0) per shared release",
        description="Write one modulefile per shared release (env isis4.3.0 becomes module "
        "isis/4.3.0) into a directory you add with 'module use'. Each file picks the "
        "installation of the machine it is loaded on, so one directory serves every OS "
        "sharing the home; a dead share makes 'module load' fail after the probe timeout. "
        "Run again to sync with today's releases; --reverse removes what condashare wrote.",
    )
    add_site_options(parser)
    parser.add_argument(
        "--dir",
        metavar="DIR",
        help="modulefile directory (default: ~/.local/share/condashare/modulefiles, one path "
        "for every OS sharing the home)",
    )
    parser.add_argument(
        "--format",
        choices=("lua", "tcl"),
        help="lua (Lmod) or tcl (Environment Modules); default: the module system you have",
    )
    parser.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    parser.add_argument(
        "--reverse", action="store_true", help="remove the modulefiles condashare wrote"
    )
    parser.add_argument(
        "--use",
        action="store_true",
        help="also add 'module use DIR' to your shell's startup file ($SHELL), in a block of "
        "its own; --reverse removes it",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON document")
    parser.set_defaults(run=run)


def use_line(directory: str, home: str) -> str:
    """The ``module use`` line to add to a startup file, through ``$HOME`` when in the home."""
    from condashare.shells.dialects import PosixDialect

    quote = PosixDialect().quote
    home = home.rstrip("/")
    if home and directory.startswith(home + "/"):
        return 'module use "$HOME"/' + quote(directory[len(home) + 1 :])
    return "module use " + quote(directory)


def render_plan(plan: ModulesPlan, out: Output, dry_run: bool) -> None:
    from condashare.cli import syncflow

    if plan.listings:
        out.heading("Shared releases")
        for listing in plan.listings:
            if listing.status != "ok":
                out.status("warning", f"{listing.installation}: not listed: {listing.detail}")
            else:
                out.status("ok", f"{listing.installation}: {', '.join(listing.releases) or 'none'}")
        for release, why in plan.refused:
            out.status("warning", f"env '{release}' {why}: no modulefile for it", indent=6)
        out.line()
    out.heading(f"Modulefiles in {plan.directory}")
    if plan.status in ("skipped", "unresponsive", "error"):
        out.status("error", f"{plan.status}: {plan.detail}")
        return
    if plan.detail:
        out.status("warning", plan.detail)
    if not plan.changes:
        out.line("  (none)")
    for change in plan.changes:
        syncflow.change_line(out, change.action, change.module, change.reason)
    if dry_run:
        out.dry_run_footer([c.diff() for c in plan.changing], "modulefile")


def _exit_code(plan: ModulesPlan, outcomes: list[Outcome]) -> int:
    if any(not o.done for o in outcomes) or plan.status in ("skipped", "unresponsive", "error"):
        return ExitCode.INCOMPLETE
    if any(x.status != "ok" for x in plan.listings):
        return ExitCode.INCOMPLETE
    if any(c.action == "conflict" for c in plan.changes):
        return ExitCode.PROBLEMS
    return ExitCode.OK


def _json(plan: ModulesPlan, outcomes: list[Outcome], fmt: str, use: str) -> dict[str, Any]:
    return {
        "action": plan.action,
        "directory": plan.directory,
        "format": fmt,
        "module_use": use,
        "status": plan.status,
        "detail": plan.detail,
        "installations": [
            {"name": x.installation, "status": x.status, "detail": x.detail,
             "releases": list(x.releases)}
            for x in plan.listings
        ],
        "refused": [{"name": n, "reason": r} for n, r in plan.refused],
        "modules": [
            {"action": c.action, "module": c.module, "path": c.path, "reason": c.reason}
            for c in plan.changes
        ],
        "outcomes": [
            {"module": o.module, "path": o.path, "action": o.action, "done": o.done,
             "error": o.error}
            for o in outcomes
        ],
    }  # fmt: skip


def _plan_use(directory: str, home: str, remove: bool, reader: Reader) -> Edit | str:
    """The startup-file edit adding (or removing) the ``module use`` block, or why there is none.

    tcsh reads ``~/.cshrc`` only when there is no ``~/.tcshrc``: creating one would hide it.
    """
    from condashare.files.write import plan_edit, read_state
    from condashare.modules.use import block, splice, target_for

    target = target_for(os.environ.get("SHELL", ""), home, os.environ)
    if isinstance(target, str):
        return target
    path, state = target.path, read_state(target.path, reader)
    if target.shell == "tcsh" and not state.exists:
        cshrc = os.path.join(home, ".cshrc")
        other = read_state(cshrc, reader)
        if other.exists:
            path, state = cshrc, other
    new_block = None if remove else block(target.shell, directory, home)
    return plan_edit(path, lambda old: splice(old, new_block), "module use", state, reader)


def _use(
    args: argparse.Namespace, directory: str, home: str, state_dir: str, out: Output
) -> tuple[int, str]:
    """Plan and (unless a dry run) apply the ``module use`` block; (exit code, what was done)."""
    from condashare.files.read import Reader
    from condashare.files.write import EditError, apply_edit
    from condashare.render import shown

    reader = Reader.for_this_host()
    try:
        edit = _plan_use(directory, home, args.reverse, reader)
        if isinstance(edit, str):
            if args.use:
                out.status("warning", f"--use: {edit}; add the 'module use' line yourself")
                return ExitCode.PROBLEMS, ""
            return ExitCode.OK, ""
        if not edit.changed:
            return ExitCode.OK, "unchanged"
        if args.dry_run:
            out.line()
            out.block(edit.diff(), tabs=True)
            return ExitCode.OK, edit.action
        applied = apply_edit(edit, os.path.join(state_dir, "backups"), reader)
    except (EditError, ValueError) as exc:
        path = exc.path if isinstance(exc, EditError) else "startup file"
        message = exc.message if isinstance(exc, EditError) else str(exc)
        out.status("error", f"module use: {shown(path)}: {message}; it was left alone")
        return ExitCode.INCOMPLETE, ""
    word = "removed from" if args.reverse else "added to"
    saved = f" (the old version is in {shown(applied.backup)})" if applied.backup else ""
    out.status("ok", f"'module use' block {word} {shown(edit.path)}{saved}")
    return ExitCode.OK, edit.action


def run(args: argparse.Namespace) -> int:
    from condashare.cli import syncflow
    from condashare.files.read import Reader
    from condashare.files.write import exclusive_lock
    from condashare.modules.sync import (
        apply_plan,
        default_dir,
        detect_format,
        plan_reverse,
        plan_sync,
    )
    from condashare.render import Output

    out = Output(args.color)
    home = os.path.expanduser("~")
    directory = os.path.abspath(os.path.expanduser(args.dir)) if args.dir else default_dir(home)
    where = "--dir" if args.dir else "default: the same path for every OS sharing the home"
    fmt, why = (args.format, "--format") if args.format else detect_format(os.environ)
    begin = syncflow.start(args)
    reader = Reader.for_this_host(begin.timeout, home)
    if begin.setup is None:
        plan = plan_reverse(directory, reader)
    else:
        plan = plan_sync(begin.setup, directory, reader, fmt)

    def apply() -> list[Outcome]:
        with exclusive_lock(os.path.join(begin.state_dir, "modules.lock"), reader=reader):
            return apply_plan(plan, reader, args.dry_run)

    outcomes = syncflow.attempt(apply, out)
    if outcomes is None:  # another `condashare modules` is running
        return ExitCode.INCOMPLETE
    code = _exit_code(plan, outcomes)
    use = use_line(directory, home)
    state_dir = begin.state_dir
    if args.json:
        doc = _json(plan, outcomes, fmt, use)
        if args.use or args.reverse:
            quiet = Output("never", stdout=io.StringIO())  # the JSON document says it all
            use_code, doc["startup_file"] = _use(args, directory, home, state_dir, quiet)
            code = max(code, use_code)
        out.json("modules", doc, code)
        return code
    if plan.action == "sync":
        out.status("info", f"format: {fmt} ({why}); directory: {directory} ({where})")
    render_plan(plan, out, args.dry_run)
    edited = ""
    if (args.use or args.reverse) and plan.status != "unresponsive":
        use_code, edited = _use(args, directory, home, state_dir, out)
        code = max(code, use_code)
    if args.dry_run:
        return code
    syncflow.summary(
        out, [syncflow.Done(o.action, o.module, o.done, o.error) for o in outcomes], "modulefile"
    )
    if plan.action == "sync" and plan.status in ("ok", "partial") and not edited:
        out.line("    add this line to your shell startup file (or type it now; --use adds it):")
        out.line(f"    {use}")
    return code
