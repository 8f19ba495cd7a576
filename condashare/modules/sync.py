"""Plan and carry out ``condashare modules``: sync a modulefile directory with today's releases.

Releases come from :func:`~condashare.shared_envs.releases.list_shared_envs` for every
installation of the site (bounded probes). Only when every installation was listed may a file
go: a dead share must never make modules disappear. Files without condashare's marker are never
changed. The directory is read through the one reader and written through the one writer
(:mod:`condashare.files`), both bounded on a share, since a home may itself be on one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from condashare.bounded.paths import OK
from condashare.files.read import Reader, ReadStatus
from condashare.files.write import (
    Edit,
    EditError,
    apply_edit,
    bounded_write,
    resolve_target,
    unified_diff,
)
from condashare.modules.render import Format, ModuleName, module_name, owns, render
from condashare.shared_envs.releases import list_shared_envs
from condashare.shared_envs.setup import Setup

Action = Literal["create", "update", "remove", "unchanged", "conflict", "kept"]
CHANGING = ("create", "update", "remove")
DEFAULT_SUBDIR = (".local", "share", "condashare", "modulefiles")


@dataclass(frozen=True)
class Listing:
    """One installation's releases as this host could list them."""

    installation: str
    status: str
    detail: str
    releases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModuleChange:
    action: Action
    module: str  # isis/4.3.0
    path: str
    old: bytes | None = None
    new: bytes | None = None
    reason: str = ""

    def diff(self) -> str:
        return unified_diff(self.old, self.new, self.path)


@dataclass
class ModulesPlan:
    action: Literal["sync", "reverse"]
    directory: str
    listings: list[Listing] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    changes: list[ModuleChange] = field(default_factory=list)
    status: str = OK
    detail: str = ""

    @property
    def changing(self) -> list[ModuleChange]:
        return [c for c in self.changes if c.action in CHANGING]


@dataclass(frozen=True)
class Outcome:
    module: str
    path: str
    action: str
    done: bool
    error: str = ""


def detect_format(env: Mapping[str, str]) -> tuple[Format, str]:
    """The module system this user has: Lmod reads Lua, Environment Modules reads Tcl."""
    if env.get("LMOD_CMD") or env.get("LMOD_VERSION"):
        return "lua", "Lmod is loaded (LMOD_CMD)"
    home = env.get("MODULESHOME", "")
    if home:
        if "lmod" in home.lower():
            return "lua", f"MODULESHOME={home} is Lmod"
        return "tcl", f"MODULESHOME={home} is Environment Modules"
    return "lua", "no module system loaded in this shell; Lmod's Lua is the default"


def default_dir(home: str) -> str:
    """One path for every OS of a shared home (platformdirs would differ on macOS)."""
    return os.path.join(home, *DEFAULT_SUBDIR)


def scan(directory: str, reader: Reader) -> tuple[dict[str, bytes | None] | None, str, str]:
    """Every file of ``directory`` at depth 1 and 2 (not hidden), through the one reader (bounded
    on a share); None for one that is not a regular file. Returns (files, status, why): status
    ok, unresponsive (hung) or error."""
    top = reader.list_dirs([directory])[directory]
    if top.status is ReadStatus.MISSING:
        return {}, OK, ""
    if not top.ok:
        status = "unresponsive" if top.status is ReadStatus.UNRESPONSIVE else "error"
        return None, status, f"{directory}: {top.reason}"
    kinds: dict[str, str] = {}
    subdirs = [n for n, kind in sorted(top.entries) if kind == "dir" and not n.startswith(".")]
    kinds.update((n, kind) for n, kind in top.entries if kind != "dir" and not n.startswith("."))
    below = reader.list_dirs(os.path.join(directory, d) for d in subdirs)
    for name in subdirs:
        listing = below[os.path.join(directory, name)]
        if listing.status is ReadStatus.UNRESPONSIVE:
            return None, "unresponsive", f"{directory}: {listing.reason}"
        if not listing.ok:
            kinds[name] = "unknown"
            continue
        kinds.update(
            (os.path.join(name, n), kind) for n, kind in listing.entries if not n.startswith(".")
        )
    regular = [os.path.join(directory, rel) for rel, kind in kinds.items() if kind == "file"]
    reads = reader.read_many(regular)
    found: dict[str, bytes | None] = {}
    for rel in sorted(kinds):
        result = reads.get(os.path.join(directory, rel))
        if result is not None and result.status is ReadStatus.UNRESPONSIVE:
            return None, "unresponsive", f"{directory}: {result.reason}"
        if result is not None and result.status is ReadStatus.MISSING:
            continue  # gone since the listing
        found[rel] = result.data if result is not None and result.ok else None
    return found, OK, ""


