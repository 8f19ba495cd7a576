"""What every check may ask about: host, site, chosen installation, mounts, env, home, options.

Built once per run (in a child process, because finding the site file may touch a share) and
handed to every check. Costly facts (the installation's own files, the conda configuration)
are computed lazily by the checks that need them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from condashare import exitcodes
from condashare.bounded.paths import PathOp, ProbeResult, run_probe
from condashare.files.read import Reader
from condashare.host.detect import Host, HostInputs, PlatformError, detect_host
from condashare.host.mounts import Mount, may_be_remote, mount_for
from condashare.site.file import (
    DEFAULT_PROBE_TIMEOUT,
    Installation,
    Site,
    SiteCandidate,
    SiteError,
    discover_site,
    site_from_prefix,
)
from condashare.site.installations import Choice, InstallationEvidence, choose_installation
from condashare.site.locate import host_inputs

if TYPE_CHECKING:
    from condashare.doctor.condarc_basic import CondaConfig


@dataclass
class Context:
    """Facts shared by all checks of one run; checks read it and never change what others see.

    ``timeout`` is the per-probe timeout (seconds) for touching a share; ``deep`` asks checks
    for slower, more thorough work; ``target`` is an environment prefix to examine, if any.
    """

    host: Host
    env: Mapping[str, str]
    mounts: tuple[Mount, ...]
    site: Site | None = None
    site_candidates: tuple[SiteCandidate, ...] = ()
    site_error: str = ""
    platform_error: str = ""
    timeout: float = DEFAULT_PROBE_TIMEOUT
    deep: bool = False
    target: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def home(self) -> str:
        return self.host.home

    @cached_property
    def choice(self) -> Choice | None:
        if self.site is None:
            return None
        return choose_installation(self.site, self.host.platform, self.host.facts, self.env)

    @property
    def installation(self) -> Installation | None:
        """The shared installation chosen for this host, if any."""
        return self.choice.installation if self.choice else None

    @property
    def other_installations(self) -> tuple[Installation, ...]:
        """Installations in the site file for another OS (they must never be used here)."""
        if self.site is None:
            return ()
        return tuple(i for i in self.site.installations if i.os != self.host.os)

    @cached_property
    def evidence(self) -> InstallationEvidence | None:
        """What the chosen installation's own files say about its platform (probed)."""
        from condashare.site.installations import identify_installation

        inst = self.installation
        return identify_installation(inst.prefix, self.timeout) if inst else None

    @cached_property
    def conda_config(self) -> CondaConfig:
        """The condarc files this run could read, parsed, and the values checks need."""
        from condashare.doctor.condarc_basic import load_conda_config

        return load_conda_config(self)

    @cached_property
    def reader(self) -> Reader:
        """The one reader of user files, with this run's mount table and timeout."""
        return Reader(self.mounts, self.timeout, self.home)

    def mount_of(self, path: str) -> Mount | None:
        return mount_for(path, self.mounts)

    def is_remote(self, path: str) -> bool:
        """Could touching ``path`` reach a share (mount type, or a symlink leading onto one)?"""
        return may_be_remote(path, self.mounts)

    def probe(self, path: str, op: PathOp = "stat", arg: str = "0") -> ProbeResult:
        return run_probe(op, path, self.timeout, arg)

    def expand(self, path: str) -> str:
        """``$VARS`` and ``~`` expanded against this run's environment, as the shell would."""
        from condashare.conda.condarc import posix_expanduser, posix_expandvars

        home_env = {**self.env, "HOME": self.home}
        return posix_expandvars(posix_expanduser(path, home_env), self.env)


def build_context(
    site_path: str | None = None,
    prefix: str | None = None,
    env: Mapping[str, str] | None = None,
    deep: bool = False,
    target: str | None = None,
    probe_timeout: float | None = None,
    inputs: HostInputs | None = None,
    mounts: Sequence[Mount] | None = None,
    user_config_dir: str | None = None,
    site_config_dirs: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Context:
    """Detect the host and find the site file; raises SiteError only for an explicit --site.

    A broken ``CONDASHARE_PLATFORM`` or a broken auto-discovered site file are findings, not
    reasons to stop: the context records them and the host checks report them. ``extra`` seeds
    :attr:`Context.extra` (the conda plugin puts the running conda's root there).
    """
    env, table, inputs = host_inputs(env, inputs, mounts)
    mount_list = tuple(table)
    platform_error = ""
    try:
        host = detect_host(inputs)
    except PlatformError as exc:
        platform_error = str(exc)
        plain_env = {k: v for k, v in inputs.env.items() if k != "CONDASHARE_PLATFORM"}
        host = detect_host(dataclasses.replace(inputs, env=plain_env))
    site: Site | None = None
    candidates: tuple[SiteCandidate, ...] = ()
    site_error = ""
    if prefix:
        site = site_from_prefix(prefix, host.os)
    else:
        try:
            found, cands = discover_site(
                site_path, env, user_config_dir, site_config_dirs, mount_list
            )
            site, candidates = found, tuple(cands)
        except SiteError as exc:
            explicit = site_path or exc.path == env.get("CONDASHARE_SITE")
            if explicit and exc.exit_code == exitcodes.USAGE:
                raise  # a site file the user named is missing or invalid: exit 2
            site_error = str(exc)  # found, or on a dead share: a finding for host.site
    timeout = probe_timeout or (site.probe_timeout if site else DEFAULT_PROBE_TIMEOUT)
    return Context(
        host=host,
        env=env,
        mounts=mount_list,
        site=site,
        site_candidates=candidates,
        site_error=site_error,
        platform_error=platform_error,
        timeout=timeout,
        deep=deep,
        target=target,
        extra=dict(extra or {}),
    )
