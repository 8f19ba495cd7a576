"""Everything ``condashare info`` reports, gathered as data (the CLI renders it)."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from condashare.bounded.liveness import (
    INSTALLATION,
    Liveness,
    is_share_failure,
    probe_liveness_many,
)
from condashare.bounded.paths import OK, UNRESPONSIVE, run_probe
from condashare.files.read import Reader, ReadStatus
from condashare.host.detect import Host, HostInputs
from condashare.host.machine import MachineFacts
from condashare.host.mounts import Mount, may_be_remote, mount_for
from condashare.site.file import (
    Installation,
    Site,
    SiteCandidate,
    SiteError,
)
from condashare.site.installations import (
    Choice,
    InstallationEvidence,
    choose_installation,
    identify_installation,
)
from condashare.site.locate import locate


@dataclass(frozen=True)
class InstallationStatus:
    """One site installation as seen from this host: its mount and whether it answers.

    ``probe`` is the liveness verdict (an open + read of one of its files, timed); a stat is
    never taken as proof, because a client cache answers it for a share that died.
    """

    installation: Installation
    mount: Mount | None
    probe: Liveness | None  # None: not probed (another OS's installation)
    evidence: InstallationEvidence | None = None


@dataclass(frozen=True)
class CondaOnPath:
    """Which ``conda`` a shell here would run."""

    conda_exe: str | None  # $CONDA_EXE (set by conda.sh / activation)
    on_path: str | None  # first ``conda`` found on PATH
    unresponsive_dirs: tuple[str, ...] = ()  # PATH entries on a share that did not answer


@dataclass
class InfoReport:
    """What ``condashare info`` found; ``problems`` decides the exit code."""

    host: Host
    site: Site | None
    site_candidates: list[SiteCandidate]
    choice: Choice | None
    installations: list[InstallationStatus]
    conda: CondaOnPath
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: MachineFacts | None = None  # read only when the site file has match rules


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_on_path(
    name: str, path_env: str, mounts: Sequence[Mount], timeout: float
) -> tuple[str | None, tuple[str, ...]]:
    """Like ``shutil.which`` but PATH entries on network mounts are checked through the probe.

    On a share the candidate is opened and read (what running it does): a cached stat would
    find ``conda`` on a share that died. Entries whose share does not answer, or fails (ESTALE,
    EIO, ENOTCONN ...), are skipped and returned second.
    """
    skipped: list[str] = []
    for directory in path_env.split(os.pathsep):
        if not directory:
            continue
        candidate = os.path.join(directory, name)
        if may_be_remote(candidate, mounts):
            result = run_probe("head", candidate, timeout, "64")
            mode = int(result.data.get("stat", {}).get("mode", 0))
            if result.status == OK and stat.S_ISREG(mode) and mode & 0o111:
                return candidate, tuple(skipped)
            if result.status == UNRESPONSIVE or is_share_failure(result.errno):
                skipped.append(directory)
            continue
        if _executable(candidate):
            return candidate, tuple(skipped)
    return None, tuple(skipped)


def gather_info(
    site_path: str | None = None,
    prefix: str | None = None,
    env: Mapping[str, str] | None = None,
    inputs: HostInputs | None = None,
    mounts: Sequence[Mount] | None = None,
    user_config_dir: str | None = None,
    site_config_dirs: Sequence[str] | None = None,
) -> InfoReport:
    """Detect the host, find the site file, pick and probe installations.

    Raises SiteError or PlatformError for configuration errors (exit 2 in the CLI).
    """
    where = locate(site_path, prefix, env, inputs, mounts, user_config_dir, site_config_dirs)
    env, mounts, host, site = where.env, where.mounts, where.host, where.site
    candidates, timeout = where.candidates, where.probe_timeout
    problems: list[str] = []
    notes: list[str] = list(host.notes)
    facts = None
    if site is not None and any(not i.match.empty for i in site.installations):
        facts = host.facts()
    choice = choose_installation(site, host.platform, facts, env) if site else None
    statuses: list[InstallationStatus] = []
    if site is None:
        notes.append(
            "no site file found: run 'condashare site discover DIR' to find the installations "
            "under DIR (e.g. /nfs/cpkgs) and write one, ask your administrators for one, or pass "
            "--site FILE or --prefix PATH (places looked at are listed above)"
        )
    elif choice is not None and choice.installation is None:
        problems.append(choice.reason)
    installs = list(site.installations) if site else []
    # All of this OS's installations are probed at once: a dead share costs one timeout, not n.
    probed = probe_liveness_many(
        [(i.prefix, INSTALLATION) for i in installs if i.os == host.os], timeout
    )
    for inst in installs:
        mount = mount_for(inst.prefix, mounts)
        if inst.os != host.os:
            statuses.append(InstallationStatus(inst, mount, None))
            continue
        result = probed[inst.prefix]
        evidence = None
        chosen = choice is not None and choice.installation == inst
        if chosen and result.status == OK:
            evidence = identify_installation(inst.prefix, timeout)
            if evidence.matches(host.platform) is False:
                problems.append(
                    f"installation {inst.name!r} at {inst.prefix} is for "
                    f"{evidence.describe()}, not for this {host.platform} host"
                )
        if chosen and result.status != OK:
            problems.append(f"installation {inst.name!r} at {inst.prefix} is {result.describe()}")
        statuses.append(InstallationStatus(inst, mount, result, evidence))
    home_answer = Reader(mounts, timeout, host.home).check_dir(host.home)
    if home_answer.status is ReadStatus.UNRESPONSIVE:  # every shell and condarc read would hang
        problems.append(home_answer.reason)
    conda_exe = env.get("CONDA_EXE") or None
    on_path, slow = find_on_path("conda", env.get("PATH", ""), mounts, timeout)
    for directory in slow:
        notes.append(
            f"PATH entry {directory} is on a share that is unresponsive or failing; skipped"
        )
    return InfoReport(
        host=host,
        site=site,
        site_candidates=candidates,
        choice=choice,
        installations=statuses,
        conda=CondaOnPath(conda_exe, on_path, slow),
        problems=problems,
        notes=notes,
        facts=facts,
    )


def relevant_mounts(report: InfoReport) -> list[tuple[str, Mount]]:
    """The mounts that hold the home and each installation, labelled, without repeats."""
    out: list[tuple[str, Mount]] = []
    if report.host.home_mount:
        out.append(("home", report.host.home_mount))
    for status in report.installations:
        if status.mount is not None:
            out.append((f"installation {status.installation.name}", status.mount))
    return out


__all__ = ["InfoReport", "SiteError", "gather_info"]