def list_releases(setup: Setup) -> list[Listing]:
    """Each installation's envs, in ``condashare envs`` order."""
    assert setup.site is not None
    out: list[Listing] = []
    for inst in setup.site.installations:
        report = list_shared_envs(dataclasses.replace(setup, installation=inst))
        names = tuple(e.name for e in report.envs)
        out.append(Listing(inst.name, report.status, report.detail, names))
    return out


def plan_sync(setup: Setup, directory: str, reader: Reader, fmt: Format = "lua") -> ModulesPlan:
    """What ``condashare modules`` would do; touches the share only through bounded probes."""
    site = setup.site
    if site is None:
        raise ValueError("no site file")
    plan = ModulesPlan("sync", directory, list_releases(setup))
    complete = all(x.status == OK for x in plan.listings)
    if not any(x.status == OK for x in plan.listings):
        plan.status, plan.detail = "skipped", "no installation's releases could be listed"
        return plan
    found, status, why = scan(directory, reader)
    if found is None:
        plan.status, plan.detail = status, why
        return plan
    wanted: dict[str, ModuleName] = {}
    for listing in plan.listings:
        for release in listing.releases:
            name = module_name(release)
            if isinstance(name, str):
                plan.refused.append((release, name))
            else:
                wanted.setdefault(name.relpath(fmt), name)
    timeout = setup.ctx.probe_timeout
    for rel, name in wanted.items():
        path = os.path.join(directory, rel)
        new = render(name, site.installations, timeout, site.path, fmt)
        old = found.get(rel)
        if rel not in found:
            plan.changes.append(ModuleChange("create", name.full, path, None, new))
        elif old is None or owns(old) is None:
            why = "a modulefile condashare did not write; left alone"
            plan.changes.append(ModuleChange("conflict", name.full, path, reason=why))
        elif old == new:
            plan.changes.append(ModuleChange("unchanged", name.full, path, old, new))
        else:
            plan.changes.append(ModuleChange("update", name.full, path, old, new))
    for rel, old in found.items():
        if rel in wanted or old is None or owns(old) is None:
            continue
        module = rel.removesuffix(".lua")
        path = os.path.join(directory, rel)
        if complete:
            why = "its release is gone"
            plan.changes.append(ModuleChange("remove", module, path, old, None, why))
        else:
            why = "release not confirmed: an installation could not be listed"
            plan.changes.append(ModuleChange("kept", module, path, reason=why))
    if not complete:
        plan.status = "partial"
        plan.detail = "not removing anything: some installations could not be listed"
    return plan


def plan_reverse(directory: str, reader: Reader) -> ModulesPlan:
    """Every modulefile with condashare's marker in ``directory``, to remove."""
    plan = ModulesPlan("reverse", directory)
    found, status, why = scan(directory, reader)
    if found is None:
        plan.status, plan.detail = status, why
        return plan
    for rel, old in found.items():
        if old is not None and owns(old) is not None:
            path = os.path.join(directory, rel)
            plan.changes.append(ModuleChange("remove", rel.removesuffix(".lua"), path, old, None))
    return plan


def _version_dir(directory: str, parent: str) -> None:
    """Where a release's file goes (``isis/`` below the directory): it must be a real
    directory of this user's, not a link planted in its place."""
    os.makedirs(directory, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(parent)
    st = os.lstat(parent)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise EditError(parent, "is not a directory of yours (a symlink?); left alone")


def _drop_if_empty(parent: str) -> None:
    """Remove a version directory the last removal emptied (anybody else's file keeps it)."""
    with contextlib.suppress(OSError):
        os.rmdir(parent)


def _apply_one(change: ModuleChange, directory: str, target_dir: str, reader: Reader) -> None:
    """One change through the one writer: re-checked against what the plan read, atomic,
    bounded on a share (EditError says why it was not done)."""
    parent = os.path.dirname(change.path)
    nested = parent != directory
    if nested and change.action != "remove":
        bounded_write(_version_dir, (directory, parent), [parent], reader, change.path)
    target = os.path.join(target_dir, os.path.relpath(change.path, directory))
    apply_edit(Edit(change.path, target, change.old, change.new, change.reason), None, reader)
    if nested and change.action == "remove":
        bounded_write(_drop_if_empty, (parent,), [parent], reader, parent)


def apply_plan(plan: ModulesPlan, reader: Reader, dry_run: bool = False) -> list[Outcome]:
    """Carry out the plan with :mod:`condashare.files.write` (the home may be a share)."""
    todo = plan.changing
    if dry_run or not todo:
        return []
    outcomes: list[Outcome] = []
    try:
        target_dir = resolve_target(plan.directory, reader)
    except EditError as exc:
        return [Outcome(c.module, c.path, c.action, False, exc.message) for c in todo]
    for change in todo:
        try:
            _apply_one(change, plan.directory, target_dir, reader)
        except EditError as exc:
            outcomes.append(Outcome(change.module, change.path, change.action, False, exc.message))
        else:
            outcomes.append(Outcome(change.module, change.path, change.action, True))
    return outcomes
