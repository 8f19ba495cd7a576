"""Everything ``condashare info`` reports, gathered as data (the CLI renders it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from condashare.bounded.liveness import (
    INSTALLATION,
    Liveness,
    probe_liveness_many,
)
from condashare.bounded.paths import OK
from condashare.conda.onpath import find_on_path
from condashare.files.read import Reader, ReadStatus
from condashare.findings import Finding, Severity
from condashare.host.detect import Host
from condashare.host.machine import MachineFacts
from condashare.host.mounts import Mount, mount_for
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
from condashare.site.locate import LocateRequest, locate


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
    problems: list[Finding] = field(default_factory=list)  # errors: each one makes exit 1
    notes: list[str] = field(default_factory=list)
    facts: MachineFacts | None = None  # read only when the site file has match rules


def _problem(code: str, title: str) -> Finding:
    return Finding(f"info.{code}", Severity.ERROR, title)


def gather_info(request: LocateRequest | None = None) -> InfoReport:
    """Detect the host, find the site file, pick and probe installations.

    Raises SiteError or PlatformError for configuration errors (exit 2 in the CLI).
    """
    where = locate(request)
    env, mounts, host, site = where.env, where.mounts, where.host, where.site
    candidates, timeout = where.candidates, where.probe_timeout
    problems: list[Finding] = []
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
        problems.append(_problem("no-installation", choice.reason))
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
                    _problem(
                        "wrong-platform",
                        f"installation {inst.name!r} at {inst.prefix} is for "
                        f"{evidence.describe()}, not for this {host.platform} host",
                    )
                )
        if chosen and result.status != OK:
            problems.append(
                _problem(
                    "installation-unreachable",
                    f"installation {inst.name!r} at {inst.prefix} is {result.describe()}",
                )
            )
        statuses.append(InstallationStatus(inst, mount, result, evidence))
    home_answer = Reader(mounts, timeout, host.home).check_dir(host.home)
    if home_answer.status is ReadStatus.UNRESPONSIVE:  # every shell and condarc read would hang
        problems.append(_problem("home-unresponsive", home_answer.reason))
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


__all__ = ["InfoReport", "SiteError", "find_on_path", "gather_info"]
