"""``condashare init``: write (or remove) the OS-branching startup block in every shell's files."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, NamedTuple

from condashare.errors import ExitCode
from condashare.wording import plural

# Every name ``--shell`` accepts, spelled out so that building the parser does not import the
# shell records (every command builds it, ``--version`` too); a test holds this equal to
# ``shells.records.all_aliases()``.
SHELL_CHOICES = ("bash", "csh", "dash", "fish", "ksh", "sh", "tcsh", "zsh")

if TYPE_CHECKING:
    from condashare.files.read import Reader
    from condashare.host.detect import Host
    from condashare.render import Output
    from condashare.site.file import Site
    from condashare.startup.apply import ApplyResult
    from condashare.startup.plan import InitPlan


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from condashare.cli import add_site_options

    parser = sub.add_parser(
        "init",
        help="set up your shells to use the shared conda installation of each machine",
        description="Add a managed block to your shell startup files (by default one line that "
        "sources the code condashare keeps in its state dir) that picks, at every shell start, "
        "the shared installation for that machine's OS and architecture and sources its "
        "conda.sh / conda.csh / conda.fish directly (no Python at shell start). A dead share is "
        "skipped after the probe timeout. Run again to update; --reverse removes exactly what "
        "was added.",
    )
    parser.add_argument(
        "--shell",
        action="append",
        choices=SHELL_CHOICES,
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
        "--form",
        choices=("short", "full"),
        help="short: one guarded line sourcing the code condashare keeps in its state dir; "
        "full: the whole block in each file (default: a file keeps the form its block has, a "
        "new block is short)",
    )
    parser.add_argument(
        "--replace-conda-init",
        action="store_true",
        help="disable existing 'conda initialize'/'mamba initialize' blocks (reversibly)",
    )
    parser.add_argument(
        "--require-trusted",
        action="store_true",
        help="refuse when anyone besides root, the admins and you can change what the block "
        "sources (the site file, conda.sh, or a directory on the way)",
    )
    add_probe_timeout(parser)
    add_site_options(parser)
    parser.set_defaults(run=run)


def add_probe_timeout(parser: argparse.ArgumentParser) -> None:
    """``--probe-timeout``, for every command that writes the block."""
    parser.add_argument(
        "--probe-timeout",
        type=float,
        metavar="SECONDS",
        help="how long a shell waits for the share (default: the site file's probe_timeout)",
    )


def check_probe_timeout(value: float | None) -> None:
    """Refuse a ``--probe-timeout`` the block could not honour."""
    from condashare.cli import ConfigError
    from condashare.site.file import MAX_PROBE_TIMEOUT

    if value is not None and not 0 < value <= MAX_PROBE_TIMEOUT:
        raise ConfigError(f"--probe-timeout must be > 0 and <= {MAX_PROBE_TIMEOUT:g}")


def render_plan(plan: InitPlan, out: Output, dry_run: bool, machine: str = "") -> None:
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
        link = f" (symlink to {edit.target})" if edit.link else ""
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
    for path in plan.stale:
        out.status("info", f"{'remove':9} {path}")
        out.line("          a temporary file an interrupted run left")
    for path in plan.remove_dirs:
        out.status("info", f"{'remove':9} {path}/")
        out.line("          init created this directory (removed only if empty)")
    for note in plan.notes:
        out.status("warning", note)
    if dry_run:
        out.dry_run_footer([fp.edit.diff() for fp in plan.changed], "file")


def _find(args: argparse.Namespace) -> tuple[Host, dict[str, str], Site | None, Reader]:
    """Host, environment and site file through the one lookup every command uses, and the
    reader (its mount table and timeout) for the user's files."""
    from condashare.cli import ConfigError
    from condashare.files.read import Reader
    from condashare.host.detect import detect_host
    from condashare.site.file import DEFAULT_PROBE_TIMEOUT
    from condashare.site.locate import LocateRequest, host_inputs, locate

    if args.reverse:  # no site needed (a broken site file must not block removing the block)
        env, mounts, inputs = host_inputs()
        host = detect_host(inputs)
        return host, env, None, Reader(mounts, DEFAULT_PROBE_TIMEOUT, host.home)
    where = locate(LocateRequest(args.site, args.prefix))
    if where.site is None:
        places = ", ".join(c.path for c in where.candidates)
        raise ConfigError(
            f"no site file found (looked at {places}); run 'condashare site discover DIR' to "
            "find the installations under DIR (e.g. /nfs/cpkgs) and write one, pass --site FILE "
            "or --prefix PATH, or ask your admins where the site file is"
        )
    reader = Reader(where.mounts, where.probe_timeout, where.host.home)
    return where.host, where.env, where.site, reader


