"""Where condashare keeps each kind of its own files, so that a home shared by Linux and macOS
is one home. Every caller asks here; nothing else picks a directory for condashare's files.

platformdirs answers per OS (``~/.config`` and ``~/.local/state`` on Linux, ``~/Library/Application
Support`` on macOS): a site file discovered on Linux would be invisible on the Mac, and ``shared
off`` on one OS forgotten on the other. So, per kind of state:

- **shared** (:data:`CONFIG`: the user site file; :data:`STATE`: what ``shared off`` removed,
  backups of edited files, lock files): the XDG places on every OS, ``$XDG_CONFIG_HOME`` (else
  ``~/.config``) and ``$XDG_STATE_HOME`` (else ``~/.local/state``), ``/condashare``. Readers also
  look where earlier versions (platformdirs) wrote on either OS, so nothing written before is lost.
- **per host** (:data:`CACHE`: the verify hash cache, keyed by device and inode, which only mean
  something on the host that saw them): the OS's own cache dir (``$XDG_CACHE_HOME`` or
  ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS), in a sub-directory named after the host.

The OS is the host's (``CONDASHARE_PLATFORM`` wins, as everywhere), passed in or read from the
environment, so both OSes' answers can be checked on one machine.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from condashare.files.read import Reader

APP = "condashare"
Kind = Literal["config", "state", "cache"]
CONFIG: Kind = "config"
STATE: Kind = "state"
CACHE: Kind = "cache"
SITE_FILE = "site.toml"
_MAC_SUPPORT = ("Library", "Application Support")  # platformdirs' macOS config and state dir
_XDG = {CONFIG: ("XDG_CONFIG_HOME", ".config"), STATE: ("XDG_STATE_HOME", ".local/state")}
_HOST_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


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
        return posixpath.join(base, APP, "hosts", _HOST_UNSAFE.sub("_", name) or "unknown")
    return posixpath.join(_xdg(kind, env, home)[0], APP)


def _xdg_cache(env: Mapping[str, str], home: str) -> str:
    value = env.get("XDG_CACHE_HOME", "")
    return value if value.startswith("/") else posixpath.join(home, ".cache")


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
