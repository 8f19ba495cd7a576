"""``condashare admin init-system``: the startup block for all users, in the system's files."""

from __future__ import annotations

import argparse
import os


def register(admin: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from condashare.cli import add_site_options
    from condashare.cli.init import SHELL_CHOICES, add_probe_timeout

    parser = admin.add_parser(
        "init-system",
        help="set up every user's shells at once (/etc/profile.d and the like)",
        description="Write the block 'condashare init' writes for one user into the system's "
        "startup files, for every user of this machine: /etc/profile.d/condashare.sh (login "
        "sh/bash), /etc/bash.bashrc or /etc/bashrc (other interactive bash), /etc/zsh/zshrc or "
        "/etc/zshrc, /etc/csh/cshrc.d or /etc/profile.d/condashare.csh (tcsh), and fish's "
        "system conf.d. Users who also run 'condashare init' get the setup once. --reverse "
        "removes exactly what was added.",
        epilog="Exit codes: 0 done, 2 bad usage or a file that cannot be written (run as root), "
        "3 could not finish.",
    )
    parser.add_argument(
        "--shell",
        action="append",
        choices=SHELL_CHOICES,
        help="set up this shell (repeatable; default: bash, zsh, sh, tcsh and fish)",
    )
    parser.add_argument(
        "--root",
        default="/",
        metavar="DIR",
        help="the system's root directory (default /; e.g. an image being built)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show a diff of every file, change nothing"
    )
    parser.add_argument("--reverse", action="store_true", help="remove the system-wide blocks")
    parser.add_argument(
        "--require-trusted",
        action="store_true",
        help="refuse when anyone besides root and the admins can change what the block sources",
    )
    add_probe_timeout(parser)
    add_site_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from condashare.admin.system_startup import (
        COMMAND,
        backup_dir,
        plan_system_init,
        plan_system_reverse,
    )
    from condashare.cli import ConfigError
    from condashare.cli.init import BlockWrite, check_probe_timeout, write_blocks
    from condashare.files.read import Reader
    from condashare.render import Output
    from condashare.shells.records import lookup, shell_names
    from condashare.site.locate import LocateRequest, locate
    from condashare.startup.plan import InitPlan

    out = Output(args.color)
    check_probe_timeout(args.probe_timeout)
    root = os.path.abspath(args.root)
    if not os.path.isdir(root):
        raise ConfigError(f"--root {root}: not a directory")
    named = (lookup(s) for s in args.shell or ())
    shells = list(dict.fromkeys(r.name for r in named if r)) or list(shell_names())
    if args.reverse:  # no site needed (a broken site file must not block removing the block)
        reader = Reader.for_this_host()
        job = BlockWrite(COMMAND, reader, backup_dir(root), args.dry_run, False, None)
        return write_blocks(job, lambda: (plan_system_reverse(root, shells, reader), ""), out)
    where = locate(LocateRequest(args.site, args.prefix))
    site = where.site
    if site is None:
        places = ", ".join(c.path for c in where.candidates)
        raise ConfigError(f"no site file found (looked at {places}); pass --site FILE")
    reader = Reader(where.mounts, where.probe_timeout)
    trust = (site, where.host)
    job = BlockWrite(COMMAND, reader, backup_dir(root), args.dry_run, args.require_trusted, trust)

    def make_plan() -> tuple[InitPlan, str]:
        return plan_system_init(site, root, shells, args.probe_timeout, reader), ""

    return write_blocks(job, make_plan, out)