def _plan(
    args: argparse.Namespace, host: Host, env: dict[str, str], site: Site | None, reader: Reader
) -> tuple[InitPlan, str]:
    """Pick the shells and plan every edit (nothing is written)."""
    from condashare.cli import ConfigError
    from condashare.host import dirs
    from condashare.site.installations import choose_installation
    from condashare.startup.plan import choose_shells, existence, plan_init, plan_reverse
    from condashare.startup.short import CodeDir

    code = CodeDir(dirs.startup_code_dir(env), host.home)
    exists = existence(reader, host.home, env)
    if site is None:
        chosen = args.shell or args.all_shells
        shells = (
            choose_shells(args.shell, args.all_shells, None, host.home, env, exists)
            if chosen
            else None
        )
        return plan_reverse(host.home, env, shells, reader, code), ""
    shells = choose_shells(args.shell, args.all_shells, host.login_shell, host.home, env, exists)
    if not shells:
        raise ConfigError("no shell to set up: pass --shell NAME or --all-shells")
    plan = plan_init(
        site,
        shells,
        host.home,
        env,
        args.probe_timeout,
        args.replace_conda_init,
        reader,
        args.form,
        code,
    )
    choice = choose_installation(site, host.platform, host.facts, env)
    if choice.installation is not None:
        inst = choice.installation
        machine = f"This machine ({host.platform}) will use {inst.name}: {inst.prefix}"
    else:
        machine = f"This machine ({host.platform}): {choice.reason}"
    machine += f"; the block covers {plural(len(site.installations), 'installation')}"
    return plan, machine


def run(args: argparse.Namespace) -> int:
    from condashare.host import dirs
    from condashare.render import Output
    from condashare.startup.apply import init_lock

    out = Output(args.color)
    check_probe_timeout(args.probe_timeout)
    host, env, site, reader = _find(args)
    job = BlockWrite(
        "condashare init",
        reader,
        dirs.backup_dir(),
        args.dry_run,
        args.require_trusted,
        (site, host) if site is not None else None,
        lambda: init_lock(dirs.state_dir(), reader),
    )
    return write_blocks(job, lambda: _plan(args, host, env, site, reader), out)


class BlockWrite(NamedTuple):
    """A command that writes startup blocks (``init``, ``admin init-system``), as
    :func:`write_blocks` needs it (a NamedTuple: importing dataclasses would cost every
    command's start, ``--version`` too)."""

    command: str  # named in the undo hint
    reader: Reader  # reads and writes the files (bounded on a share)
    backups: str  # where the old versions go
    dry_run: bool
    require_trusted: bool
    trust: tuple[Site, Host] | None  # whose sources to vet before writing (None: --reverse)
    lock: Callable[[], AbstractContextManager[object]] | None = None  # held while writing


def write_blocks(
    job: BlockWrite, make_plan: Callable[[], tuple[InitPlan, str]], out: Output
) -> int:
    """Plan, vet what the block sources, show, apply: the one flow of every command that
    writes startup blocks. A refused file or a share that stops answering before the first
    write leaves every file as it was, and says so. The exit code."""
    import contextlib

    from condashare.cli.trust_note import refuse_untrusted
    from condashare.files.read import UserFileError
    from condashare.files.write import EditError
    from condashare.startup.apply import apply_plan
    from condashare.startup.blocks import StartupError

    try:
        with contextlib.ExitStack() as stack:
            if job.lock is not None and not job.dry_run:  # a dry run writes nothing, no lock
                stack.enter_context(job.lock())
            plan, machine = make_plan()
            if job.trust is not None:
                site, host = job.trust
                if refuse_untrusted(site, host, job.reader, plan.shells, out, job.require_trusted):
                    return ExitCode.USAGE
            render_plan(plan, out, job.dry_run, machine)
            if job.dry_run:
                return ExitCode.OK
            result = apply_plan(plan, job.backups, job.reader)
    except (EditError, StartupError, UserFileError) as exc:
        out.warn(f"condashare: error: {exc}")
        if not job.dry_run:
            out.warn("nothing was changed")
        return exc.exit_code  # 3 when a share did not answer, 2 for a refused file
    return report_result(plan, result, out, job.backups, job.command)


def report_result(
    plan: InitPlan, result: ApplyResult, out: Output, backups: str, command: str
) -> int:
    """Say what was written; on trouble, exactly which files were already written and how to
    undo them (each write is atomic). The exit code."""
    if result.error is not None:
        out.warn(f"condashare: error: {result.error}")
        done = ", ".join(a.edit.path for a in result.applied) or "none"
        out.warn(f"files already written: {done}")
        if result.applied:
            out.warn(f"run '{command} --reverse' to undo them, or run it again")
        return ExitCode.INCOMPLETE
    out.line()
    if result.removed:
        out.status("ok", f"removed {', '.join(result.removed)}")
    if result.applied:
        out.status("ok", f"{plural(len(result.applied), 'file')} written")
        if result.backups:
            out.line(f"    backups of the old versions are in {backups}")
    elif not result.removed:
        out.status("ok", "nothing to change")
    if plan.action == "init" and result.applied:
        out.line(f"    open a new shell to use it; undo with: {command} --reverse")
    return ExitCode.OK
