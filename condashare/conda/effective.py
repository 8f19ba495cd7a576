"""conda's effective ``envs_dirs``/``pkgs_dirs``: the search path's lists merged as conda
merges them (``#!final``/``#!top``/``#!bottom``, ``CONDA_*`` variables, de-duplication) plus
the fixed defaults, each entry with the file it came from and whether it is shared."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from condashare.conda.context import (
    ENV_DELIMITERS,
    KEYS,
    CondaContext,
    appendable,
    conda_expand,
    posix_expandvars,
    unexpanded_names,
)
from condashare.conda.search import CondarcFile, IgnoredFile, load_search_path
from condashare.host.mounts import mount_for
from condashare.pathtext import within
from condashare.site.file import Installation

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
    line = key_line_of(data, key)
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


def key_line_of(data: Any, key: str) -> int | None:
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
    if home and within(path, home):
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
