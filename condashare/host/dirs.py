"""Where condashare keeps each kind of its own files, so that a home shared by Linux and macOS
is one home. Every caller asks here; nothing else picks a directory for condashare's files.

platformdirs answers per OS (``~/.config`` and ``~/.local/state`` on Linux, ``~/Library/Application
Support`` on macOS): a site file discovered on Linux would be invisible on the Mac, and ``shared
off`` on one OS forgotten on the other. So, per kind of state:

- **shared** (:data:`CONFIG`: the user site file; :data:`STATE`: what ``shared off`` removed,
  backups of edited files, lock files, the code ``init``'s short line sources): the XDG places
  on every OS, ``$XDG_CONFIG_HOME`` (else ``~/.config``) and ``$XDG_STATE_HOME`` (else
  ``~/.local/state``), ``/condashare``. Readers also look where earlier versions (platformdirs)
  wrote on either OS, so nothing written before is lost.
- **per host** (:data:`CACHE`: the verify hash cache, keyed by device and inode, which only mean
  something on the host that saw them): the OS's own cache dir (``$XDG_CACHE_HOME`` or
  ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS), in a sub-directory named after the host.
- **local** (:func:`local_state_root`: the writable state ``doctor offnet.state --fix`` moves
  off a network home, conda's package cache and envs dir, IPython and Jupyter files): on this
  machine's own disk, the first of ``$CONDASHARE_LOCAL_DIR``, ``/var/tmp``, ``/tmp`` that the
  mount table shows local and that is a writable directory, under ``condashare-USER/`` (and
  ``condashare-USER/HOST/`` for what must never be shared between machines).

The OS is the host's (``CONDASHARE_PLATFORM`` wins, as everywhere), passed in or read from the
environment, so both OSes' answers can be checked on one machine.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from condashare.files.read import Reader
    from condashare.host.mounts import Mount

APP = "condashare"
Kind = Literal["config", "state", "cache"]
CONFIG: Kind = "config"
STATE: Kind = "state"
CACHE: Kind = "cache"
SITE_FILE = "site.toml"
HOSTS = "hosts"  # the per-host cache dirs' parent, under the cache dir's condashare/
FACTS_FILE = "machine-facts"
_MAC_SUPPORT = ("Library", "Application Support")  # platformdirs' macOS config and state dir
_XDG = {CONFIG: ("XDG_CONFIG_HOME", ".config"), STATE: ("XDG_STATE_HOME", ".local/state")}
# The characters a host's per-host cache directory name keeps (shell/rules.sh tests the same set).
HOST_NAME_CHARS = "A-Za-z0-9._-"
_HOST_UNSAFE = re.compile(f"[^{HOST_NAME_CHARS}]+")


def current_os(env: Mapping[str, str] | None = None) -> str:
    """``linux`` or ``macos``: the OS of ``CONDASHARE_PLATFORM`` when set, else this machine's."""
    from condashare.host.detect import PlatformError, env_setting, normalize_os, parse_platform

    env = os.environ if env is None else env
    override = env_setting(env, "CONDASHARE_PLATFORM")
    if override:
        try:
            return parse_platform(override).os
        except PlatformError:
            pass  # reported by detect_host; directories still need an answer
    try:
        return normalize_os(os.uname().sysname)
    except PlatformError:
        return "linux"


