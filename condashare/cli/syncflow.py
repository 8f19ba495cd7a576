"""The flow ``condashare modules`` and ``condashare kernels`` share: start, apply, summarise.

Both sync a set of files with today's shared releases: a sync needs the site file, a
``--reverse`` needs none (it removes what condashare wrote, by its marker); both apply under a
lock another run may hold; both end with the same lines about what was done. The parts that
differ (what is planned, how it is drawn) stay in each command.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from condashare.wording import plural

if TYPE_CHECKING:
    from condashare.render import Output
    from condashare.shared_envs.setup import Setup

T = TypeVar("T")

# How each planned action is marked in the plan listing.
SEVERITY = {
    "create": "info",
    "update": "info",
    "remove": "info",
    "unchanged": "ok",
    "conflict": "warning",
    "kept": "warning",
}


@dataclass(frozen=True)
class Start:
    """What a run starts from: the setup (None for ``--reverse``), where state lives, and the
    probe timeout (the site's, or the default when no site file is read)."""

    setup: Setup | None
    state_dir: str
    timeout: float


def start(args: argparse.Namespace) -> Start:
    """The setup for a sync (ConfigError without a site file); for ``--reverse`` none."""
    if args.reverse:
        from condashare.host import dirs
        from condashare.site.file import DEFAULT_PROBE_TIMEOUT

        return Start(None, dirs.state_dir(), DEFAULT_PROBE_TIMEOUT)
    from condashare.cli import ConfigError
    from condashare.shared_envs.setup import resolve_setup

    setup = resolve_setup(site_path=args.site, prefix=args.prefix)
    if setup.site is None:
        raise ConfigError(
            "no site file found; pass --site FILE or --prefix PATH, or ask your admins "
            "where the site file is"
        )
    return Start(setup, setup.state_dir, setup.ctx.probe_timeout)


def attempt(apply: Callable[[], T], out: Output) -> T | None:
    """``apply()``, or None (said on stderr) when its lock is held by another run."""
    from condashare.files.write import EditError

    try:
        return apply()
    except EditError as exc:
        out.warn(f"condashare: error: {exc}")
        return None


def change_line(out: Output, action: str, label: str, reason: str) -> None:
    """One planned change in the plan listing (a removal's reason is the heading's business)."""
    line = f"{action:9} {label}"
    if reason and action != "remove":
        line += f": {reason}"
    out.status(SEVERITY[action], line, indent=2)


@dataclass(frozen=True)
class Done:
    """One applied change, as the summary tells it."""

    action: str
    name: str
    done: bool
    error: str = ""
    note: str = ""


def summary(out: Output, results: Sequence[Done], noun: str, hint: str = "") -> None:
    """Failures, notes, then how many ``noun``s were written and removed (and ``hint``)."""
    out.line()
    for result in results:
        if not result.done:
            out.status("error", f"{result.action} {result.name}: {result.error}")
        elif result.note:
            out.status("info", f"{result.action} {result.name}: {result.note}")
    done = [r for r in results if r.done]
    if not results:
        out.status("ok", "nothing to change")
    elif done:
        removed = sum(1 for r in done if r.action == "remove")
        out.status("ok", f"{plural(len(done) - removed, noun)} written, {removed} removed")
        if hint:
            out.line(f"    {hint}")
