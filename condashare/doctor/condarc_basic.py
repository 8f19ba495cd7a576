"""Just enough of conda's configuration for the doctor: read and parse the condarc files.

A deliberately small reader (the full search path and comment-preserving edits live in
``condashare.condarc``): the well-known files in conda's precedence order, each parsed with
ruamel.yaml, and the merged ``envs_dirs``/``pkgs_dirs``/``no_lock``/``use_lockfiles`` the checks
need. Lists merge the way conda merges them (highest-precedence source first, duplicates
dropped); ``#!top``/``#!bottom``/``#!final`` markers are not interpreted here.
Files on a share are read through the probe.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from condashare.doctor.context import Context


@dataclass
class CondarcFile:
    """One condarc file conda would read: parsed mapping, or why it could not be used."""

    path: str
    status: str  # ok | error (parse or read) | unresponsive
    error: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class CondaConfig:
    """The parts of conda's effective configuration the doctor looks at."""

    root: str | None
    files: list[CondarcFile]
    envs_dirs: list[str]
    pkgs_dirs: list[str]
    pkgs_dirs_configured: bool
    no_lock: bool | None = None
    use_lockfiles: bool | None = None
    sources: dict[str, str] = field(default_factory=dict)  # dir -> where it came from

    def user_pkgs_dir(self, shared_prefixes: list[str]) -> str | None:
        """The first package cache outside every shared installation (where conda writes)."""
        for path in self.pkgs_dirs:
            if not any(_under(path, p) for p in shared_prefixes):
                return path
        return None

    def user_envs_dir(self, shared_prefixes: list[str]) -> str | None:
        for path in self.envs_dirs:
            if not any(_under(path, p) for p in shared_prefixes):
                return path
        return None


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def _listdir(ctx: Context, path: str) -> tuple[str, list[str]]:
    if ctx.is_remote(path):
        res = ctx.probe(path, "listdir", "500")
        if not res.ok:
            return res.status, []
        return "ok", [str(e[0]) for e in res.data.get("entries", [])]
    try:
        return "ok", sorted(os.listdir(path))
    except FileNotFoundError:
        return "missing", []
    except OSError:
        return "error", []


def search_path(ctx: Context, root: str | None) -> list[str]:
    """Condarc locations, lowest precedence first (conda-facts §1); dirs end with '/'."""
    home = ctx.home
    env = ctx.env
    xdg = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    dirs = ["/etc/conda/", "/var/lib/conda/"]
    if root:
        dirs.append(root.rstrip("/") + "/")
    dirs += [
        os.path.join(xdg, "conda") + "/",
        os.path.join(home, ".config", "conda") + "/",
        os.path.join(home, ".conda") + "/",
    ]
    out = []
    for d in dirs:
        out += [d + ".condarc", d + "condarc", d + "condarc.d/"]
    out.append(os.path.join(home, ".condarc"))
    if env.get("CONDA_PREFIX"):
        d = env["CONDA_PREFIX"].rstrip("/") + "/"
        out += [d + ".condarc", d + "condarc", d + "condarc.d/"]
    condarc = env.get("CONDARC")
    if condarc:
        name = posixpath.basename(condarc.rstrip("/"))
        plain = name in (".condarc", "condarc") or name.endswith((".yml", ".yaml"))
        if condarc.endswith("/") or plain:
            out.append(condarc)
    return list(dict.fromkeys(out))


