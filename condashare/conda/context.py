"""What reading conda's configuration needs: the run's CondaContext, conda's variable
expansion, and bounded touches of paths that may sit on a dead share.

Part of :mod:`condashare.conda`: :mod:`.search` (the search path and its files),
:mod:`.effective` (merging into effective dirs), :mod:`.edits` (text-level list edits).
"""

from __future__ import annotations

import os
import posixpath
import pwd
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from string import Template

from condashare.bounded.paths import MISSING, OK, PathOp, ProbeResult
from condashare.errors import CondashareError
from condashare.files.read import Reader
from condashare.host.mounts import Mount, may_be_remote
from condashare.site.file import Installation

# conda's search path on POSIX (conda/base/constants.py), lowest precedence first, with the slot
# each entry belongs to: "system" and "root" files are not the user's to edit.
SYSTEM_DIRS = ("/etc/conda", "/var/lib/conda")
TEMPLATE_DIRS = (
    ("$CONDA_ROOT", "root"),
    ("$XDG_CONFIG_HOME/conda", "user"),
    ("~/.config/conda", "user"),
    ("~/.conda", "user"),
)
CONDARC_FILENAMES = (".condarc", "condarc")
YAML_EXTENSIONS = (".yml", ".yaml")

ENVS_KEYS = frozenset({"envs_dirs", "envs_path", "_envs_dirs"})
PKGS_KEYS = frozenset({"pkgs_dirs", "_pkgs_dirs"})
ROOT_KEYS = frozenset({"root_prefix", "root_dir", "_root_prefix"})
KEYS = {"envs_dirs": ENVS_KEYS, "pkgs_dirs": PKGS_KEYS}
# conda splits CONDA_ENVS_DIRS on os.pathsep but every other list variable on ",".
ENV_DELIMITERS = {"envs_dirs": ":", "pkgs_dirs": ","}
MAX_CONDARC_BYTES = 1024 * 1024
MAX_LISTING = 10000

_CUSTOM_EXPANDVARS = re.compile(
    rf"\$(?P<named>{Template.idpattern})|\${{(?P<braced>{Template.idpattern})}}"
    rf"|%(?P<padded>{Template.idpattern})%",
    re.IGNORECASE,
)
_POSIX_EXPANDVARS = re.compile(r"\$(\w+|\{[^}]*\})", re.ASCII)
_LEFT_LITERAL = re.compile(r"\$(\w+|\{[^}]*\})", re.ASCII)


class CondarcError(CondashareError):
    """A condarc file condashare refuses to edit; names the file and the line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}: " if line else f"{path}: "
        super().__init__(where + message)


# --------------------------------------------------------------------------- expansion helpers


def custom_expandvars(template: str, mapping: Mapping[str, str]) -> str:
    """conda's search-path expansion: ``$X``, ``${X}``, ``%X%``; unknown names stay as written."""
    if "$" not in template and "%" not in template:
        return template

    def convert(match: re.Match[str]) -> str:
        name = match.group("named") or match.group("braced") or match.group("padded")
        return mapping.get(name, match.group())

    return _CUSTOM_EXPANDVARS.sub(convert, template)


def posix_expandvars(path: str, env: Mapping[str, str]) -> str:
    """``os.path.expandvars`` against ``env`` (conda's value expansion on POSIX)."""
    if "$" not in path:
        return path
    i = 0
    while True:
        match = _POSIX_EXPANDVARS.search(path, i)
        if not match:
            return path
        start, end = match.span(0)
        name = match.group(1)
        if name.startswith("{") and name.endswith("}"):
            name = name[1:-1]
        if name in env:
            tail = path[end:]
            path = path[:start] + env[name]
            i = len(path)
            path += tail
        else:
            i = end


def posix_expanduser(path: str, env: Mapping[str, str]) -> str:
    """``os.path.expanduser`` with ``HOME`` taken from ``env``."""
    if not path.startswith("~"):
        return path
    i = path.find("/", 1)
    if i < 0:
        i = len(path)
    if i == 1:
        home = env.get("HOME")
        if home is None:
            try:
                home = pwd.getpwuid(os.getuid()).pw_dir
            except KeyError:
                return path
    else:
        try:
            home = pwd.getpwnam(path[1:i]).pw_dir
        except KeyError:
            return path
    home = home.rstrip("/")
    return (home + path[i:]) or "/"


def conda_expand(value: str, env: Mapping[str, str], cwd: str) -> str:
    """What conda makes of a configured dir: expandvars twice, expanduser, abspath (from cwd)."""
    once = posix_expandvars(value, env)  # LoadedParameter.expand()
    path = posix_expanduser(posix_expandvars(once, env), env)  # conda.common.path.expand
    if not path.startswith("/"):
        path = posixpath.join(cwd, path)
    return posixpath.normpath(path)


