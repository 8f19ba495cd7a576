"""The first step of every command: which host, which mounts, which site file.

Commands differ in what they do next, but all start by detecting the host from one environment
and one reading of the mount table, then finding the site file (or honouring ``--prefix``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from condashare.host.detect import Host, HostInputs, detect_host, gather_inputs
from condashare.host.mounts import Mount, read_mount_table
from condashare.site.file import (
    DEFAULT_PROBE_TIMEOUT,
    Site,
    SiteCandidate,
    discover_site,
    site_from_prefix,
)


@dataclass(frozen=True)
class Located:
    """Host, mount table, environment and site file, read once and shared by a command."""

    env: dict[str, str]
    mounts: list[Mount]
    host: Host
    site: Site | None
    candidates: list[SiteCandidate]  # where the site file was looked for (empty with --prefix)

    @property
    def probe_timeout(self) -> float:
        return self.site.probe_timeout if self.site else DEFAULT_PROBE_TIMEOUT


def host_inputs(
    env: Mapping[str, str] | None = None,
    inputs: HostInputs | None = None,
    mounts: Sequence[Mount] | None = None,
) -> tuple[dict[str, str], list[Mount], HostInputs]:
    """One environment, one reading of the mount table, and host facts that use both."""
    env_dict = dict(os.environ if env is None else env)
    table = list(read_mount_table() if mounts is None else mounts)
    inputs = inputs or gather_inputs(env_dict)
    if inputs.mounts is None:
        inputs = dataclasses.replace(inputs, mounts=table)
    return env_dict, table, inputs


def locate(
    site_path: str | None = None,
    prefix: str | None = None,
    env: Mapping[str, str] | None = None,
    inputs: HostInputs | None = None,
    mounts: Sequence[Mount] | None = None,
    user_config_dir: str | None = None,
    site_config_dirs: Sequence[str] | None = None,
) -> Located:
    """Detect the host and load the site file; SiteError/PlatformError on bad configuration."""
    env_dict, table, inputs = host_inputs(env, inputs, mounts)
    host = detect_host(inputs)
    if prefix:
        return Located(env_dict, table, host, site_from_prefix(prefix, host.os), [])
    site, candidates = discover_site(site_path, env_dict, user_config_dir, site_config_dirs, table)
    return Located(env_dict, table, host, site, candidates)
