"""The explicit list of every doctor check, in display order, and how to select among them.

To add a check: write a function ``run(ctx) -> list[Finding]`` in a module under
``condashare/doctor/checks/``, wrap it in a :class:`~condashare.doctor.model.Check` with a stable
dotted id (``<group>.<name>``), and add that object to :data:`CHECKS` below. A new group also
gets a title in :data:`GROUPS`. Code outside this package (a plugin, the tests) can add checks
at run time with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from condashare.doctor.checks import (
    conda_env,
    condarc,
    host,
    integrity,
    io_speed,
    kernels,
    locking,
    modules,
    mount,
    offnet,
    permissions,
    quota,
    releases,
    space,
    sqlite_nfs,
    startup,
    trust,
)
from condashare.doctor.model import Check

# Group id -> title, in display order.
GROUPS: dict[str, str] = {
    "host": "Host & site",
    "mount": "Share mount",
    "startup": "Shell startup files",
    "conda": "conda on PATH",
    "condarc": "conda configuration",
    "releases": "Shared releases",
    "locking": "File locking",
    "sqlite": "SQLite on network filesystems",
    "offnet": "Writable state on local disk",
    "jupyter": "Jupyter kernels",
    "modules": "Environment modules",
    "io": "Share I/O speed",
    "permissions": "Permissions & security",
    "space": "Disk space",
    "integrity": "Integrity of environments and package caches",
}

CHECKS: list[Check] = [
    host.PLATFORM,
    host.SITE,
    host.INSTALLATION,
    host.INSTALLATION_FILES,
    host.TARGET,
    mount.PRESENT,
    mount.AUTOFS,
    mount.RESPONSIVE,
    mount.HARD,
    mount.LOCKS,
    mount.CONDA_DIRS,
    startup.FILES,
    startup.CONDASHARE_BLOCK,
    startup.CONDA_INIT,
    startup.DUPLICATES,
    startup.BASH_PROFILE,
    startup.STDOUT,
    startup.START_TIME,
    conda_env.CONDA_EXE,
    conda_env.OVERRIDES,
    condarc.PARSE,
    condarc.OTHER_OS_ENVS,
    condarc.ENV_NAMES,
    condarc.PKGS_FIRST,
    condarc.FILESYSTEMS,
    condarc.LOCK_ADVICE,
    releases.NAME_CLASH,
    releases.FROZEN,
    locking.PKGS,
    locking.HOME,
    sqlite_nfs.KNOWN_DBS,
    sqlite_nfs.LIVE,
    offnet.STATE,
    kernels.KERNELSPECS,
    modules.FILES,
    io_speed.SPEED,
    permissions.INSTALL_TREE,
    permissions.CONDA_SH,
    trust.TRUST,
    permissions.UMASK,
    permissions.ENVIRONMENTS_TXT,
    space.USER_PKGS,
    space.USER_ENVS,
    space.FREE,
    quota.QUOTA,
    quota.INODES,
    quota.CLEAN,
    integrity.FILES,
]

_extra: list[Check] = []


def register(*checks: Check) -> None:
    """Add checks at run time (e.g. the integrity checks of a plugin); ids must be new."""
    known = {c.id for c in all_checks()}
    for check in checks:
        if check.id in known:
            raise ValueError(f"duplicate doctor check id {check.id!r}")
        known.add(check.id)
        _extra.append(check)


def unregister(*ids: str) -> None:
    """Remove run-time checks again (tests use this to clean up)."""
    _extra[:] = [c for c in _extra if c.id not in ids]


def all_checks() -> list[Check]:
    return [*CHECKS, *_extra]


def group_title(group: str) -> str:
    return GROUPS.get(group, group)


def group_order(group: str) -> int:
    keys = list(GROUPS)
    return keys.index(group) if group in keys else len(keys)


class UnknownCheck(KeyError):
    """A name on the command line that is neither a check id nor a group."""


def select(
    names: Sequence[str], deep: bool = False, checks: Iterable[Check] | None = None
) -> list[Check]:
    """Checks named by id or by group (``mount`` = every ``mount.*``); all when none named.

    Deep-only checks run with ``--deep`` or when named by their id.
    """
    pool = list(all_checks() if checks is None else checks)
    if not names:
        return [c for c in pool if deep or not c.deep]
    chosen: list[Check] = []
    for name in names:
        matched = [c for c in pool if c.id == name]
        if not matched:
            matched = [c for c in pool if c.group == name and (deep or not c.deep)]
        if not matched:
            raise UnknownCheck(name)
        chosen.extend(c for c in matched if c not in chosen)
    order = {c.id: i for i, c in enumerate(pool)}
    return sorted(chosen, key=lambda c: order[c.id])
