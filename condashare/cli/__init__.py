"""Command line: parse, call the library, hand the result to the renderer.

Each sub-command lives in its own module with ``register(subparsers)``; heavy imports happen
inside the command's ``run`` so that ``condashare --version`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any

from condashare import __version__
from condashare.errors import CondashareError, ConfigError, ExitCode

# Explicit list of sub-command modules (condashare.cli.<name>), in --help order.
COMMAND_MODULES = (
    "info",
    "site",
    "init",
    "shared",
    "isolate",
    "envs",
    "kernels",
    "modules",
    "doctor",
    "verify",
    "admin",
)

Runner = Callable[[argparse.Namespace], int]

# The options taking a value that may come before the command: the parser adds them, and
# named_command skips them (and their value) to find the command.
TOP_VALUE_OPTIONS: dict[str, dict[str, Any]] = {
    "--color": {
        "choices": ("auto", "always", "never"),
        "default": "auto",
        "help": "colour the output (default: auto; NO_COLOR disables it)",
    },
}


__all__ = ["ConfigError", "add_site_options", "build_parser", "main"]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with ``command`` (one of COMMAND_MODULES) only that command's:
    importing and building the other ten took ~10 ms of every run of a command."""
    parser = argparse.ArgumentParser(
        prog="condashare",
        description=(
            "Use shared conda installations on network drives: detect the host and mounts, "
            "set up shells, toggle shared envs, diagnose problems."
        ),
        epilog="Exit codes: 0 ok, 1 problems found, 2 usage or configuration error, "
        "3 could not finish.",
    )
    parser.add_argument("--version", action="version", version=f"condashare {__version__}")
    for flag, settings in TOP_VALUE_OPTIONS.items():
        parser.add_argument(flag, **settings)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (command,) if command else COMMAND_MODULES:
        import_module(f"condashare.cli.{name}").register(sub)
    return parser


def named_command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs when nothing before it needs the whole parser: only
    :data:`TOP_VALUE_OPTIONS` (or argparse's abbreviations of them) may come first (``-h``,
    ``--version`` or a mistyped command list every command, so those get the whole parser)."""
    args = iter(argv)
    for arg in args:
        flag = arg.partition("=")[0]
        top = flag.startswith("--") and len(flag) > 2  # "--co" abbreviates "--color"
        if top and any(option.startswith(flag) for option in TOP_VALUE_OPTIONS):
            if "=" not in arg:
                next(args, None)  # its value
            continue
        return arg if arg in COMMAND_MODULES else None
    return None


def add_site_options(parser: argparse.ArgumentParser) -> None:
    """``--site FILE | --prefix PATH``, shared by every command that needs an installation."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--site", metavar="FILE", help="site file to use (else CONDASHARE_SITE, ...)"
    )
    group.add_argument(
        "--prefix", metavar="PATH", help="use this conda installation, ignoring any site file"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(named_command(argv))
    args = parser.parse_args(argv)
    runner: Runner | None = getattr(args, "run", None)
    if runner is None:
        parser.print_help()
        return ExitCode.USAGE
    try:
        return runner(args)
    except CondashareError as exc:
        # a cause the user can fix (2), or a share that did not answer (3): never "internal"
        from condashare.render import shown

        sys.stderr.write(f"condashare: error: {shown(exc)}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("condashare: interrupted\n")
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
    except Exception as exc:
        from condashare.render import shown

        if os.environ.get("CONDASHARE_DEBUG"):
            raise
        sys.stderr.write(
            f"condashare: internal error: {type(exc).__name__}: {shown(exc)}\n"
            "  (set CONDASHARE_DEBUG=1 to see the traceback, and please report it)\n"
        )
        return ExitCode.INCOMPLETE
