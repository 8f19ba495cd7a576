"""Where Jupyter looks for a user's kernelspecs, per OS, by jupyter_core's rules (5.x).

jupyter_core's ``jupyter_data_dir()``: ``$JUPYTER_DATA_DIR`` when set (non-empty); else, with
``JUPYTER_PLATFORM_DIRS`` set to a true value, platformdirs' user data dir for ``jupyter``
(``$XDG_DATA_HOME/jupyter`` when that is absolute, else ``~/.local/share/jupyter`` on Linux and
``~/Library/Application Support/jupyter`` on macOS); else ``~/Library/Jupyter`` on macOS and
``${XDG_DATA_HOME:-~/.local/share}/jupyter`` on Linux. Kernelspecs are in ``kernels/`` below it.
``$JUPYTER_PATH`` entries are searched before it. Everything here is string work: the OS is
passed in (a Linux host computes the Mac's directory of a shared home), nothing is touched.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from condashare.host.detect import OSES

_FALSE_WORDS = ("no", "n", "false", "off", "0", "0.0")


@dataclass(frozen=True)
class DataDir:
    """One Jupyter data directory condashare writes kernelspecs into (``kernels/`` below it)."""

    path: str
    os: str | None  # the OS whose Jupyter reads it; None: any (given with --data-dir)
    source: str  # JUPYTER_DATA_DIR, XDG_DATA_HOME, JUPYTER_PLATFORM_DIRS, default, --data-dir

    @property
    def kernels_dir(self) -> str:
        return posixpath.join(self.path, "kernels")

    def describe(self) -> str:
        who = {"linux": "Linux", "macos": "macOS"}.get(self.os or "", "any OS")
        return f"{self.kernels_dir} ({who}; {self.source})"


def _envset(env: Mapping[str, str], name: str) -> bool:
    """jupyter_core's boolean variables: set and not one of no/n/false/off/0/0.0."""
    return name in env and env[name].lower() not in _FALSE_WORDS


def jupyter_data_dir(os_name: str, env: Mapping[str, str], home: str) -> tuple[str, str]:
    """The user's Jupyter data dir on ``os_name`` for this environment, and what decided it."""
    if env.get("JUPYTER_DATA_DIR"):
        return posixpath.normpath(env["JUPYTER_DATA_DIR"]), "JUPYTER_DATA_DIR"
    xdg = env.get("XDG_DATA_HOME", "")
    if _envset(env, "JUPYTER_PLATFORM_DIRS"):
        if posixpath.isabs(xdg):
            return posixpath.join(xdg, "jupyter"), "JUPYTER_PLATFORM_DIRS, XDG_DATA_HOME"
        if os_name == "macos":
            base = posixpath.join(home, "Library", "Application Support")
        else:
            base = posixpath.join(home, ".local", "share")
        return posixpath.join(base, "jupyter"), "JUPYTER_PLATFORM_DIRS"
    if os_name == "macos":
        return posixpath.join(home, "Library", "Jupyter"), "default"
    if xdg:
        return posixpath.join(xdg, "jupyter"), "XDG_DATA_HOME"
    return posixpath.join(home, ".local", "share", "jupyter"), "default"


def _merge(dirs: Iterable[DataDir]) -> list[DataDir]:
    """One entry per path; a path two OSes read is for any OS."""
    out: dict[str, DataDir] = {}
    for d in dirs:
        seen = out.get(d.path)
        if seen is None:
            out[d.path] = d
        elif seen.os != d.os:
            out[d.path] = DataDir(d.path, None, f"{seen.source}; {d.source}")
    return list(out.values())


def sync_data_dirs(
    host_os: str,
    env: Mapping[str, str],
    home: str,
    other_oses: Iterable[str] = (),
    explicit: Iterable[str] = (),
) -> list[DataDir]:
    """Where ``condashare kernels`` writes: this OS's data dir, then (shared home) the others'.

    This host's environment decides its own directory. For another OS sharing the home only the
    defaults and ``XDG_DATA_HOME``/``JUPYTER_PLATFORM_DIRS`` (set by startup files both OSes
    read) are known; its ``JUPYTER_DATA_DIR`` is not, so that variable applies to this OS only.
    ``explicit`` (``--data-dir``) replaces all of it.
    """
    given = [posixpath.normpath(os.path.abspath(p)) for p in explicit]
    if given:
        return _merge(DataDir(p, None, "--data-dir") for p in given)
    path, source = jupyter_data_dir(host_os, env, home)
    dirs = [DataDir(os.path.abspath(path), host_os, source)]
    shared_env = {k: v for k, v in env.items() if k != "JUPYTER_DATA_DIR"}
    for other in dict.fromkeys(other_oses):
        if other != host_os:
            other_path, other_source = jupyter_data_dir(other, shared_env, home)
            dirs.append(DataDir(other_path, other, other_source))
    return _merge(dirs)


def reverse_data_dirs(
    host_os: str, env: Mapping[str, str], home: str, explicit: Iterable[str] = ()
) -> list[DataDir]:
    """Every place ``kernels`` may have written from any OS of this home (for ``--reverse``)."""
    if list(explicit):
        return sync_data_dirs(host_os, env, home, explicit=explicit)
    plain = {k: v for k, v in env.items() if k not in ("JUPYTER_DATA_DIR", "JUPYTER_PLATFORM_DIRS")}
    dirs = sync_data_dirs(host_os, env, home, OSES)
    for os_name in OSES:  # also the defaults, in case the variables changed since
        path, _ = jupyter_data_dir(os_name, plain, home)
        dirs.append(DataDir(path, os_name, "default"))
    dirs.append(DataDir(posixpath.join(home, ".local", "share", "jupyter"), "linux", "default"))
    return _merge(dirs)


def search_dirs(host_os: str, env: Mapping[str, str], home: str) -> list[str]:
    """The user's kernel dirs this OS's Jupyter searches: ``$JUPYTER_PATH`` entries, data dir.

    (Environment and system dirs are not the user's; the doctor leaves them to their owners.)
    """
    out: list[str] = []
    for entry in env.get("JUPYTER_PATH", "").split(os.pathsep):
        if entry.strip():
            out.append(posixpath.join(posixpath.normpath(entry.rstrip("/")), "kernels"))
    path, _ = jupyter_data_dir(host_os, env, home)
    out.append(posixpath.join(path, "kernels"))
    return list(dict.fromkeys(out))
