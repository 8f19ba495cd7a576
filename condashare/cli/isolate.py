"""``condashare isolate [--fresh-pkgs] -- COMMAND ...``: a clean room for one command."""

from __future__ import annotations

import argparse

from condashare.errors import ExitCode


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from condashare.cli import add_site_options
    from condashare.cli.shared import add_conda_root_option

    parser = sub.add_parser(
        "isolate",
        help="run one command with the shared envs and caches out of conda's view",
        description="Run COMMAND with the shared installation's envs and package caches out of "
        "conda's view, without changing any file: conda's variables are set and the condarc "
        "files that list shared dirs are replaced by filtered temporary copies for the "
        "command only. What cannot be hidden is listed on stderr (with --strict the command "
        "is then not run, exit 1). The exit code is the command's.",
        epilog="example: condashare isolate --fresh-pkgs -- conda create -n t python",
    )
    add_site_options(parser)
    add_conda_root_option(parser)
    parser.add_argument(
        "--fresh-pkgs",
        action="store_true",
        help="use an empty temporary package cache, removed afterwards",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="do not run COMMAND (exit 1) when a shared dir cannot be hidden",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only what could not be hidden"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from condashare.isolate import cleanup, plan_isolation, run_isolated
    from condashare.render import Output
    from condashare.shared_envs.setup import resolve_setup

    out = Output(args.color)
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        out.warn(
            "condashare isolate: give a command after --, e.g. "
            "condashare isolate -- conda info --envs"
        )
        return ExitCode.USAGE
    setup = resolve_setup(site_path=args.site, prefix=args.prefix, conda_root=args.conda_root)
    plan = plan_isolation(setup, fresh_pkgs=args.fresh_pkgs)
    if not args.quiet:
        for line in plan.hidden:
            out.warn(f"isolate: hidden: {line}")
        for line in plan.notes:
            out.warn(f"isolate: note: {line}")
    for line in plan.not_hidden:
        out.warn(f"isolate: still in view: {line}")
    if args.strict and plan.not_hidden:
        cleanup(plan.tmpdir)
        out.warn("condashare isolate --strict: shared dirs stay in view; the command was not run")
        return ExitCode.PROBLEMS
    code = run_isolated(plan, command)
    if code == 127:
        out.warn(f"condashare isolate: command not found: {command[0]}")
    return code
