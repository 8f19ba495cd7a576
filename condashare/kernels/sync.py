"""Plan and carry out ``condashare kernels``: sync the kernelspecs with today's releases.

One kernelspec per release that has ipykernel, in the Jupyter data dir of each OS sharing the
home. A data dir read by one OS gets that OS's releases; the record in each kernelspec holds
every installation, so a directory read by several OSes works on each. Only an installation
whose envs were actually listed can make a kernelspec go away: a dead or unmounted share keeps
what is there (a sync must never delete kernels because a server was down). Kernelspecs without
condashare's marker are never changed, not even one that happens to carry our name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from condashare.bounded.paths import MISSING, OK, UNRESPONSIVE
from condashare.files.read import Reader
from condashare.files.write import exclusive_lock, unified_diff
from condashare.kernels import store
from condashare.kernels.paths import DataDir, reverse_data_dirs, sync_data_dirs
from condashare.kernels.releases import InstallationKernels, site_kernels
from condashare.kernels.spec import FILES, KernelRecord, display_name, kernel_name, render_files
from condashare.shared_envs.setup import Setup
from condashare.site.file import Installation

Action = Literal["create", "update", "remove", "unchanged", "conflict", "kept"]
CHANGING = ("create", "update", "remove")
DirStatus = Literal["ok", "partial", "skipped", "unresponsive", "error"]


@dataclass(frozen=True)
class KernelChange:
    """One kernelspec: what is there, what should be, and what sync does about it."""

    action: Action
    name: str
    path: str  # the kernelspec directory
    release: str
    display_name: str
    old: Mapping[str, bytes] = field(default_factory=dict)
    new: Mapping[str, bytes] = field(default_factory=dict)
    reason: str = ""

    def diff(self) -> str:
        """Unified diffs of kernel.json and the launcher (``/dev/null`` for an absent file)."""
        return "".join(
            unified_diff(self.old.get(f), self.new.get(f), os.path.join(self.path, f))
            for f in FILES
        )


@dataclass
class DirPlan:
    """One Jupyter data dir: whether it could be read and the changes planned for it."""

    data_dir: DataDir
    status: DirStatus
    detail: str = ""
    changes: list[KernelChange] = field(default_factory=list)

    @property
    def changing(self) -> list[KernelChange]:
        return [c for c in self.changes if c.action in CHANGING]


@dataclass
class KernelsPlan:
    """Everything ``kernels`` (or ``kernels --reverse``) found and means to do."""

    action: Literal["sync", "reverse"]
    platform: str
    dirs: list[DirPlan]
    installations: list[InstallationKernels] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changing(self) -> list[KernelChange]:
        return [c for d in self.dirs for c in d.changing]


@dataclass
class KernelsResult:
    """A plan and, unless it was a dry run, what became of each change."""

    plan: KernelsPlan
    outcomes: list[store.WriteOutcome]
    applied: bool

    @property
    def failed(self) -> list[store.WriteOutcome]:
        return [o for o in self.outcomes if not o.done]


def _scan_status(scan: store.Scan) -> DirStatus | None:
    if scan.status in (OK, MISSING):
        return None
    return "unresponsive" if scan.status == UNRESPONSIVE else "error"


def _wanted(releases: Iterable[InstallationKernels]) -> list[str]:
    out: dict[str, None] = {}
    for ik in releases:
        out.update(dict.fromkeys(ik.releases))
    return list(out)


def _plan_dir(
    data_dir: DataDir,
    scan: store.Scan,
    installs: Sequence[InstallationKernels],
    all_installations: tuple[Installation, ...],
    timeout: float,
    site_path: str,
    home: str,
) -> DirPlan:
    relevant = [ik for ik in installs if data_dir.os is None or ik.installation.os == data_dir.os]
    if not relevant:
        return DirPlan(data_dir, "skipped", f"the site file has no {data_dir.os} installation")
    listed = [ik for ik in relevant if ik.listed]
    if not listed:
        why = "; ".join(f"{ik.installation.name}: {ik.detail or ik.status}" for ik in relevant)
        return DirPlan(data_dir, "skipped", f"no release list from this machine ({why})")
    bad = _scan_status(scan)
    if bad is not None:
        return DirPlan(data_dir, bad, f"{scan.kernels_dir}: {scan.detail}")
    complete = len(listed) == len(relevant)
    plan = DirPlan(data_dir, "ok" if complete else "partial")
    if not complete:
        unlisted = ", ".join(ik.installation.name for ik in relevant if not ik.listed)
        plan.detail = f"not removing anything: the envs of {unlisted} could not be listed"
    wanted_names: set[str] = set()
    for release in _wanted(listed):
        name = kernel_name(release)
        wanted_names.add(name)
        path = os.path.join(scan.kernels_dir, name)
        record = KernelRecord(release, all_installations, timeout, site_path)
        new = render_files(record, path, home)
        found = scan.get(name)
        shown = display_name(release)
        if found is None:
            plan.changes.append(KernelChange("create", name, path, release, shown, {}, new))
        elif not found.ours:
            why = "a kernelspec of this name that condashare did not write; left alone"
            plan.changes.append(KernelChange("conflict", name, path, release, shown, reason=why))
        elif dict(found.files) == new:
            plan.changes.append(KernelChange("unchanged", name, path, release, shown, new, new))
        else:
            plan.changes.append(
                KernelChange("update", name, path, release, shown, dict(found.files), new)
            )
    for found in scan.specs:
        mine = found.record
        if mine is None or found.name in wanted_names:
            continue
        shown = display_name(mine.release)
        if complete:
            why = "its release is gone or has no ipykernel any more"
            plan.changes.append(
                KernelChange(
                    "remove", found.name, found.path, mine.release, shown, dict(found.files),
                    reason=why,
                )
            )  # fmt: skip
        else:
            why = "release not confirmed: its installation could not be listed"
            plan.changes.append(
                KernelChange("kept", found.name, found.path, mine.release, shown, reason=why)
            )
    return plan


def plan_sync(setup: Setup, data_dirs: Sequence[str] = ()) -> KernelsPlan:
    """What ``condashare kernels`` would do; reads the share only through bounded probes."""
    site = setup.site
    platform = str(setup.host.platform)
    if site is None:
        raise ValueError("no site file")
    installs = site_kernels(setup)
    other_oses = [i.os for i in site.installations] if setup.shared_home else []
    dirs = sync_data_dirs(setup.host.os, setup.ctx.env, setup.host.home, other_oses, data_dirs)
    notes: list[str] = []
    if setup.installation is None:
        notes.append(f"the site file has no installation for this {platform} machine")
    if setup.shared_home:
        notes.append(f"shared home ({setup.shared_home_reason}): kernels for every OS")
    timeout = setup.ctx.probe_timeout
    scans = store.scan_all([d.kernels_dir for d in dirs], setup.ctx.reader)
    plans = [
        _plan_dir(d, sc, installs, site.installations, timeout, site.path, setup.host.home)
        for d, sc in zip(dirs, scans, strict=True)
    ]
    return KernelsPlan("sync", platform, plans, installs, notes)


def plan_reverse(
    host_os: str,
    platform: str,
    env: Mapping[str, str],
    home: str,
    timeout: float,
    data_dirs: Sequence[str] = (),
) -> KernelsPlan:
    """Every kernelspec condashare wrote, in every data dir this home's OSes use, to remove."""
    plans: list[DirPlan] = []
    dirs = reverse_data_dirs(host_os, env, home, data_dirs)
    scans = store.scan_all([d.kernels_dir for d in dirs], Reader.for_this_host(timeout, home))
    for data_dir, scan in zip(dirs, scans, strict=True):
        bad = _scan_status(scan)
        if bad is not None:
            plans.append(DirPlan(data_dir, bad, f"{scan.kernels_dir}: {scan.detail}"))
            continue
        plan = DirPlan(data_dir, "ok")
        for found in scan.specs:
            record = found.record
            if record is not None:
                plan.changes.append(
                    KernelChange(
                        "remove", found.name, found.path, record.release,
                        display_name(record.release), dict(found.files),
                    )
                )  # fmt: skip
        plans.append(plan)
    return KernelsPlan("reverse", platform, plans)


def apply_plan(
    plan: KernelsPlan, state_dir: str, timeout: float, dry_run: bool = False
) -> KernelsResult:
    """Carry out the plan (one lock per home, one bounded write per data dir)."""
    if dry_run or not plan.changing:
        return KernelsResult(plan, [], False)
    backup_dir = os.path.join(state_dir, "backups")
    outcomes: list[store.WriteOutcome] = []
    reader = Reader.for_this_host(timeout)
    with exclusive_lock(os.path.join(state_dir, "kernels.lock"), reader=reader):
        for dir_plan in plan.dirs:
            requests = [
                store.WriteRequest(c.name, c.path, c.action, c.old, c.new, dir_plan.data_dir.path)
                for c in dir_plan.changing
            ]
            outcomes.extend(store.apply(requests, backup_dir, reader))
    return KernelsResult(plan, outcomes, True)
