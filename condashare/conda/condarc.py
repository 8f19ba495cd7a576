"""conda's configuration as conda itself computes it: search path, merge rules, effective dirs.

This re-implements (never imports) the parts of conda 26.x that decide ``envs_dirs`` and
``pkgs_dirs`` (conda-facts §1-2): the ``.condarc`` search path, the file-name rule, ``#!final``,
``#!top``/``#!bottom``, list concatenation with de-duplication, the ``CONDA_*`` variables (split on
``:`` for envs, ``,`` for pkgs), environment-variable expansion that leaves unset variables
literal, and the fixed defaults conda appends. Each effective entry keeps the file it came from
and whether it is shared. Paths that may sit on a dead share are only touched through
:mod:`condashare.bounded.paths`.
"""

from __future__ import annotations

import errno
import os
import posixpath
import pwd
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from string import Template
from typing import Any

from condashare.bounded.paths import MISSING, OK, UNRESPONSIVE, PathOp, ProbeResult
from condashare.files.read import Reader, ReadStatus, kind_of
from condashare.host.mounts import Mount, may_be_remote, mount_for
from condashare.site.file import Installation

# conda's search path on POSIX (conda/base/constants.py), lowest precedence first, with the slot
# each entry belongs to: "system" and "root" files are not the user's to edit.
SYSTEM_DIRS = ("/etc/conda", "/var/lib/conda")
_TEMPLATE_DIRS = (
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


class CondarcError(Exception):
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


def _touch(ctx: CondaContext, path: str) -> Touch:
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


def _listdir(ctx: CondaContext, path: str) -> tuple[str, list[tuple[str, str]]]:
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


# --------------------------------------------------------------------------- search path


@dataclass(frozen=True)
class SearchSpot:
    """One entry of conda's search path after expansion."""

    template: str
    path: str  # expanded, as conda would name it (may be relative: an unset variable)
    slot: str  # system | root | user | prefix | condarc


def search_path(ctx: CondaContext) -> list[SearchSpot]:
    """conda's SEARCH_PATH expanded for ``ctx``, lowest precedence first."""
    mapping = dict(ctx.env)
    if ctx.conda_root and "CONDA_ROOT" not in mapping:
        mapping["CONDA_ROOT"] = ctx.conda_root  # conda/__init__.py sets it to sys.prefix
    # conda passes the target prefix (the active env, else the root) as CONDA_PREFIX.
    target = ctx.env.get("CONDA_PREFIX") or ctx.conda_root
    if target:
        mapping["CONDA_PREFIX"] = target
    templates: list[tuple[str, str]] = []
    for directory in ctx.system_dirs:
        templates += [(f"{directory}/{n}", "system") for n in (*CONDARC_FILENAMES, "condarc.d/")]
    for directory, slot in _TEMPLATE_DIRS:
        templates += [(f"{directory}/{n}", slot) for n in (*CONDARC_FILENAMES, "condarc.d/")]
    templates.append(("~/.condarc", "user"))
    templates += [(f"$CONDA_PREFIX/{n}", "prefix") for n in (*CONDARC_FILENAMES, "condarc.d/")]
    templates.append(("$CONDARC", "condarc"))
    out = []
    for template, slot in templates:
        expanded = posix_expanduser(custom_expandvars(template, mapping), mapping)
        norm = str(PurePosixPath(expanded))  # pathlib normalisation, as conda's Path()
        out.append(SearchSpot(template, norm, slot))
    return out


@dataclass
class CondarcFile:
    """One configuration file conda reads (or would, were it valid)."""

    path: str
    slot: str
    template: str
    status: str  # ok | invalid | unreadable | unresponsive
    error: str = ""
    line: int | None = None
    conda_fails: bool = False  # invalid in a way that stops conda, not just a warning
    data: Any = None  # the ruamel round-trip mapping (None when empty or invalid)

    @property
    def is_user_file(self) -> bool:
        return self.slot == "user"


@dataclass(frozen=True)
class IgnoredFile:
    """A file on the search path conda silently skips (name rule), worth telling the user."""

    path: str
    reason: str


def _yaml() -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="rt")


