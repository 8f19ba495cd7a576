"""What every check may ask about: host, site, chosen installation, mounts, env, home, options.

Built once per run (in a child process, because finding the site file may touch a share) and
handed to every check. Costly facts (the installation's own files, the conda configuration)
are computed lazily by the checks that need them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from condashare.bounded.paths import PathOp, ProbeResult, run_probe
from condashare.files.read import Reader
from condashare.host.detect import Host
from condashare.host.mounts import Mount, may_be_remote, mount_for
from condashare.site.file import (
    DEFAULT_PROBE_TIMEOUT,
    Installation,
    Site,
    SiteCandidate,
)
from condashare.site.installations import Choice, InstallationEvidence, choose_installation
from condashare.site.locate import LocateRequest, locate

if TYPE_CHECKING:
    from condashare.conda.config import CondaConfig

# A path on local disks only cannot stall on a server: a probe that is slow there means a busy
# machine (a doctor run starts dozens of probes at once), and calling it "does not answer"
# after the share timeout would be a lie. It still ends: each check has its own time limit.
LOCAL_PROBE_TIMEOUT = 10.0


@dataclass
class Context:
    """Facts shared by all checks of one run; checks read it and never change what others see.

    ``timeout`` is the per-probe timeout (seconds) for touching a share; ``deep`` asks checks
    for slower, more thorough work; ``target`` is an environment prefix to examine, if any;
    ``conda_root`` is the root prefix of the conda running us (the conda plugin knows it; PATH
    and CONDA_EXE may not tell). ``extra`` is where checks of one run share what they computed.
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
    conda_root: str | None = None
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
        from condashare.conda.config import load_conda_config

        return load_conda_config(
            self.env,
            self.mounts,
            self.timeout,
            conda_root=self.conda_root,
            installation=self.installation,
            installations=self.site.installations if self.site else (),
        )

    @cached_property
    def reader(self) -> Reader:
        """The one reader of user files, with this run's mount table and timeout."""
        return Reader(self.mounts, self.timeout, self.home)

    def mount_of(self, path: str) -> Mount | None:
        return mount_for(path, self.mounts)

    def is_remote(self, path: str) -> bool:
        """Could touching ``path`` reach a share (mount type, or a symlink leading onto one)?"""
        return may_be_remote(path, self.mounts)

    def bound_for(self, paths: Iterable[str]) -> float:
        """The time limit for probing ``paths`` together: the share timeout if any of them may
        reach a share, a generous one (:data:`LOCAL_PROBE_TIMEOUT`) if none can."""
        if any(self.is_remote(p) for p in paths):
            return self.timeout
        return max(self.timeout, LOCAL_PROBE_TIMEOUT)

    def probe(self, path: str, op: PathOp = "stat", arg: str = "0") -> ProbeResult:
        """One bounded probe of ``path`` (time limit: :meth:`bound_for`)."""
        return run_probe(op, path, self.bound_for([path]), arg)

    def expand(self, path: str) -> str:
        """``$VARS`` and ``~`` expanded against this run's environment, as the shell would."""
        from condashare.conda.condarc import posix_expanduser, posix_expandvars

        home_env = {**self.env, "HOME": self.home}
        return posix_expandvars(posix_expanduser(path, home_env), self.env)


def build_context(
    request: LocateRequest | None = None,
    *,
    deep: bool = False,
    target: str | None = None,
    probe_timeout: float | None = None,
    conda_root: str | None = None,
) -> Context:
    """Locate host and site (leniently: see :func:`~condashare.site.locate.locate`) and add
    the run's options; raises SiteError only for a site file the user named."""
    where = locate(request, lenient=True)
    timeout = probe_timeout or where.probe_timeout
    return Context(
        host=where.host,
        env=where.env,
        mounts=tuple(where.mounts),
        site=where.site,
        site_candidates=tuple(where.candidates),
        site_error=where.site_error,
        platform_error=where.platform_error,
        timeout=timeout,
        deep=deep,
        target=target,
        conda_root=conda_root,
    )
