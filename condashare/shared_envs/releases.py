"""``condashare envs``: the releases (shared envs) of this host's installation, by version."""

import posixpath
import re
import time
from dataclasses import dataclass, replace
from typing import Literal

from condashare.bounded.liveness import INSTALLATION, probe_liveness, probe_words
from condashare.bounded.paths import OK, run_probe
from condashare.conda.condarc import compute_effective
from condashare.shared_envs.setup import Setup
from condashare.shared_envs.status import find_shadows
from condashare.site.file import (
    Installation,
)
from condashare.site.installations import identify_installation


@dataclass(frozen=True)
class SharedEnv:
    """One shared environment of this host's installation."""

    name: str
    path: str
    version: str | None
    family: str
    hidden_by: str | None = None  # an env of the same name conda finds first (activate by path)


_VERSION = re.compile(r"^(?P<family>.*?)[-_]?v?(?P<version>\d+(?:\.\d+)*)(?P<rest>.*)$")
# What a release name may hold to be read as family + version (the characters a modulefile
# name allows): anything else (ESC, ";", spaces) is someone's env, not a release, and must not
# turn up as a "version" such as ``0;TITLE\x07`` taken from ``evil\x1b]0;TITLE\x07``.
_RELEASE_CHARS = re.compile(r"[A-Za-z0-9._+-]+")


def parse_release(name: str) -> tuple[str, str | None]:
    """``isis4.3.0`` -> (``isis``, ``4.3.0``); ``base`` -> (``base``, None)."""
    if not _RELEASE_CHARS.fullmatch(name):
        return name, None
    match = _VERSION.match(name)
    if not match or not match.group("family"):
        return name, None
    return match.group("family"), match.group("version") + match.group("rest")


def _version_key(version: str | None) -> tuple[tuple[int, ...], str]:
    if version is None:
        return (), ""
    nums = re.match(r"\d+(?:\.\d+)*", version)
    parts = tuple(int(x) for x in nums.group().split(".")) if nums else ()
    return parts, version


# How listing the releases ended: the liveness verdict of the installation, the listing's own
# probe status, or no installation for this host at all.
EnvsStatus = Literal["ok", "missing", "unresponsive", "error", "unproven", "no-installation"]


@dataclass
class EnvsReport:
    """``condashare envs``: the installation, whether its envs dir answered, the envs."""

    installation: Installation | None
    envs_dir: str | None
    status: EnvsStatus
    detail: str
    envs: list[SharedEnv]
    # what the installation's own files say when they are for another platform: its envs
    # cannot run here (a site file pointing this OS at another OS's installation)
    wrong_platform: str = ""


def list_shared_envs(setup: Setup) -> EnvsReport:
    """Shared envs of this host's installation, via the probe (a dead share cannot hang us).

    A directory listing can be answered from a client's cache, so the installation's liveness
    (an open + read of one of its files) is judged first: a share that died is reported
    unresponsive or failing, never listed from the cache as if it were fine.
    """
    inst = setup.installation
    if inst is None:
        return EnvsReport(None, None, "no-installation", "no installation for this host", [])
    timeout = setup.ctx.probe_timeout
    start = time.monotonic()
    alive = probe_liveness(inst.prefix, INSTALLATION, timeout)
    if alive.status in ("unresponsive", "error"):
        return EnvsReport(inst, inst.envs_dir, alive.status, alive.describe(), [])
    left = max(0.1, timeout - (time.monotonic() - start))
    res = run_probe("envs", inst.envs_dir, left, str(10000))
    if res.status != OK:
        return EnvsReport(inst, inst.envs_dir, res.status, probe_words(res, timeout), [])
    envs = []
    for name in res.data.get("envs", []):
        family, version = parse_release(str(name))
        envs.append(SharedEnv(str(name), posixpath.join(inst.envs_dir, str(name)), version, family))
    envs.sort(key=lambda e: (e.version is None, e.family, _version_key(e.version), e.name))
    return EnvsReport(inst, inst.envs_dir, OK, alive.describe(), envs)


def mark_wrong_platform(setup: Setup, report: EnvsReport) -> EnvsReport:
    """The report with what the installation's files say when they are for another platform
    than this host's (``condashare info`` says the same): listed, its envs look usable."""
    if report.status != OK or report.installation is None:
        return report
    evidence = identify_installation(report.installation.prefix, setup.ctx.probe_timeout)
    if evidence.matches(setup.host.platform) is not False:
        return report
    return replace(report, wrong_platform=evidence.describe())


def mark_hidden(setup: Setup, report: EnvsReport) -> EnvsReport:
    """The report with each env whose name conda resolves to another env first (the user's own
    ``~/.conda/envs/isis4.3.0`` listed before the shared one) marked: ``conda activate NAME``
    would not give the shared one, its path does."""
    if report.status != OK or not report.envs or report.envs_dir is None:
        return report
    view = compute_effective(setup.ctx)
    shadows, _ = find_shadows(setup.ctx, view.envs_dirs)
    winners = {
        sh.name: posixpath.join(sh.winner, sh.name)
        for sh in shadows
        if sh.winner != report.envs_dir and report.envs_dir in sh.hidden
    }
    envs = [replace(e, hidden_by=winners.get(e.name)) for e in report.envs]
    return replace(report, envs=envs)
