"""The first step of every command: which host, which mounts, which site file.

Commands differ in what they do next, but all start by detecting the host from one environment
and one reading of the mount table, then finding the site file (or honouring ``--prefix``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from condashare.errors import ExitCode
from condashare.host.detect import Host, HostInputs, PlatformError, detect_host, gather_inputs
from condashare.host.mounts import Mount, read_mount_table
from condashare.site.file import (
    DEFAULT_PROBE_TIMEOUT,
    Site,
    SiteCandidate,
    SiteError,
    discover_site,
    site_from_prefix,
)


@dataclass(frozen=True)
class LocateRequest:
    """What a command was told about where it runs: ``--site``/``--prefix``, and the inputs
    tests (or a caller that already has them) pass in instead of reading this machine's.

    ``None`` means "read it here": the process environment, the mount table, uname and the
    user's record, the usual config dirs.
    """

    site_path: str | None = None
    prefix: str | None = None
    env: Mapping[str, str] | None = None
    inputs: HostInputs | None = None
    mounts: Sequence[Mount] | None = None
    user_config_dir: str | None = None
    site_config_dirs: Sequence[str] | None = None


@dataclass(frozen=True)
class Located:
    """Host, mount table, environment and site file, read once and shared by a command.

    ``platform_error`` and ``site_error`` are only set by a lenient :func:`locate` (the
    doctor's): a broken ``CONDASHARE_PLATFORM`` or a broken site file it found are then
    findings to report rather than reasons to stop.
    """

    env: dict[str, str]
    mounts: list[Mount]
    host: Host
    site: Site | None
    candidates: list[SiteCandidate]  # where the site file was looked for (empty with --prefix)
    platform_error: str = ""
    site_error: str = ""

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


def locate(request: LocateRequest | None = None, *, lenient: bool = False) -> Located:
    """The one entrance every command uses: detect the host and load the site file.

    Raises SiteError/PlatformError on bad configuration. ``lenient`` (the doctor, whose job
    is to diagnose them) records a broken ``CONDASHARE_PLATFORM`` and a site file that was
    found but cannot be used (or whose share does not answer) instead; a site file the user
    named (``--site``, ``CONDASHARE_SITE``) that is missing or invalid still raises.
    """
    req = request or LocateRequest()
    env_dict, table, inputs = host_inputs(req.env, req.inputs, req.mounts)
    platform_error = ""
    try:
        host = detect_host(inputs)
    except PlatformError as exc:
        if not lenient:
            raise
        platform_error = str(exc)
        plain_env = {k: v for k, v in inputs.env.items() if k != "CONDASHARE_PLATFORM"}
        host = detect_host(dataclasses.replace(inputs, env=plain_env))
    if req.prefix:
        site = site_from_prefix(req.prefix, host.os)
        return Located(env_dict, table, host, site, [], platform_error)
    try:
        found, candidates = discover_site(
            req.site_path, env_dict, req.user_config_dir, req.site_config_dirs, table
        )
    except SiteError as exc:
        explicit = req.site_path or exc.path == env_dict.get("CONDASHARE_SITE")
        if not lenient or (explicit and exc.exit_code == ExitCode.USAGE):
            raise
        return Located(env_dict, table, host, None, [], platform_error, str(exc))
    return Located(env_dict, table, host, found, candidates, platform_error)
