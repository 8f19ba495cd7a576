"""Which shared releases can be Jupyter kernels: envs of each installation that have ipykernel.

The envs and their version order come from
:func:`~condashare.shared_envs.releases.list_shared_envs` (a probe with a timeout). Whether an
env has ipykernel is read in one abandonable child per installation: conda's own record
(``conda-meta/ipykernel-*.json``) or, for a pip install, the module ipykernel installs
(``lib/python*/site-packages/ipykernel_launcher.py``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from condashare.bounded import calls
from condashare.bounded.paths import ERROR, OK, UNRESPONSIVE
from condashare.kernels.spec import release_problem
from condashare.shared_envs.releases import list_shared_envs
from condashare.shared_envs.setup import Setup
from condashare.site.file import Installation
from condashare.wording import seconds_text


@dataclass(frozen=True)
class InstallationKernels:
    """The releases of one installation that can run a kernel, as far as this host can see."""

    installation: Installation
    status: str  # ok | missing | unresponsive | error (as the envs dir's probe answered)
    detail: str
    releases: tuple[str, ...] = ()  # envs with ipykernel, in `condashare envs` order
    without_ipykernel: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()  # (env name, why it cannot be a kernel)

    @property
    def listed(self) -> bool:
        return self.status == OK


def has_ipykernel(env_prefix: str) -> bool:
    """Does the env at ``env_prefix`` have ipykernel (conda record or installed module)?"""
    try:
        meta = os.listdir(os.path.join(env_prefix, "conda-meta"))
    except OSError:
        meta = []
    if any(n.startswith("ipykernel-") and n.endswith(".json") for n in meta):
        return True
    try:
        libs = os.listdir(os.path.join(env_prefix, "lib"))
    except OSError:
        return False
    module = ("site-packages", "ipykernel_launcher.py")
    return any(
        n.startswith("python") and os.path.isfile(os.path.join(env_prefix, "lib", n, *module))
        for n in libs
    )


def _scan_envs(prefixes: list[str]) -> list[bool]:
    return [has_ipykernel(p) for p in prefixes]


def installation_kernels(setup: Setup, inst: Installation) -> InstallationKernels:
    """List ``inst``'s envs and which have ipykernel; a dead share costs at most two timeouts."""
    report = list_shared_envs(dataclasses.replace(setup, installation=inst))
    if report.status != OK:
        return InstallationKernels(inst, report.status, report.detail)
    envs = report.envs
    answer = calls.call(
        _scan_envs, [e.path for e in envs], timeout=max(setup.ctx.probe_timeout, 0.5)
    )
    if answer.state == calls.TIMEOUT:
        detail = f"reading the envs did not finish in {seconds_text(setup.ctx.probe_timeout)}"
        return InstallationKernels(inst, UNRESPONSIVE, detail)
    if answer.state != calls.DONE:
        return InstallationKernels(inst, ERROR, answer.error)
    flags: list[bool] = list(answer.value)
    releases: list[str] = []
    without: list[str] = []
    refused: list[tuple[str, str]] = []
    for env, capable in zip(envs, flags, strict=True):
        if not capable:
            without.append(env.name)
            continue
        problem = release_problem(env.name)
        if problem:
            refused.append((env.name, problem))
        else:
            releases.append(env.name)
    return InstallationKernels(
        inst, OK, report.detail, tuple(releases), tuple(without), tuple(refused)
    )


def site_kernels(setup: Setup) -> list[InstallationKernels]:
    """:func:`installation_kernels` for every installation of the site, in site-file order."""
    if setup.site is None:
        return []
    return [installation_kernels(setup, inst) for inst in setup.site.installations]
