"""Which writable state lies on a network filesystem (where "local" is, host.dirs decides)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from condashare.host.dirs import LocalChoice, local_state_root

if TYPE_CHECKING:
    from condashare.doctor.context import Context


BEGIN = "# >>> condashare offnet >>>"
END = "# <<< condashare offnet <<<"
RECORD_VERSION = 1
TOP = "#!top"

Kind = Literal["conda-pkgs", "conda-envs", "conda-locks", "ipython", "jupyter"]


def choose_local_root(ctx: Context) -> LocalChoice:
    """Where local is for this context: :func:`condashare.host.dirs.local_state_root` asked
    with the context's environment and mount table (never touches a share)."""
    return local_state_root(ctx.env, ctx.mounts)


# --------------------------------------------------------------------------- where state is


def ipython_dir(ctx: Context) -> str:
    return ctx.expand(ctx.env.get("IPYTHONDIR") or posixpath.join(ctx.home, ".ipython"))


def jupyter_config_dir(ctx: Context) -> str:
    return ctx.expand(ctx.env.get("JUPYTER_CONFIG_DIR") or posixpath.join(ctx.home, ".jupyter"))


def jupyter_data_dir(ctx: Context) -> str:
    from condashare.kernels.paths import jupyter_data_dir as data_dir

    return ctx.expand(data_dir(ctx.host.os, ctx.env, ctx.home)[0])


def jupyter_runtime_dir(ctx: Context) -> str:
    env = ctx.env.get("JUPYTER_RUNTIME_DIR")
    return ctx.expand(env) if env else posixpath.join(jupyter_data_dir(ctx), "runtime")


def ipython_profiles(ctx: Context) -> list[str]:
    """The profile dirs that exist (``profile_default`` when none does yet)."""
    from condashare.doctor.checks.sqlite_nfs import ipython_profile_names

    return ipython_profile_names(ctx, ipython_dir(ctx))


def user_condarc(ctx: Context) -> str:
    """The file ``conda config`` writes without flags (conda-facts §3)."""
    return posixpath.join(ctx.home, ".condarc")


def _shared_prefixes(ctx: Context) -> list[str]:
    return [i.prefix for i in ctx.site.installations] if ctx.site else []


@dataclass(frozen=True)
class Spot:
    """One kind of writable state on a network filesystem, and the file whose setting moves it."""

    kind: Kind
    label: str
    path: str  # where the state is now
    config: str  # the file the fix edits
    fixed: bool  # the setting is already there


def _has_block(ctx: Context, path: str) -> bool:
    from condashare.doctor.checks._util import read_small

    status, data = read_small(ctx, path)
    return status == "ok" and BEGIN.encode() in data


def find_spots(ctx: Context, local: LocalChoice) -> list[Spot]:
    """Writable state that lies on a possibly remote filesystem (string work and small reads)."""
    spots: list[Spot] = []
    cfg = ctx.conda_config
    shared = _shared_prefixes(ctx)
    rc = user_condarc(ctx)
    pkgs = cfg.user_pkgs_dir(shared)
    first_pkgs = cfg.pkgs_dirs[0] if cfg.pkgs_dirs else None
    if pkgs and ctx.is_remote(pkgs):
        spots.append(Spot("conda-pkgs", "conda package cache", pkgs, rc, False))
    elif local.usable and first_pkgs == local.conda_pkgs:
        spots.append(Spot("conda-pkgs", "conda package cache", first_pkgs, rc, True))
    envs = cfg.user_envs_dir(shared)
    if envs and ctx.is_remote(envs):
        spots.append(Spot("conda-envs", "directory for new environments", envs, rc, False))
    elif local.usable and envs == local.conda_envs:
        spots.append(Spot("conda-envs", "directory for new environments", envs, rc, True))
    ipdir = ipython_dir(ctx)
    if ctx.is_remote(ipdir):
        for profile in ipython_profiles(ctx):
            conf = posixpath.join(ipdir, profile, "ipython_config.py")
            db = posixpath.join(ipdir, profile, "history.sqlite")
            spots.append(Spot("ipython", f"IPython history ({profile})", db, conf, False))
    runtime, data = jupyter_runtime_dir(ctx), jupyter_data_dir(ctx)
    if ctx.is_remote(runtime) or ctx.is_remote(data):
        conf = posixpath.join(jupyter_config_dir(ctx), "jupyter_config.py")
        where = runtime if ctx.is_remote(runtime) else data
        spots.append(Spot("jupyter", "Jupyter runtime files and databases", where, conf, False))
    return [_mark_fixed(ctx, s) for s in spots]


def _mark_fixed(ctx: Context, spot: Spot) -> Spot:
    if spot.kind in ("ipython", "jupyter") and _has_block(ctx, spot.config):
        return Spot(spot.kind, spot.label, spot.path, spot.config, True)
    return spot