def parse_condarc(text: str, path: str) -> Any:
    """Round-trip parse; CondarcError (with line) for YAML conda cannot use."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        data = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise CondarcError(path, line, f"not valid YAML: {exc.problem or exc}") from None
    except YAMLError as exc:
        raise CondarcError(path, None, f"not valid YAML: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise CondarcError(path, 1, "the top level must be a mapping (key: value)")
    return data


def _load_file(ctx: CondaContext, path: str, slot: str, template: str) -> CondarcFile | IgnoredFile:
    """Read one condarc file through the one reader and parse it.

    A file that is not a regular file (a FIFO or device in ``condarc.d/``) is one conda skips;
    it comes back as an IgnoredFile, unread.
    """
    res = ctx.reader.read(ctx.absolute(path), MAX_CONDARC_BYTES)
    if res.status is ReadStatus.UNRESPONSIVE:
        return CondarcFile(path, slot, template, "unresponsive", res.reason)
    if res.status is ReadStatus.REFUSED and res.mode is not None and not stat.S_ISREG(res.mode):
        return IgnoredFile(path, f"{res.reason}: conda ignores it")
    if not res.ok or res.data is None:
        return CondarcFile(path, slot, template, "unreadable", res.reason)
    try:
        text = res.data.decode("utf-8")
    except UnicodeDecodeError:
        return CondarcFile(path, slot, template, "unreadable", "is not UTF-8 text")
    from ruamel.yaml.reader import ReaderError
    from ruamel.yaml.scanner import ScannerError

    try:
        data = parse_condarc(text, path)
    except CondarcError as exc:
        # conda warns and skips a file with a scanner/reader error; other YAML errors stop it.
        try:
            _yaml().load(text)
        except (ScannerError, ReaderError):
            fails = False
        except Exception:
            fails = True
        else:
            fails = True  # top level is not a mapping
        return CondarcFile(path, slot, template, "invalid", exc.message, exc.line, fails)
    return CondarcFile(path, slot, template, "ok", data=data)


def load_search_path(ctx: CondaContext) -> tuple[list[CondarcFile], list[IgnoredFile]]:
    """The files conda reads, in its order, each parsed; plus files it silently ignores."""
    files: list[CondarcFile] = []
    ignored: list[IgnoredFile] = []
    seen: set[str] = set()
    for spot in search_path(ctx):
        touch = _touch(ctx, spot.path)
        if touch.status == UNRESPONSIVE:
            files.append(
                CondarcFile(spot.path, spot.slot, spot.template, "unresponsive", touch.error)
            )
            continue
        if touch.status == "error" and touch.errno == errno.ELOOP:
            ignored.append(IgnoredFile(spot.path, "is a symlink loop: conda ignores it"))
        if touch.status != OK:
            continue
        found: list[str] = []
        name = posixpath.basename(spot.path)
        if not stat.S_ISREG(touch.mode) and not stat.S_ISDIR(touch.mode):
            ignored.append(
                IgnoredFile(
                    spot.path,
                    f"is {kind_of(touch.mode)}, not a regular file: conda "
                    "ignores it (and condashare does not read it)",
                )
            )
        elif stat.S_ISREG(touch.mode):
            if name in CONDARC_FILENAMES or posixpath.splitext(name)[1] in YAML_EXTENSIONS:
                found.append(spot.path)
            elif spot.slot == "condarc":
                ignored.append(
                    IgnoredFile(
                        spot.path,
                        "CONDARC names a file conda ignores: it "
                        "must be called .condarc or condarc or end in "
                        ".yml/.yaml",
                    )
                )
        elif stat.S_ISDIR(touch.mode):
            status, entries = _listdir(ctx, spot.path)
            for entry_name, kind in sorted(entries):
                if posixpath.splitext(entry_name)[1] not in YAML_EXTENSIONS:
                    continue
                if kind in ("file", "link"):
                    found.append(posixpath.join(spot.path, entry_name))
            if status == UNRESPONSIVE:
                files.append(
                    CondarcFile(
                        spot.path, spot.slot, spot.template, "unresponsive", "share did not answer"
                    )
                )
        for path in found:
            if path in seen:
                continue
            seen.add(path)
            loaded = _load_file(ctx, path, spot.slot, spot.template)
            if isinstance(loaded, IgnoredFile):
                ignored.append(loaded)
            else:
                files.append(loaded)
    return files, ignored


# --------------------------------------------------------------------------- merging


def flag_from_comment(comment: str | None) -> str | None:
    """conda's ParameterFlag.from_string: ``#!final`` -> final; anything else -> None."""
    if comment is None:
        return None
    value = comment.strip("!#")
    return value if value in ("final", "top", "bottom") else None


