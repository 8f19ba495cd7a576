"""``condashare init``: write (or remove) the OS-branching startup block in every shell's files."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from condashare import exitcodes

if TYPE_CHECKING:
    from condashare.render import Output
    from condashare.startup import InitPlan


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from condashare.cli import add_site_options

    parser = sub.add_parser(
        "init",
        help="set up your shells to use the shared conda installation of each machine",
        description="Add a managed block to your shell startup files that picks, at every shell "
        "start, the shared installation for that machine's OS and architecture and sources its "
        "conda.sh / conda.csh / conda.fish directly (no Python at shell start). A dead share is "
        "skipped after the probe timeout. Run again to update; --reverse removes exactly what "
        "was added.",
    )
    parser.add_argument(
        "--shell",
        action="append",
        choices=("bash", "zsh", "sh", "dash", "tcsh", "csh", "fish"),
        help="set up this shell (repeatable; default: your login shell and every shell whose "
        "startup file exists)",
    )
    parser.add_argument("--all-shells", action="store_true", help="bash, zsh, sh, tcsh and fish")
    parser.add_argument(
        "--dry-run", action="store_true", help="show a diff of every file, change nothing"
    )
    parser.add_argument(
        "--reverse", action="store_true", help="remove the blocks and undo --replace-conda-init"
    )
    parser.add_argument(
        "--replace-conda-init",
        action="store_true",
        help="disable existing 'conda initialize'/'mamba initialize' blocks (reversibly)",
    )
    parser.add_argument(
        "--probe-timeout",
        type=float,
        metavar="SECONDS",
        help="how long a shell waits for the share (default: the site file's probe_timeout)",
    )
    add_site_options(parser)
    parser.set_defaults(run=run)


def _shells(args: argparse.Namespace, login_shell: str | None, home: str) -> list[str]:
    from condashare.startup import SHELL_ALIASES, SHELLS, default_shells

    if args.all_shells:
        return list(SHELLS)
    if args.shell:
        return list(dict.fromkeys(SHELL_ALIASES[s] for s in args.shell))
    return default_shells(login_shell, home, os.environ)


def render_plan(plan: InitPlan, out: Output, dry_run: bool, machine: str = "") -> None:
    verb = "would" if dry_run else "will"
    if plan.action == "init":
        out.heading(f"Shells: {', '.join(plan.shells) or 'none'}")
        if machine:
            out.line(machine)
    for fp in plan.files:
        edit = fp.edit
        label = {
            "create": "create",
            "modify": "update",
            "delete": "delete",
            "unchanged": "unchanged",
        }[edit.action]
        link = f" (symlink to {edit.target})" if os.path.islink(edit.path) else ""
        sev = "ok" if edit.action == "unchanged" else "info"
        out.status(sev, f"{label:9} {edit.path}{link}")
        if fp.why and plan.action == "init":
            out.line(f"          {fp.why}")
        for block in fp.conda_blocks:
            state = "disabled by condashare" if block.disabled else "active"
            mention = f", uses {', '.join(block.prefixes)}" if block.prefixes else ""
            out.status(
                "warning" if not block.disabled else "info",
                f"'{block.name}' block at lines {block.first_line}-{block.last_line} "
                f"({state}{mention})",
                indent=10,
            )
    for note in plan.notes:
        out.status("warning", note)
    if dry_run:
        diffs = [fp.edit.diff() for fp in plan.changed]
        if diffs:
            out.line()
            for text in diffs:
                out.block(text, tabs=True)
        out.line()
        out.line(f"dry run: {len(plan.changed)} file(s) {verb} change; nothing was written")


def run(args: argparse.Namespace) -> int:
    from condashare.cli import ConfigError
    from condashare.fileedit import AppliedEdit, EditError, apply_edit, exclusive_lock
    from condashare.host import detect_host
    from condashare.installations import choose_installation
    from condashare.render import Output
    from condashare.site import MAX_PROBE_TIMEOUT, discover_site, site_from_prefix
    from condashare.startup import StartupError, plan_init, plan_reverse

    out = Output(args.color)
    host = detect_host()
    home = host.home
    import platformdirs

    state_dir = str(platformdirs.user_state_path("condashare"))
    backup_dir = os.path.join(state_dir, "backups")
    if args.probe_timeout is not None and not 0 < args.probe_timeout <= MAX_PROBE_TIMEOUT:
        raise ConfigError(f"--probe-timeout must be > 0 and <= {MAX_PROBE_TIMEOUT:g}")
    machine = ""
    try:
        with exclusive_lock(os.path.join(state_dir, "init.lock")):
            if args.reverse:
                shells = _shells(args, None, home) if (args.shell or args.all_shells) else None
                plan = plan_reverse(home, os.environ, shells)
            else:
                if args.prefix:
                    site = site_from_prefix(args.prefix, host.os)
                else:
                    found, looked = discover_site(args.site)
                    if found is None:
                        places = ", ".join(c.path for c in looked)
                        raise ConfigError(
                            f"no site file found (looked at {places}); pass --site FILE or "
                            "--prefix PATH, or ask your admins where the site file is"
                        )
                    site = found
                shells = _shells(args, host.login_shell, home)
                if not shells:
                    raise ConfigError("no shell to set up: pass --shell NAME or --all-shells")
                plan = plan_init(
                    site, shells, home, os.environ, args.probe_timeout, args.replace_conda_init
                )
                choice = choose_installation(site, host.platform)
                if choice.installation is not None:
                    inst = choice.installation
                    machine = f"This machine ({host.platform}) will use {inst.name}: {inst.prefix}"
                else:
                    machine = f"This machine ({host.platform}): {choice.reason}"
                machine += f"; the block covers {len(site.installations)} installation(s)"
            render_plan(plan, out, args.dry_run, machine if not args.reverse else "")
            if args.dry_run:
                return exitcodes.OK
            applied: list[AppliedEdit] = []
            try:
                for edit in plan.edits:
                    if edit.changed:
                        applied.append(apply_edit(edit, backup_dir))
            except (OSError, EditError) as exc:
                # Every file was checked while planning, so this is I/O trouble (disk full, a
                # file changed under us). Each write is atomic: say exactly what was done.
                out.warn(f"condashare: error: {exc}")
                done = ", ".join(a.edit.path for a in applied) or "none"
                out.warn(f"files already written: {done}")
                if applied:
                    out.warn("run 'condashare init --reverse' to undo them, or run init again")
                return exitcodes.INCOMPLETE
    except (EditError, StartupError) as exc:
        out.warn(f"condashare: error: {exc}")
        if not args.dry_run:
            out.warn("nothing was changed")
        return exitcodes.USAGE
    out.line()
    if applied:
        backups = [a.backup for a in applied if a.backup]
        out.status("ok", f"{len(applied)} file(s) written")
        if backups:
            out.line(f"    backups of the old versions are in {backup_dir}")
    else:
        out.status("ok", "nothing to change")
    if plan.action == "init" and applied:
        out.line("    open a new shell to use it; undo with: condashare init --reverse")
    return exitcodes.OK
