"""``condashare envs``: the shared environments (releases) available for this host."""

from __future__ import annotations

import argparse

from condashare.errors import ExitCode


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from condashare.cli import add_site_options

    parser = sub.add_parser(
        "envs",
        help="list the shared environments for this host, sorted by version",
        description="List the environments of this host's shared installation (name, path, "
        "release version parsed from names such as isis4.3.0), sorted by version. The share is "
        "read by a probe with a timeout, so a dead share cannot hang this command.",
    )
    add_site_options(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON document")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from condashare.render import Output, shown
    from condashare.shared_envs.releases import (
        list_shared_envs,
        mark_hidden,
        mark_wrong_platform,
    )
    from condashare.shared_envs.setup import resolve_setup

    out = Output(args.color)
    setup = resolve_setup(site_path=args.site, prefix=args.prefix, conda_root=None)
    report = mark_wrong_platform(setup, mark_hidden(setup, list_shared_envs(setup)))
    if report.status == "no-installation":
        code = ExitCode.USAGE
    elif report.status == "ok":
        code = ExitCode.PROBLEMS if report.wrong_platform else ExitCode.OK
    else:
        code = ExitCode.INCOMPLETE if report.status == "unresponsive" else ExitCode.PROBLEMS
    if args.json:
        out.json("envs", report, code)
        return code
    if report.installation is None:
        out.status("error", "no shared installation for this host (see `condashare info`)")
        return code
    out.heading(f"Shared environments of {report.installation.name} ({report.envs_dir})")
    if report.status != "ok":
        out.status("error", f"{report.envs_dir}: {report.detail}")
        return code
    if not report.envs:
        out.line("  (none)")
    names = [shown(e.name) for e in report.envs]  # aligned as shown, escapes included
    width = max((len(n) for n in names), default=0)
    for name, env in zip(names, report.envs, strict=True):
        out.line(f"  {name:<{width}}  {env.version or '-':<10}  {env.path}")
        if env.hidden_by:
            out.line(
                f"  {'':<{width}}  hidden by {shown(env.hidden_by)}: "
                f"conda activate {shown(env.name)} takes that one; use the path"
            )
    out.line()
    out.line("Activate one with: conda activate <name>   (or: conda activate <path>)")
    if any(e.hidden_by for e in report.envs):
        out.line("A hidden one only by its path: conda activate <path>")
    if report.wrong_platform:
        out.line()
        out.status(
            "error",
            f"installation '{report.installation.name}' holds {report.wrong_platform}, not for "
            f"this {setup.host.platform} host: these environments cannot run here "
            "(see `condashare info`)",
        )
    return code
