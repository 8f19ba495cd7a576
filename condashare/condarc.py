"""conda's configuration as conda itself computes it: search path, merge rules, effective dirs.

This re-implements (never imports) the parts of conda 26.x that decide ``envs_dirs`` and
``pkgs_dirs`` (conda-facts §1-2): the ``.condarc`` search path, the file-name rule, ``#!final``,
``#!top``/``#!bottom``, list concatenation with de-duplication, the ``CONDA_*`` variables (split on
``:`` for envs, ``,`` for pkgs), environment-variable expansion that leaves unset variables
literal, and the fixed defaults conda appends. Each effective entry keeps the file it came from
and whether it is shared. Paths that may sit on a dead share are only touched through
:mod:`condashare.probe`.
"""

from __future__ import annotations

import os
import posixpath
import pwd
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from string import Template
from typing import Any

from condashare.mounts import Mount, mount_for
from condashare.probe import MISSING, OK, UNRESPONSIVE, run_probe
from condashare.site import Installation

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

    @property
    def home(self) -> str:
        return posix_expanduser("~", self.env)

    def is_remote(self, path: str) -> bool:
        """On a network filesystem or below an automount trigger (touch only through a probe)."""
        mount = mount_for(self.absolute(path), self.mounts)
        return mount is not None and (mount.is_network or mount.is_autofs)

    def absolute(self, path: str) -> str:
        return posixpath.normpath(path if path.startswith("/") else posixpath.join(self.cwd, path))


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


def _touch(ctx: CondaContext, path: str) -> Touch:
    full = ctx.absolute(path)
    if ctx.is_remote(full):
        res = run_probe("stat", full, ctx.probe_timeout)
        if res.status == OK:
            return Touch(OK, int(res.data.get("stat", {}).get("mode", 0)))
        return Touch(res.status, 0, res.describe())
    try:
        return Touch(OK, Path(full).stat().st_mode)
    except FileNotFoundError:
        return Touch(MISSING)
    except OSError as exc:
        return Touch("error", 0, exc.strerror or str(exc))


def _listdir(ctx: CondaContext, path: str) -> tuple[str, list[tuple[str, str]]]:
    """(status, [(name, kind)]) with kind dir|file|link|unknown; symlinks followed like conda."""
    full = ctx.absolute(path)
    if ctx.is_remote(full):
        res = run_probe("listdir", full, ctx.probe_timeout, str(MAX_LISTING))
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


def _read_text(ctx: CondaContext, path: str) -> tuple[str, str | None]:
    """(status, text); remote files are read through the probe's ``head`` operation."""
    full = ctx.absolute(path)
    if ctx.is_remote(full):
        res = run_probe("head", full, ctx.probe_timeout, str(MAX_CONDARC_BYTES))
        if res.status != OK:
            return res.status, None
        raw = bytes.fromhex(str(res.data.get("data", "")))
    else:
        try:
            with open(full, "rb") as fh:
                raw = fh.read(MAX_CONDARC_BYTES)
        except FileNotFoundError:
            return MISSING, None
        except OSError:
            return "error", None
    try:
        return OK, raw.decode("utf-8")
    except UnicodeDecodeError:
        return "error", None


def appendable(ctx: CondaContext, path: str) -> bool | None:
    """conda's writability test: the file exists and opens for append (None: not a file)."""
    full = ctx.absolute(path)
    if ctx.is_remote(full):
        res = run_probe("appendable", full, ctx.probe_timeout)
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


def _load_file(ctx: CondaContext, path: str, slot: str, template: str) -> CondarcFile:
    status, text = _read_text(ctx, path)
    if status == UNRESPONSIVE:
        return CondarcFile(path, slot, template, "unresponsive", "share did not answer")
    if text is None:
        return CondarcFile(path, slot, template, "unreadable", "cannot read the file")
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
        if touch.status != OK:
            continue
        found: list[str] = []
        name = posixpath.basename(spot.path)
        if stat.S_ISREG(touch.mode):
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
            files.append(_load_file(ctx, path, spot.slot, spot.template))
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
    mount = mount_for(path, ctx.mounts)
    if mount is not None and mount.is_network:
        return True, f"on network filesystem {mount.fstype} {mount.mountpoint}", None
    if mount is not None and mount.is_autofs:
        return True, f"below automount {mount.mountpoint}", None
    return False, "", None


def _entry(ctx: CondaContext, raw: str, source: str, kind: str, flag: str | None) -> DirEntry:
    path = conda_expand(raw, ctx.env, ctx.cwd)
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
        unexpanded=unexpanded_names(posix_expandvars(raw, ctx.env), ctx.env),
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