def home_dir(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("HOME") or os.path.expanduser("~")


def _xdg(kind: Kind, env: Mapping[str, str], home: str) -> tuple[str, str]:
    """(the XDG base dir, honouring its variable; the default one) for a shared kind."""
    var, default = _XDG[kind]
    fallback = posixpath.join(home, default)
    value = env.get(var, "")
    return (value if value.startswith("/") else fallback), fallback


def write_dir(
    kind: Kind,
    env: Mapping[str, str] | None = None,
    os_name: str | None = None,
    host_name: str | None = None,
) -> str:
    """Where condashare writes files of ``kind`` (the same on every OS for shared kinds)."""
    env = os.environ if env is None else env
    home = home_dir(env)
    if kind == CACHE:
        os_name = os_name or current_os(env)
        if os_name == "macos":
            base = posixpath.join(home, "Library", "Caches")
        else:
            base = _xdg_cache(env, home)
        name = host_name if host_name is not None else os.uname().nodename
        return posixpath.join(base, APP, HOSTS, host_dir_name(name))
    return posixpath.join(_xdg(kind, env, home)[0], APP)


def host_dir_name(name: str) -> str:
    """A host's directory under ``hosts/``: its full name where that is a plain file name (the
    startup block then finds the same facts cache, and uses none for any other name), else each
    run of other characters as ``_`` and a leading dot as ``_`` (never "", "." or "..": a
    host name must not lead a path out of ``hosts/``). The full name, not the short one, keeps
    ``node1.a`` and ``node1.b`` of one home apart: their caches hold per-host device numbers."""
    safe = _HOST_UNSAFE.sub("_", name)
    return "_" + safe[1:] if safe.startswith(".") else safe or "unknown"


def _xdg_cache(env: Mapping[str, str], home: str) -> str:
    value = env.get("XDG_CACHE_HOME", "")
    return value if value.startswith("/") else posixpath.join(home, ".cache")


def host_facts_file(env: Mapping[str, str] | None = None, host_name: str | None = None) -> str:
    """Where the Linux startup block caches this host's costly match-rule facts (the CPU level
    for this boot, the glibc version for this C library: docs/site-file.md), so a warm shell
    start with rules forks no ``getconf``. The block builds the same path from ``$XDG_CACHE_HOME``
    or ``$HOME``, :data:`APP`, :data:`HOSTS` and :data:`FACTS_FILE` (and uses no cache for a host
    name that this sanitising would change)."""
    return posixpath.join(write_dir(CACHE, env, "linux", host_name), FACTS_FILE)


def read_dirs(kind: Kind, env: Mapping[str, str] | None = None) -> list[str]:
    """Where files of a shared ``kind`` may be, in the order to look: where condashare writes
    them, then where earlier versions wrote them on Linux and on macOS."""
    env = os.environ if env is None else env
    home = home_dir(env)
    chosen, default = _xdg(kind, env, home)
    places = [chosen, default, posixpath.join(home, *_MAC_SUPPORT)]
    return list(dict.fromkeys(posixpath.join(p, APP) for p in places))


def user_site_file(env: Mapping[str, str] | None = None) -> str:
    """The user site file ``site discover`` writes."""
    return posixpath.join(write_dir(CONFIG, env), SITE_FILE)


def user_site_files(env: Mapping[str, str] | None = None) -> list[str]:
    """Every place a user site file may be, first found wins."""
    return [posixpath.join(d, SITE_FILE) for d in read_dirs(CONFIG, env)]


def state_dir(env: Mapping[str, str] | None = None) -> str:
    """The shared state dir (``shared off`` memory, ``backups/``, lock files)."""
    return write_dir(STATE, env)


def backup_dir(env: Mapping[str, str] | None = None) -> str:
    """Where backups of edited user files go (shared: either OS may need to restore them)."""
    return posixpath.join(state_dir(env), "backups")


def startup_code_dir(env: Mapping[str, str] | None = None) -> str:
    """Where ``init``'s short form keeps the startup code its one line sources (shared: a home
    used by Linux and macOS must see one file, which branches on ``uname`` itself)."""
    return posixpath.join(state_dir(env), "startup")


def state_dir_holding(
    name: str, reader: Reader | None = None, env: Mapping[str, str] | None = None
) -> str:
    """The state dir to use for the state file ``name``: the first place that holds it (so the
    memory an earlier version kept on either OS is found and updated where it is), else the
    shared one. Looked up through ``reader`` (bounded when the home is on a share); a share
    that does not answer gives the shared dir, whose read then reports it."""
    from condashare.files.read import Reader, UserFileError

    dirs = read_dirs(STATE, env)
    reader = reader or Reader.for_this_host()
    paths = [posixpath.join(d, name) for d in dirs]
    try:
        there = reader.exists_many(paths)
    except UserFileError:
        return dirs[0]
    return next((d for d, p in zip(dirs, paths, strict=True) if there[p]), dirs[0])


# --------------------------------------------------------------------------- local state

LOCAL_BASES = ("/var/tmp", "/tmp")  # after $CONDASHARE_LOCAL_DIR, in this order
LOCAL_DIR_VAR = "CONDASHARE_LOCAL_DIR"


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
    """The short host name as a safe directory name (the same code runs inside the IPython and
    Jupyter configs that offnet writes, so it must stay this simple)."""
    short = name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9_-]", "_", short) or "host"


def user_name() -> str:
    """This user's name as a safe directory name (the uid when it has no name)."""
    import pwd

    try:
        name = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        name = str(os.getuid())
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or str(os.getuid())


def local_root_under(base: str) -> str:
    """This user's directory under a local base (``/var/tmp/condashare-USER``)."""
    return posixpath.join(base, f"{APP}-{user_name()}")


def foreign_dir(path: str) -> str:
    """Why ``path`` (on local disk) must not be used, or "" when it is absent or safely ours.

    ``/var/tmp`` is writable by everyone: a directory another user created there in advance
    under our name would let them read our history or plant packages in our conda cache.
    """
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


def local_state_root(
    env: Mapping[str, str], mounts: Sequence[Mount], host_name: str | None = None
) -> LocalChoice:
    """The first candidate that the mount table shows local and that is a writable directory.

    Candidates: ``$CONDASHARE_LOCAL_DIR`` (a site's persistent local scratch), then
    :data:`LOCAL_BASES`. A candidate on a network filesystem (a diskless node) is refused: it
    would move the problem, not fix it. Only local paths are stat'ed, so this never touches a
    share.
    """
    import socket

    from condashare.host.mounts import may_be_remote, mount_for

    host = host_key(host_name if host_name is not None else socket.gethostname())
    chosen = env.get(LOCAL_DIR_VAR, "")
    candidates = ([chosen] if chosen else []) + list(LOCAL_BASES)
    refused: list[str] = []
    for cand in candidates:
        if not posixpath.isabs(cand):
            refused.append(f"{cand}: not an absolute path")
            continue
        if may_be_remote(cand, mounts):
            mount = mount_for(cand, mounts)
            fs = mount.fstype if mount else "unknown"
            refused.append(f"{cand}: on {fs}, not this machine's disk")
            continue
        if not os.path.isdir(cand) or not os.access(cand, os.W_OK | os.X_OK):
            refused.append(f"{cand}: not a writable directory")
            continue
        root = local_root_under(cand)
        problem = foreign_dir(root)
        if problem:
            refused.append(f"{root}: {problem}")
            continue
        source = LOCAL_DIR_VAR if cand == chosen else "default"
        why = f"{cand} ({source}): on this machine's own disk"
        return LocalChoice(cand, root, host, why, tuple(refused))
    return LocalChoice(None, None, host, "no local directory found", tuple(refused))