def key_comment(mapping: Any, key: str) -> str | None:
    try:
        return str(mapping.ca.items[key][2].value.strip())
    except (AttributeError, KeyError):
        return None


def item_comments(seq: Any) -> list[str | None]:
    """conda's reading of per-item comments (the pre-item token, else the first post token)."""
    out: list[str | None] = []
    for i in range(len(seq)):
        try:
            item = seq.ca.items[i]
            if item[0]:
                out.append(item[0].value.strip() or None)
            else:
                out.append(item[1][0].value.strip() or None)
        except (AttributeError, IndexError, KeyError, TypeError):
            out.append(None)
    return out


@dataclass(frozen=True)
class RawItem:
    """One list item of one source, before merging."""

    value: str
    source: str  # file path or variable name
    flag: str | None  # top | bottom | None
    kind: str = "file"  # file | env


@dataclass
class SourceMatch:
    """A source's value for a key."""

    source: str
    kind: str  # file | env
    key: str
    items: list[RawItem]
    final: bool
    line: int | None = None


@dataclass
class MergeProblem:
    """A configuration error that makes conda refuse to run."""

    source: str
    line: int | None
    message: str


def _file_match(f: CondarcFile, name: str, problems: list[MergeProblem]) -> SourceMatch | None:
    data = f.data
    if not isinstance(data, dict):
        return None
    keys = [k for k in data if k in KEYS[name]]
    if not keys:
        return None
    if len(keys) > 1:
        problems.append(
            MergeProblem(
                f.path,
                None,
                f"more than one of {', '.join(keys)} (conda refuses aliases given together)",
            )
        )
        if name in keys:
            keys = [name]
        else:
            return None
    key = keys[0]
    value = data[key]
    line = _key_line(data, key)
    if value is None:
        return None  # conda skips `key: ~` (and its flags)
    if not isinstance(value, list):
        problems.append(
            MergeProblem(f.path, line, f"{key} must be a list, not {type(value).__name__}")
        )
        return None
    comments = item_comments(value)
    items = []
    for i, item in enumerate(value):
        if item is None or isinstance(item, (dict, list)):
            problems.append(MergeProblem(f.path, line, f"{key}[{i}] is not a path"))
            continue
        flag = flag_from_comment(comments[i])
        items.append(RawItem(str(item), f.path, flag if flag in ("top", "bottom") else None))
    final = flag_from_comment(key_comment(data, key)) == "final"
    return SourceMatch(f.path, "file", key, items, final, line)