def unexpanded_names(value: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """Variables in ``value`` that conda leaves literal because they are unset."""
    names = []
    for match in _LEFT_LITERAL.finditer(value):
        name = match.group(1).strip("{}")
        if name not in env:
            names.append(name)
    return tuple(dict.fromkeys(names))


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class CondaContext:
    """Everything the effective view depends on; tests build their own."""

    env: Mapping[str, str]
    cwd: str
    conda_root: str | None  # sys.prefix of the conda that would run, None when none is known
    conda_root_source: str = ""  # how it was found: CONDA_EXE, conda on PATH, --conda-root ...
    mounts: Sequence[Mount] = ()
    installations: Sequence[Installation] = ()
    probe_timeout: float = 2.0
    system_dirs: Sequence[str] = SYSTEM_DIRS
    root_writable: bool | None = None  # None: test <root>/conda-meta/history as conda does

    @cached_property
    def reader(self) -> Reader:
        """The one reader of user files; it also remembers which shares did not answer."""
        return Reader(tuple(self.mounts), self.probe_timeout, self.home)

    @property
    def conda_env(self) -> Mapping[str, str]:
        """The environment conda expands values with: it sets CONDA_ROOT to its own prefix."""
        if self.conda_root and "CONDA_ROOT" not in self.env:
            return {**self.env, "CONDA_ROOT": self.conda_root}
        return self.env

    @property
    def home(self) -> str:
        return posix_expanduser("~", self.env)

    def is_remote(self, path: str) -> bool:
        """On a network filesystem or below an automount trigger (touch only through a probe)."""
        return may_be_remote(self.absolute(path), self.mounts)

    def absolute(self, path: str) -> str:
        return posixpath.normpath(path if path.startswith("/") else posixpath.join(self.cwd, path))


def remote_probe(ctx: CondaContext, op: PathOp, path: str, arg: str = "0") -> ProbeResult:
    """Probe a path on a share; once a mount did not answer, its other paths are not tried
    (each try would cost the full timeout, and a hung server does not recover in a second)."""
    return ctx.reader.probe(op, path, arg)


def find_conda_root(
    env: Mapping[str, str], path_lookup: Callable[[str], str | None]
) -> tuple[str | None, str]:
    """The root prefix of the conda a shell here would run, and how we know.

    ``CONDA_EXE`` (set by conda.sh) is ``<root>/bin/conda``; ``CONDA_PYTHON_EXE`` is
    ``<root>/bin/python``; otherwise the first ``conda`` on PATH (``<root>/bin`` or
    ``<root>/condabin``). String work only: the root may be on a share.
    """
    for var in ("CONDA_EXE", "CONDA_PYTHON_EXE"):
        value = env.get(var, "")
        if value.startswith("/"):
            parent = posixpath.dirname(posixpath.dirname(posixpath.normpath(value)))
            return parent, var
    found = path_lookup("conda")
    if found:
        bindir = posixpath.dirname(posixpath.normpath(found))
        if posixpath.basename(bindir) in ("bin", "condabin"):
            return posixpath.dirname(bindir), "conda on PATH"
    return None, ""


# --------------------------------------------------------------------------- touching files


@dataclass(frozen=True)
class Touch:
    """The answer to one bounded look at a path."""

    status: str  # ok | missing | error | unresponsive
    mode: int = 0
    error: str = ""
    errno: int | None = None


def touch_path(ctx: CondaContext, path: str) -> Touch:
    full = ctx.absolute(path)
    if ctx.is_remote(full):
        res = remote_probe(ctx, "stat", full)
        if res.status == OK:
            return Touch(OK, int(res.data.get("stat", {}).get("mode", 0)))
        return Touch(res.status, 0, res.describe(), res.errno)
    try:
        return Touch(OK, Path(full).stat().st_mode)
    except FileNotFoundError:
        return Touch(MISSING)
    except OSError as exc:
        return Touch("error", 0, exc.strerror or str(exc), exc.errno)


def listdir(ctx: CondaContext, path: str) -> tuple[str, list[tuple[str, str]]]:
    """(status, [(name, kind)]) with kind dir|file|link|unknown; symlinks followed like conda."""
    full = ctx.absolute(path)
    if ctx.is_remote(full):
        res = remote_probe(ctx, "listdir", full, str(MAX_LISTING))
        if res.status != OK:
            return res.status, []
        return OK, [(str(n), str(k)) for n, k in res.data.get("entries", [])]
    out: list[tuple[str, str]] = []
    try:
        with os.scandir(full) as it:
            for entry in it:
                try:
                    kind = "dir" if entry.is_dir() else ("file" if entry.is_file() else "link")
                except OSError:
                    kind = "unknown"
                out.append((entry.name, kind))
    except FileNotFoundError:
        return MISSING, []
    except OSError:
        return "error", []
    return OK, out


def appendable(ctx: CondaContext, path: str) -> bool | None:
    """conda's writability test: the file exists and opens for append (None: not a file)."""
    full = ctx.absolute(path)
    if ctx.is_remote(full):
        res = remote_probe(ctx, "appendable", full)
        if res.status != OK:
            return None
        value = res.data.get("appendable")
        return None if value is None else bool(value)
    if not Path(full).is_file():
        return None
    try:
        fd = os.open(full, os.O_WRONLY | os.O_APPEND)
    except OSError:
        return False
    os.close(fd)
    return True