def parse_yaml(text: str) -> tuple[dict[str, Any] | None, str]:
    """Parse condarc text with ruamel.yaml; (mapping, "") or (None, error message)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe", pure=True)
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        return None, " ".join(str(exc).split())
    except Exception as exc:  # ruamel raises a few non-YAMLError types on odd input
        return None, f"{type(exc).__name__}: {exc}"
    if data is None:
        return {}, ""
    if not isinstance(data, dict):
        return None, f"the top level is a {type(data).__name__}, not a mapping of settings"
    return data, ""


def _read_file(ctx: Context, path: str) -> CondarcFile | None:
    from condashare.doctor.checks._util import read_small

    status, raw = read_small(ctx, path)
    if status == "missing":
        return None
    if status == "unresponsive":
        return CondarcFile(path, "unresponsive", "does not answer (share down?)")
    if status != "ok":
        return CondarcFile(path, "error", "cannot be read")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return CondarcFile(path, "error", "not UTF-8 text")
    data, err = parse_yaml(text)
    if data is None:
        return CondarcFile(path, "error", err)
    return CondarcFile(path, "ok", data=data)


def read_condarc_files(ctx: Context, root: str | None) -> list[CondarcFile]:
    files: list[CondarcFile] = []
    dead: set[str] = set()  # directories that did not answer: one report each is enough
    for loc in search_path(ctx, root):
        parent = loc.rstrip("/").rsplit("/", 1)[0]
        if parent in dead:
            continue
        if loc.endswith("/"):
            status, names = _listdir(ctx, loc)
            if status == "unresponsive":
                files.append(CondarcFile(loc, "unresponsive", "does not answer (share down?)"))
                dead.add(parent)
            for name in names:
                if name.endswith((".yml", ".yaml")):
                    got = _read_file(ctx, loc + name)
                    if got:
                        files.append(got)
            continue
        got = _read_file(ctx, loc)
        if got:
            files.append(got)
            if got.status == "unresponsive":
                dead.add(parent)
    return files


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return []


def _merge(files: list[CondarcFile], key: str) -> tuple[list[str], dict[str, str]]:
    out: list[str] = []
    sources: dict[str, str] = {}
    for f in reversed(files):  # highest precedence first
        for item in _as_list(f.data.get(key)):
            if item not in out:
                out.append(item)
                sources[item] = f.path
    return out, sources


def _scalar(files: list[CondarcFile], key: str) -> bool | None:
    value = None
    for f in files:
        if key in f.data and isinstance(f.data[key], bool):
            value = f.data[key]
    return value


def load_conda_config(ctx: Context) -> CondaConfig:
    """Read every condarc file conda would, and merge what the doctor needs."""
    root: str | None = ctx.installation.prefix if ctx.installation else None
    exe = ctx.env.get("CONDA_EXE")
    if exe and root is None:
        root = posixpath.dirname(posixpath.dirname(exe))
    files = read_condarc_files(ctx, root)
    good = [f for f in files if f.status == "ok"]
    envs, env_sources = _merge(good, "envs_dirs")
    pkgs, pkg_sources = _merge(good, "pkgs_dirs")
    env_envs = ctx.env.get("CONDA_ENVS_DIRS") or ctx.env.get("CONDA_ENVS_PATH") or ""
    if env_envs:
        items = [p for p in env_envs.split(os.pathsep) if p]
        envs = [*items, *(e for e in envs if e not in items)]
        env_sources.update({p: "CONDA_ENVS_DIRS" for p in items})
    env_pkgs = ctx.env.get("CONDA_PKGS_DIRS", "")
    if env_pkgs:
        items = [p for p in env_pkgs.split(",") if p]
        pkgs = [*items, *(p for p in pkgs if p not in items)]
        pkg_sources.update({p: "CONDA_PKGS_DIRS" for p in items})
    envs = [ctx.expand(p) for p in envs]
    pkgs = [ctx.expand(p) for p in pkgs]
    sources = {ctx.expand(k): v for k, v in {**env_sources, **pkg_sources}.items()}
    home_envs = os.path.join(ctx.home, ".conda", "envs")
    home_pkgs = os.path.join(ctx.home, ".conda", "pkgs")
    # Defaults conda always adds for a read-only root: ~/.conda/envs, then <root>/envs.
    for extra in (home_envs, *([os.path.join(root, "envs")] if root else [])):
        if extra not in envs:
            envs.append(extra)
            sources.setdefault(extra, "default")
    configured = bool(pkgs)
    if not pkgs:
        pkgs = [*([os.path.join(root, "pkgs")] if root else []), home_pkgs]
        for p in pkgs:
            sources.setdefault(p, "default")
    no_lock = _scalar(good, "no_lock")
    if ctx.env.get("CONDA_NO_LOCK", "").lower() in ("1", "true", "yes"):
        no_lock = True
    return CondaConfig(
        root, files, envs, pkgs, configured, no_lock, _scalar(good, "use_lockfiles"), sources
    )