def _key_line(data: Any, key: str) -> int | None:
    try:
        return int(data.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return None


def _env_match(
    env: Mapping[str, str], name: str, problems: list[MergeProblem]
) -> SourceMatch | None:
    found = {}
    for var, raw in env.items():
        if var.startswith("CONDA_"):
            key = var.replace("CONDA_", "", 1).lower()
            if key in KEYS[name]:
                found[key] = (var, raw)
    if not found:
        return None
    if len(found) > 1:
        names = ", ".join(sorted(v for v, _ in found.values()))
        problems.append(
            MergeProblem(
                "environment", None, f"{names} are both set (conda refuses aliases given together)"
            )
        )
        if name not in found:
            return None
        var, raw = found[name]
    else:
        var, raw = next(iter(found.values()))
    delimiter = ENV_DELIMITERS[name]
    parts = (p.strip() for p in raw.split(delimiter))
    # each item is cut at "!important" after the empty ones were dropped (EnvRawParameter)
    items = [RawItem(p.split("!important")[0].strip(), var, None, "env") for p in parts if p]
    return SourceMatch(var, "env", var, items, len(raw.split("!important")) >= 2)


def merge_lists(matches: Sequence[SourceMatch]) -> list[RawItem]:
    """conda's SequenceLoadedParameter.merge, keeping where each surviving item came from."""
    relevant: list[SourceMatch] = []
    for match in matches:
        relevant.append(match)
        if match.final:
            break
    top = [it for m in relevant for it in m.items if it.flag == "top"]
    bottom = [it for m in reversed(relevant) for it in m.items if it.flag == "bottom"]
    all_items = [it for m in reversed(relevant) for it in m.items]

    def unique(items: Iterable[RawItem]) -> list[RawItem]:
        seen: set[str] = set()
        out = []
        for it in items:
            if it.value not in seen:
                seen.add(it.value)
                out.append(it)
        return out

    top_deduped = unique([*top, *all_items])
    bottom_deduped = unique([*reversed(bottom), *reversed(top_deduped)])
    return list(reversed(bottom_deduped))


# --------------------------------------------------------------------------- effective view


@dataclass(frozen=True)
class DirEntry:
    """One effective envs or pkgs dir, where it came from, and whether it is shared."""

    path: str  # as conda uses it (expanded, absolute)
    raw: str  # as written in the source
    source: str  # file path, variable name, or "default"
    source_kind: str  # file | env | default
    flag: str | None = None
    shared: bool = False
    shared_reason: str = ""
    installation: str | None = None
    installation_os: str | None = None
    unexpanded: tuple[str, ...] = ()  # unset variables left literal (a relative-path trap)


@dataclass
class EffectiveView:
    """conda's ``envs_dirs``/``pkgs_dirs`` for a context, with provenance."""

    envs_dirs: list[DirEntry]
    pkgs_dirs: list[DirEntry]
    files: list[CondarcFile]
    ignored: list[IgnoredFile]
    problems: list[MergeProblem]
    conda_root: str | None
    conda_root_source: str
    root_writable: bool | None
    finals: dict[str, str] = field(default_factory=dict)  # key -> source that marked it final

    def paths(self, key: str) -> list[str]:
        return [e.path for e in (self.envs_dirs if key == "envs_dirs" else self.pkgs_dirs)]


def classify(path: str, ctx: CondaContext) -> tuple[bool, str, Installation | None]:
    """Is ``path`` shared? Inside a site installation, or on a network mount (string work)."""
    for inst in ctx.installations:
        prefix = inst.prefix.rstrip("/") or "/"
        if path == prefix or path.startswith(prefix + "/"):
            return True, f"inside shared installation {inst.name} ({inst.os})", inst
    home = ctx.home.rstrip("/")
    if home and (path == home or path.startswith(home + "/")):
        return False, "", None  # the user's own, also when the home is on a network filesystem
    mount = mount_for(path, ctx.mounts)
    if mount is not None and mount.is_network:
        return True, f"on network filesystem {mount.fstype} {mount.mountpoint}", None
    if mount is not None and mount.is_autofs:
        return True, f"below automount {mount.mountpoint}", None
    return False, "", None


def _entry(ctx: CondaContext, raw: str, source: str, kind: str, flag: str | None) -> DirEntry:
    env = ctx.conda_env
    path = conda_expand(raw, env, ctx.cwd)
    shared, reason, inst = classify(path, ctx)
    return DirEntry(
        path=path,
        raw=raw,
        source=source,
        source_kind=kind,
        flag=flag,
        shared=shared,
        shared_reason=reason,
        installation=inst.name if inst else None,
        installation_os=inst.os if inst else None,
        unexpanded=unexpanded_names(posix_expandvars(raw, env), env),
    )


def root_is_writable(ctx: CondaContext) -> bool | None:
    """conda's root_writable: ``<root>/conda-meta/history`` exists and opens for append."""
    if ctx.root_writable is not None:
        return ctx.root_writable
    if not ctx.conda_root:
        return None
    return bool(appendable(ctx, posixpath.join(ctx.conda_root, "conda-meta", "history")))


def compute_effective(
    ctx: CondaContext,
    files: list[CondarcFile] | None = None,
    ignored: list[IgnoredFile] | None = None,
) -> EffectiveView:
    """The effective ``envs_dirs`` and ``pkgs_dirs`` exactly as conda would compute them."""
    if files is None:
        files, ignored = load_search_path(ctx)
    problems: list[MergeProblem] = []
    for f in files:
        if f.status == "invalid" and f.conda_fails:
            problems.append(MergeProblem(f.path, f.line, f"conda stops on this file: {f.error}"))
    merged: dict[str, list[RawItem]] = {}
    finals: dict[str, str] = {}
    for name in ("envs_dirs", "pkgs_dirs"):
        matches = [m for f in files if (m := _file_match(f, name, problems))]
        env_m = _env_match(ctx.env, name, problems)
        if env_m:
            matches.append(env_m)
        for m in matches:
            if m.final:
                finals[name] = m.source
                break
        merged[name] = merge_lists(matches)
    writable = root_is_writable(ctx)
    envs: list[DirEntry] = []
    seen: set[str] = set()

    def add(target: list[DirEntry], entry: DirEntry) -> None:
        if entry.path not in seen:
            seen.add(entry.path)
            target.append(entry)

    for it in merged["envs_dirs"]:
        add(envs, _entry(ctx, it.value, it.source, it.kind, it.flag))
    defaults: list[str] = []
    root = ctx.conda_root
    user_envs = posixpath.join("~", ".conda", "envs")
    if root:
        root_envs = posixpath.join(root, "envs")
        defaults = [root_envs, user_envs] if writable else [user_envs, root_envs]
    else:
        defaults = [user_envs]
    for raw in defaults:
        add(envs, _entry(ctx, raw, "default", "default", None))
    pkgs: list[DirEntry] = []
    seen = set()
    if merged["pkgs_dirs"]:
        for it in merged["pkgs_dirs"]:
            add(pkgs, _entry(ctx, it.value, it.source, it.kind, it.flag))
    else:
        for base in ([root] if root else []) + ["~/.conda"]:
            add(pkgs, _entry(ctx, posixpath.join(base, "pkgs"), "default", "default", None))
    return EffectiveView(
        envs,
        pkgs,
        files,
        list(ignored or []),
        problems,
        root,
        ctx.conda_root_source,
        writable,
        finals,
    )


# --------------------------------------------------------------------------- text-level edits
#
# Edits change only the lines of the list items they add or remove; every other byte of the file
# (comments, blank lines, key order, quoting, indentation, #! tags) stays as it was. ruamel's
# round-trip parser locates the items; after each edit the result is parsed again and compared
# with what was intended, so a layout we misread is refused instead of written.


@dataclass(frozen=True)
class ItemSpan:
    """Where one list item sits in the text (0-based lines, inclusive)."""

    index: int
    value: str
    first_line: int
    last_line: int
    flag: str | None
    text: str  # the item's own lines, exactly as in the file


@dataclass(frozen=True)
class ListLayout:
    """How a key's list is written in a file."""

    key: str  # the key as spelled (envs_dirs, envs_path, pkgs_dirs ...)
    style: str  # block | flow | null | absent
    key_line: int | None
    key_col: int
    items: tuple[ItemSpan, ...]
    dash_col: int = 2
    flow_span: tuple[int, int, int] | None = None  # line, start col of "[", end col after "]"

    @property
    def values(self) -> list[str]:
        return [i.value for i in self.items]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _flow_end(line: str, start: int) -> int:
    """Index just after the ``]`` that closes the flow list opening at ``start``."""
    i = start + 1
    quote: str | None = None
    while i < len(line):
        ch = line[i]
        if quote == "'":
            if ch == "'" and i + 1 < len(line) and line[i + 1] == "'":
                i += 2
                continue
            if ch == "'":
                quote = None
        elif quote == '"':
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "]":
            return i + 1
        elif ch in "[{":
            return -1  # nested flow collections: not a list of paths
        i += 1
    return -1


def locate_list(text: str, path: str, name: str) -> ListLayout:
    """Find ``name``'s list (any alias) in condarc text; CondarcError when it cannot be edited."""
    data = parse_condarc(text, path)
    if data is None:
        return ListLayout(name, "absent", None, 0, ())
    keys = [k for k in data if k in KEYS[name]]
    if len(keys) > 1:
        line = _key_line(data, keys[1])
        raise CondarcError(path, line, f"both {keys[0]} and {keys[1]} are set; conda refuses that")
    if not keys:
        return ListLayout(name, "absent", None, 0, ())
    key = keys[0]
    key_line, key_col = (int(x) for x in data.lc.key(key))
    value = data[key]
    if value is None:
        return ListLayout(key, "null", key_line, key_col, ())
    if not isinstance(value, list):
        raise CondarcError(
            path, key_line + 1, f"{key} must be a list of directories, not {type(value).__name__}"
        )
    value_any: Any = value  # a ruamel CommentedSeq: .lc positions, .fa flow style
    value = value_any
    comments = item_comments(value)
    lines = _lines(text)
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise CondarcError(path, int(value.lc.item(i)[0]) + 1, f"{key}[{i}] is not a path")
    line_no, start = (int(x) for x in data.lc.value(key))
    empty_flow = not value and lines[line_no][start : start + 1] == "["  # `[]`: no style set
    if value.fa.flow_style() or empty_flow:
        end = _flow_end(lines[line_no], start) if line_no < len(lines) else -1
        if end < 0 or any(int(value.lc.item(i)[0]) != line_no for i in range(len(value))):
            raise CondarcError(
                path,
                line_no + 1,
                f"{key} is a flow list over several lines; write it as one "
                "line or as a block list (- item per line) so it can be edited safely",
            )
        spans = tuple(
            ItemSpan(i, str(v), line_no, line_no, flag_from_comment(comments[i]), "")
            for i, v in enumerate(value)
        )
        return ListLayout(key, "flow", key_line, key_col, spans, 0, (line_no, start, end))
    spans_list: list[ItemSpan] = []
    dash_col = key_col + 2
    for i, item in enumerate(value):
        line_no, col = (int(x) for x in value.lc.item(i))
        src = lines[line_no]
        dash = src.rfind("-", 0, col)
        if dash < 0 or src[:dash].strip():
            raise CondarcError(
                path, line_no + 1, f"{key}[{i}] is not written as '- item' on its own line"
            )
        if i == 0:
            dash_col = dash
        last = line_no
        for j in range(line_no + 1, len(lines)):
            if _is_comment_or_blank(lines[j]) or _indent(lines[j]) <= dash:
                break
            last = j
        text_lines = "".join(lines[line_no : last + 1])
        spans_list.append(
            ItemSpan(i, str(item), line_no, last, flag_from_comment(comments[i]), text_lines)
        )
    return ListLayout(key, "block", key_line, key_col, tuple(spans_list), dash_col)


_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_~/.$+=-][A-Za-z0-9_~/.$%{}+@=:, -]*")


