"""What ``shared``, ``isolate``, ``envs``, ``kernels`` and ``modules`` resolve once per command:
the host, its site and installation, the conda that runs, and which condarc files are the
user's to edit."""

import os
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from condashare.conda.condarc import (
    CondaContext,
    appendable,
    classify,
    conda_expand,
    find_conda_root,
)
from condashare.host import dirs
from condashare.host.detect import Host, HostInputs
from condashare.host.mounts import Mount, mount_for
from condashare.shared_envs.memory import STATE_FILE
from condashare.site.file import (
    Installation,
    Site,
)
from condashare.site.installations import choose_installation
from condashare.site.locate import LocateRequest, locate


@dataclass(frozen=True)
class Setup:
    """The host, its site and installation, and the conda context, resolved once per command."""

    host: Host
    site: Site | None
    installation: Installation | None
    ctx: CondaContext
    shared_home: bool
    shared_home_reason: str
    state_dir: str

    @property
    def root_is_installation(self) -> Installation | None:
        """The site installation the running conda belongs to (the shared conda), if any."""
        root = self.ctx.conda_root
        if not root:
            return None
        _, _, inst = classify(root, self.ctx)
        return inst


def resolve_setup(
    site_path: str | None = None,
    prefix: str | None = None,
    conda_root: str | None = None,
    env: Mapping[str, str] | None = None,
    inputs: HostInputs | None = None,
    mounts: Sequence[Mount] | None = None,
    cwd: str | None = None,
    system_dirs: Sequence[str] | None = None,
    state_dir: str | None = None,
) -> Setup:
    """Detect what ``shared``/``isolate``/``envs`` need; SiteError/PlatformError on bad config."""
    where = locate(LocateRequest(site_path, prefix, env, inputs, mounts))
    env, mounts, host, site, timeout = (
        where.env,
        where.mounts,
        where.host,
        where.site,
        where.probe_timeout,
    )
    installation = None
    if site is not None:
        installation = choose_installation(site, host.platform, host.facts, env).installation
    if conda_root:
        root: str | None = posixpath.normpath(conda_root)
        root_source = "--conda-root"
    else:
        from condashare.info import find_on_path

        def lookup(name: str) -> str | None:
            return find_on_path(name, env.get("PATH", ""), mounts, timeout)[0]

        root, root_source = find_conda_root(env, lookup)
    ctx_kwargs = {}
    if system_dirs is not None:
        ctx_kwargs["system_dirs"] = tuple(system_dirs)
    ctx = CondaContext(
        env=env,
        cwd=cwd or str(Path.cwd()),
        conda_root=root,
        conda_root_source=root_source,
        mounts=tuple(mounts),
        installations=site.installations if site else (),
        probe_timeout=timeout,
        **ctx_kwargs,  # type: ignore[arg-type]
    )
    oses = {i.os for i in site.installations} if site else set()
    home_mount = mount_for(ctx.home, mounts)
    shared_home = len(oses) > 1 and home_mount is not None and home_mount.is_network
    reason = ""
    if shared_home and home_mount is not None:
        reason = (
            f"home is on {home_mount.fstype} {home_mount.mountpoint} and the site has "
            f"installations for {', '.join(sorted(oses))}"
        )
    if env.get("CONDASHARE_SHARED_HOME") in ("0", "1"):
        shared_home = env["CONDASHARE_SHARED_HOME"] == "1"
        reason = "CONDASHARE_SHARED_HOME"
    if state_dir is None:
        state_dir = dirs.state_dir_holding(STATE_FILE, ctx.reader, env)
    return Setup(host, site, installation, ctx, shared_home, reason, state_dir)


def user_file(setup: Setup, path: str, slot: str) -> bool:
    """May condashare edit this file for the user? (never the site's or a system file)"""
    if slot == "user":
        return True
    if slot == "condarc":
        home = setup.ctx.home.rstrip("/") + "/"
        return setup.ctx.absolute(path).startswith(home)
    if slot == "root" and setup.ctx.conda_root and setup.root_is_installation is None:
        full = setup.ctx.absolute(path)
        if setup.ctx.is_remote(full):
            return bool(appendable(setup.ctx, full))  # through the probe: may be a dead share
        return os.access(full, os.W_OK)
    return False


def is_managed(setup: Setup, raw: str) -> bool:
    """Does a configured entry point into a site installation (any OS)?"""
    path = conda_expand(raw, setup.ctx.conda_env, setup.ctx.cwd)
    return classify(path, setup.ctx)[2] is not None
