"""``condashare site discover DIR...``: find the conda installations and write a site file."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from condashare.errors import ExitCode
from condashare.wording import plural

if TYPE_CHECKING:
    from condashare.render import Output
    from condashare.site.discover import Discovery


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "site",
        help="find the shared conda installations and write your site file",
        description="Work with the site file that tells condashare which installations exist.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    disc = actions.add_parser(
        "discover",
        help="find conda installations under directories and write a user site file",
        description="Search DIR (and its sub-directories, --depth levels) for conda "
        "installations, and the one CONDA_EXE belongs to; tell each one's OS and architecture "
        "from its own bin/python (ELF or Mach-O header) and conda-meta records; write them to "
        "your user site file. Every directory is searched by a child process with a timeout, so "
        "a dead share is reported as unresponsive instead of hanging.",
    )
    disc.add_argument("dirs", nargs="+", metavar="DIR", help="directory to search")
    disc.add_argument("--dry-run", action="store_true", help="print the site file, write nothing")
    disc.add_argument(
        "--force", action="store_true", help="replace an existing user site file (backup kept)"
    )
    disc.add_argument(
        "--depth",
        type=int,
        metavar="N",
        help="how many directory levels below DIR to search (default 2, at most 4)",
    )
    disc.add_argument(
        "--no-conda-exe", action="store_true", help="do not add the installation of CONDA_EXE"
    )
    disc.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long each directory may take to answer (default 5)",
    )
    disc.add_argument("--json", action="store_true", help="print a JSON document")
    disc.set_defaults(run=run_discover)


def render_discovery(found: Discovery, out: Output) -> None:
    out.heading("Searched")
    for searched in found.searched:
        sev = "ok" if searched.status == "ok" else "error"
        out.status(sev, f"{searched.path}: {searched.detail}", indent=2)
    out.line()
    out.heading("Installations")
    if not found.found:
        out.status("warning", "none found (a conda root has conda-meta/ and "
                   "etc/profile.d/conda.sh)", indent=2)  # fmt: skip
    for inst in found.found:
        if inst.usable:
            out.status("ok", f"{inst.name}: {inst.prefix}  ({inst.via})", indent=2)
            out.line(f"        {inst.why}")
        else:
            out.status("error", f"{inst.prefix}  ({inst.via}): left out", indent=2)
            out.line(f"        {inst.problem}")
    for note in found.notes:
        out.status("info", note, indent=2)


def run_discover(args: argparse.Namespace) -> int:
    from condashare.cli import ConfigError
    from condashare.files.read import Reader
    from condashare.host import dirs
    from condashare.render import Output
    from condashare.site.discover import (
        DEFAULT_DEPTH,
        MAX_DEPTH,
        DiscoverError,
        discover,
        write_site_file,
    )
    from condashare.site.file import MAX_PROBE_TIMEOUT
    from condashare.site.locate import host_inputs

    out = Output(args.color)
    depth = DEFAULT_DEPTH if args.depth is None else args.depth
    if not 0 <= depth <= MAX_DEPTH:
        raise ConfigError(f"--depth must be between 0 and {MAX_DEPTH}")
    if not 0 < args.timeout <= MAX_PROBE_TIMEOUT:
        raise ConfigError(f"--timeout must be > 0 and <= {MAX_PROBE_TIMEOUT:g}")
    env, mounts, _inputs = host_inputs()
    found = discover(args.dirs, env, mounts, args.timeout, depth, not args.no_conda_exe)
    target = dirs.user_site_file(env)
    silent = found.unanswered
    code: int
    if found.text is None:
        code = ExitCode.INCOMPLETE if silent else ExitCode.PROBLEMS
    else:
        code = ExitCode.INCOMPLETE if silent else ExitCode.OK
    written = ""
    message = ""
    if found.text is not None and not silent and not args.dry_run:
        backups = dirs.backup_dir(env)
        reader = Reader(mounts, args.timeout, env.get("HOME"))
        try:
            write_site_file(found.text, target, reader, backups, args.force)
            written = target
        except DiscoverError as exc:
            message, code = str(exc), exc.exit_code
    if args.json:
        data = {"discovery": found, "site_file": target, "written": bool(written),
                "error": message}  # fmt: skip
        out.json("site discover", data, code)
        return code
    render_discovery(found, out)
    out.line()
    if args.dry_run and found.text is not None:
        out.line(f"dry run: this would be written to {target}:")
        out.line()
        out.block(found.text, prefix="    ")
    elif silent:
        out.status(
            "error",
            "no site file written: a share did not answer, so installations may be missing; "
            "run again when the share answers, or leave that directory out "
            "(--no-conda-exe for CONDA_EXE's installation)",
        )
    elif found.text is None:
        out.status("error", "no site file written: no installation could be identified")
    elif message:
        out.warn(f"condashare: error: {message}")
    else:
        count = len(found.usable)
        out.status("ok", f"wrote {written} ({plural(count, 'installation')})")
        out.line("    next: condashare init   (sets up your shells to use them)")
    return code