def yaml_scalar(value: str) -> str:
    """A YAML scalar for a path: plain when unambiguous, else single-quoted."""
    if (
        _PLAIN_SAFE.fullmatch(value)
        and ": " not in value
        and " #" not in value
        and not value.endswith((" ", ":"))
        and value.lower() not in ("null", "true", "false", "yes", "no", "on", "off", "~")
    ):
        return value
    return "'" + value.replace("'", "''") + "'"


def _plain_data(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(k): _plain_data(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain_data(v) for v in data]
    return data


def _verify(before: str, after: str, path: str, name: str, expected: list[str]) -> None:
    """The edit changed exactly ``name``'s list into ``expected``; else refuse."""
    old = _plain_data(parse_condarc(before, path) or {})
    try:
        new = _plain_data(parse_condarc(after, path) or {})
    except CondarcError as exc:
        raise CondarcError(path, exc.line, f"edit would break the file ({exc.message})") from None
    keys = KEYS[name]
    got = next((new[k] for k in new if k in keys), None)
    if (got or []) != expected:
        raise CondarcError(path, None, f"edit of {name} could not be done safely; file unchanged")
    if {k: v for k, v in old.items() if k not in keys} != {
        k: v for k, v in new.items() if k not in keys
    }:
        raise CondarcError(path, None, "edit would change other settings; file unchanged")


def remove_items(
    text: str, path: str, name: str, indices: Iterable[int]
) -> tuple[str, list[ItemSpan]]:
    """Delete list items by index; returns the new text and the removed items (with their lines)."""
    layout = locate_list(text, path, name)
    drop = sorted(set(indices))
    if not drop:
        return text, []
    removed = [layout.items[i] for i in drop]
    keep = [it for it in layout.items if it.index not in drop]
    lines = _lines(text)
    if layout.style == "flow":
        assert layout.flow_span is not None
        line_no, start, end = layout.flow_span
        new_line = (
            lines[line_no][:start]
            + _flow_text(lines[line_no], layout, keep)
            + (lines[line_no][end:])
        )
        lines[line_no] = new_line
    else:
        for it in sorted(removed, key=lambda s: -s.first_line):
            del lines[it.first_line : it.last_line + 1]
    new_text = "".join(lines)
    _verify(text, new_text, path, name, [it.value for it in keep])
    if _flags(new_text, path, name) != [(it.value, it.flag) for it in keep]:
        # conda reads a comment line *after* an item as that item's tag: when the removed item
        # owned such a line, it must go with it, or the tag would move to the item before.
        if layout.style != "block":
            raise CondarcError(path, None, "removing the item would move a #! tag; edit by hand")
        lines = _lines(text)
        extended = []
        for it in removed:
            last = it.last_line
            stop = (
                layout.items[it.index + 1].first_line
                if it.index + 1 < len(layout.items)
                else len(lines)
            )
            while last + 1 < stop and _is_comment_or_blank(lines[last + 1]):
                last += 1
            extended.append(
                ItemSpan(
                    it.index,
                    it.value,
                    it.first_line,
                    last,
                    it.flag,
                    "".join(lines[it.first_line : last + 1]),
                )
            )
        for it in sorted(extended, key=lambda s: -s.first_line):
            del lines[it.first_line : it.last_line + 1]
        new_text = "".join(lines)
        _verify(text, new_text, path, name, [it.value for it in keep])
        if _flags(new_text, path, name) != [(it.value, it.flag) for it in keep]:
            raise CondarcError(path, None, "removing the item would move a #! tag; edit by hand")
        removed = extended
    return new_text, removed


def _flags(text: str, path: str, name: str) -> list[tuple[str, str | None]]:
    return [(it.value, it.flag) for it in locate_list(text, path, name).items]


def _flow_item_texts(line: str, layout: ListLayout) -> list[str]:
    """Each flow item's source text (quotes kept)."""
    assert layout.flow_span is not None
    _, start, end = layout.flow_span
    body = line[start + 1 : end - 1]
    out: list[str] = []
    current = ""
    quote: str | None = None
    i = 0
    while i < len(body):
        ch = body[i]
        if quote:
            current += ch
            if quote == '"' and ch == "\\" and i + 1 < len(body):
                current += body[i + 1]
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            current += ch
        elif ch == ",":
            out.append(current.strip())
            current = ""
        else:
            current += ch
        i += 1
    if current.strip():
        out.append(current.strip())
    return out


def _flow_text(
    line: str, layout: ListLayout, keep: Sequence[ItemSpan], extra: dict[int, str] | None = None
) -> str:
    texts = _flow_item_texts(line, layout)
    parts = [texts[it.index] for it in keep]
    for pos, scalar in sorted((extra or {}).items()):
        parts.insert(min(pos, len(parts)), scalar)
    return "[" + ", ".join(parts) + "]"


_NULL_DOCUMENT = re.compile(r"^\s*(~|null|Null|NULL)\s*(#.*)?$")


def insert_lines(text: str, path: str, name: str, index: int, item_text: str, value: str) -> str:
    """Insert an item (given as its own block lines, e.g. ``'  - /x  #!top\\n'``) at ``index``.

    Flow lists get the scalar inserted; a missing key is added at the end of the file.
    """
    layout = locate_list(text, path, name)
    lines = _lines(text)
    expected = layout.values
    index = max(0, min(index, len(expected)))
    expected.insert(index, value)
    if not item_text.endswith("\n"):
        item_text += "\n"
    if layout.style == "flow":
        assert layout.flow_span is not None
        line_no, start, end = layout.flow_span
        scalar = item_text.strip()
        scalar = scalar[1:].strip() if scalar.startswith("-") else scalar
        scalar = re.sub(r"\s+#.*$", "", scalar)
        flow = _flow_text(lines[line_no], layout, layout.items, {index: scalar})
        lines[line_no] = lines[line_no][:start] + flow + lines[line_no][end:]
    elif layout.style == "block":
        # right after the item before (comment lines that follow an item belong to it)
        at = layout.items[index - 1].last_line + 1 if index > 0 else layout.items[0].first_line
        _insert(lines, at, item_text)
    elif layout.style == "null":
        assert layout.key_line is not None
        _insert(lines, layout.key_line + 1, item_text)
    else:
        if parse_condarc(text, path) is None:  # a null document (`~`, `null`): now a mapping
            lines = [line for line in lines if not _NULL_DOCUMENT.match(line)]
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(f"{name}:\n")
        lines.append(item_text)
    new_text = "".join(lines)
    _verify(text, new_text, path, name, expected)
    return new_text


def _insert(lines: list[str], at: int, text: str) -> None:
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"  # the file ended without a newline
    lines.insert(at, text)


def item_line(layout: ListLayout, value: str, comment: str = "") -> str:
    """A new block item line in the file's own indentation."""
    indent = layout.dash_col if layout.style == "block" else layout.key_col + 2
    tail = f"  {comment}" if comment else ""
    return " " * indent + "- " + yaml_scalar(value) + tail + "\n"
