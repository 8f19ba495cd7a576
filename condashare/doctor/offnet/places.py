"""Where "local" is on this machine, and which writable state lies on a network filesystem."""

from __future__ import annotations

import os
import posixpath
import pwd
import re
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from condashare.doctor.context import Context


BEGIN = "# >>> condashare offnet >>>"
END = "# <<< condashare offnet <<<"
RECORD_VERSION = 1
LOCAL_CANDIDATES = ("/var/tmp", "/tmp")
TOP = "#!top"

Kind = Literal["conda-pkgs", "conda-envs", "conda-locks", "ipython", "jupyter"]


# --------------------------------------------------------------------------- where is local


@dataclass(frozen=True)
class LocalChoice:
    """The local directory chosen for this machine, and why (or why there is none)."""

    base: str | None  # /var/tmp
    root: str | None  # /var/tmp/condashare-USER
    host: str  # this machine's key under ``root``
    why: str
    refused: tuple[str, ...] = ()  # candidates passed over, with the reason

    @property
    def usable(self) -> bool:
        return self.root is not None

    @property
    def conda_pkgs(self) -> str:
        return posixpath.join(self.root or "", "conda", "pkgs")

    @property
    def conda_envs(self) -> str:
        return posixpath.join(self.root or "", "conda", "envs")

    @property
    def host_dir(self) -> str:
        return posixpath.join(self.root or "", self.host)


def host_key(name: str) -> str:
    """The short host name as a safe directory name (the same code runs inside the configs)."""
    short = name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9_-]", "_", short) or "host"


def user_name() -> str:
    try:
        name = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        name = str(os.getuid())
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or str(os.getuid())


def foreign_dir(path: str) -> str:
    """Why ``path`` (on local disk) must not be used, or "" when it is absent or safely ours.

    ``/var/tmp`` is writable by everyone: a directory another user created there in advance
    under our name would let them read our history or plant packages in our conda cache.
    """
    import stat

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return exc.strerror or str(exc)
    if not stat.S_ISDIR(st.st_mode):
        return "exists and is not a directory"
    if st.st_uid != os.getuid():
        return f"owned by another user (uid {st.st_uid}), who could change what is in it"
    if st.st_mode & 0o022:
        return "writable by other users"
    return ""


def choose_local_root(ctx: Context) -> LocalChoice:
    """The first candidate that the mount table shows local and that is a writable directory.

    One function decides it (a later module on per-host vs shared state can take it over).
    Candidates: ``$CONDASHARE_LOCAL_DIR`` (a site's persistent local scratch), ``/var/tmp``,
    ``/tmp``. A candidate on a network filesystem (a diskless node) is refused: it would move
    the problem, not fix it. Only local paths are stat'ed, so this never touches a share.
    """
    host = host_key(socket.gethostname())
    chosen = ctx.env.get("CONDASHARE_LOCAL_DIR", "")
    candidates = ([chosen] if chosen else []) + list(LOCAL_CANDIDATES)
    refused: list[str] = []
    for cand in candidates:
        if not posixpath.isabs(cand):
            refused.append(f"{cand}: not an absolute path")
            continue
        if ctx.is_remote(cand):
            mount = ctx.mount_of(cand)
            fs = mount.fstype if mount else "unknown"
            refused.append(f"{cand}: on {fs}, not this machine's disk")
            continue
        if not os.path.isdir(cand) or not os.access(cand, os.W_OK | os.X_OK):
            refused.append(f"{cand}: not a writable directory")
            continue
        root = posixpath.join(cand, f"condashare-{user_name()}")
        problem = foreign_dir(root)
        if problem:
            refused.append(f"{root}: {problem}")
            continue
        source = "CONDASHARE_LOCAL_DIR" if cand == chosen else "default"
        why = f"{cand} ({source}): on this machine's own disk"
        return LocalChoice(cand, root, host, why, tuple(refused))
    return LocalChoice(None, None, host, "no local directory found", tuple(refused))


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
