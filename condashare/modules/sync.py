"""Plan and carry out ``condashare modules``: sync a modulefile directory with today's releases.

Releases come from :func:`~condashare.shared_envs.releases.list_shared_envs` for every
installation of the site (bounded probes). Only when every installation was listed may a file
go: a dead share must never make modules disappear. Files without condashare's marker are never
changed. The directory is read and written in one abandonable child each, since a home may
itself be on a share.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from condashare.bounded import calls
from condashare.bounded.paths import OK
from condashare.files.write import atomic_write, unified_diff
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


def _scan(directory: str) -> dict[str, bytes | None]:
    """Every file at depth 1 and 2 (not hidden); None for one that is not a regular file."""
    found: dict[str, bytes | None] = {}
    try:
        top = os.listdir(directory)
    except FileNotFoundError:
        return found
    for entry in sorted(top):
        path = os.path.join(directory, entry)
        st = os.lstat(path)
        if entry.startswith("."):
            continue
        names = [entry] if not stat.S_ISDIR(st.st_mode) else []
        if stat.S_ISDIR(st.st_mode):
            names = [os.path.join(entry, n) for n in sorted(os.listdir(path))]
        for rel in names:
            full = os.path.join(directory, rel)
            if os.path.basename(rel).startswith("."):
                continue
            if not stat.S_ISREG(os.lstat(full).st_mode):
                found[rel] = None
                continue
            with open(full, "rb") as fh:
                found[rel] = fh.read(1 << 20)
    return found


def scan_bounded(
    directory: str, timeout: float, local: bool = False
) -> tuple[dict[str, bytes | None] | None, str, str]:
    """Every file of ``directory`` (depth 1 and 2), read in a child unless the mount table says
    ``local``. Returns (files, status, why): status ok, unresponsive (hung) or error."""
    if local:
        try:
            return _scan(directory), OK, ""
        except OSError as exc:
            return None, "error", f"{directory}: {exc.strerror or exc}"
    answer = calls.call(_scan, directory, timeout=max(timeout, 2.0))
    if answer.state == calls.DONE:
        return dict(answer.value), OK, ""
    if answer.state == calls.TIMEOUT:
        return None, "unresponsive", f"{directory} did not answer within {max(timeout, 2.0):g} s"
    return None, "error", f"{directory}: {answer.error}"


def list_releases(setup: Setup) -> list[Listing]:
    """Each installation's envs, in ``condashare envs`` order."""
    assert setup.site is not None
    out: list[Listing] = []
    for inst in setup.site.installations:
        report = list_shared_envs(dataclasses.replace(setup, installation=inst))
        names = tuple(e.name for e in report.envs)
        out.append(Listing(inst.name, report.status, report.detail, names))
    return out


def plan_sync(setup: Setup, directory: str, fmt: Format = "lua") -> ModulesPlan:
    """What ``condashare modules`` would do; touches the share only through bounded probes."""
    site = setup.site
    if site is None:
        raise ValueError("no site file")
    plan = ModulesPlan("sync", directory, list_releases(setup))
    complete = all(x.status == OK for x in plan.listings)
    if not any(x.status == OK for x in plan.listings):
        plan.status, plan.detail = "skipped", "no installation's releases could be listed"
        return plan
    found, status, why = scan_bounded(directory, setup.ctx.probe_timeout)
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


def plan_reverse(directory: str, timeout: float) -> ModulesPlan:
    """Every modulefile with condashare's marker in ``directory``, to remove."""
    plan = ModulesPlan("reverse", directory)
    found, status, why = scan_bounded(directory, timeout)
    if found is None:
        plan.status, plan.detail = status, why
        return plan
    for rel, old in found.items():
        if old is not None and owns(old) is not None:
            path = os.path.join(directory, rel)
            plan.changes.append(ModuleChange("remove", rel.removesuffix(".lua"), path, old, None))
    return plan


def _apply(
    directory: str, changes: list[tuple[str, str, bytes | None, bytes | None]]
) -> list[tuple[str, bool, str]]:
    """In the child: each change re-checked against what the plan saw, then done atomically."""
    results: list[tuple[str, bool, str]] = []
    for path, action, old, new in changes:
        try:
            parent = os.path.dirname(path)
            if parent != directory:
                os.makedirs(directory, exist_ok=True)
                with contextlib.suppress(FileExistsError):
                    os.mkdir(parent)
                st = os.lstat(parent)
                if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
                    raise OSError(f"{parent} is not a directory of yours (a symlink?); left alone")
            else:
                os.makedirs(directory, exist_ok=True)
            try:
                if not stat.S_ISREG(os.lstat(path).st_mode):
                    raise OSError(f"{path} is not a regular file (a symlink?); left alone")
                with open(path, "rb") as fh:
                    now: bytes | None = fh.read(1 << 20)
            except FileNotFoundError:
                now = None
            if now != old:
                raise OSError(f"{path} changed since it was read; run the command again")
            if action == "remove":
                os.unlink(path)
                if parent != directory:
                    with contextlib.suppress(OSError):
                        os.rmdir(parent)  # only when we emptied it
            else:
                assert new is not None
                atomic_write(path, new, 0o644)
            results.append((path, True, ""))
        except OSError as exc:
            results.append((path, False, str(exc)))
    return results


def apply_plan(plan: ModulesPlan, timeout: float, dry_run: bool = False) -> list[Outcome]:
    """Carry out the plan in one abandonable child (the home may be a share)."""
    todo = plan.changing
    if dry_run or not todo:
        return []
    budget = max(10.0, 4 * timeout)
    work = [(c.path, c.action, c.old, c.new) for c in todo]
    answer = calls.call(_apply, plan.directory, work, timeout=budget)
    if answer.state != calls.DONE:
        why = "did not finish in time" if answer.state == calls.TIMEOUT else answer.error
        return [Outcome(c.module, c.path, c.action, False, why) for c in todo]
    return [
        Outcome(c.module, c.path, c.action, ok, err)
        for c, (_, ok, err) in zip(todo, answer.value, strict=True)
    ]
