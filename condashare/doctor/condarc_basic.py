"""The doctor's view of conda's configuration, taken from :mod:`condashare.conda.condarc`.

condarc.py computes the effective ``envs_dirs``/``pkgs_dirs`` exactly as conda does (search
path, ``#!final``/``#!top``/``#!bottom``, env vars, fixed defaults); this module reduces that to
the few values checks ask about, plus ``no_lock``/``use_lockfiles``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from condashare.conda.condarc import CondaContext, DirEntry
    from condashare.doctor.context import Context

# Context.extra key: the root prefix of the conda running us (set by the conda plugin), which
# conda itself knows and PATH/CONDA_EXE may not tell.
CONDA_ROOT_KEY = "conda_root"


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
    envs_entries: list[DirEntry] = field(default_factory=list)  # envs_dirs with provenance
    conda_ctx: CondaContext | None = None  # to list envs dirs the way `shared status` does
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (path, why conda skips it)

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


def _scalar(files: list[CondarcFile], key: str) -> bool | None:
    """Last file that sets ``key`` wins (scalars, conda-facts §1)."""
    value: bool | None = None
    for f in files:
        if f.status == "ok" and key in f.data:
            value = bool(f.data[key])
    return value


def load_conda_config(ctx: Context) -> CondaConfig:
    """conda's effective configuration (condashare.conda.condarc), reduced to what checks need."""
    from condashare.conda.condarc import CondaContext, compute_effective, find_conda_root
    from condashare.info import find_on_path

    def lookup(name: str) -> str | None:
        return find_on_path(name, ctx.env.get("PATH", ""), list(ctx.mounts), ctx.timeout)[0]

    running = ctx.extra.get(CONDA_ROOT_KEY)
    root: str | None
    if isinstance(running, str) and running:
        root, source = running, "the running conda"
    else:
        root, source = find_conda_root(ctx.env, lookup)
    if root is None and ctx.installation is not None:
        root, source = ctx.installation.prefix, "site installation"
    conda_ctx = CondaContext(
        env=ctx.env,
        cwd=os.getcwd(),
        conda_root=root,
        conda_root_source=source,
        mounts=ctx.mounts,
        installations=ctx.site.installations if ctx.site else (),
        probe_timeout=ctx.timeout,
    )
    view = compute_effective(conda_ctx)
    files = [
        CondarcFile(
            f.path,
            "ok"
            if f.status == "ok"
            else ("unresponsive" if f.status == "unresponsive" else "error"),
            f"line {f.line}: {f.error}" if f.line else f.error,
            dict(f.data) if f.status == "ok" and f.data else {},
        )
        for f in view.files
    ]
    sources = {e.path: e.source for e in (*view.envs_dirs, *view.pkgs_dirs)}
    no_lock = _scalar(files, "no_lock")
    if ctx.env.get("CONDA_NO_LOCK", "").lower() in ("1", "true", "yes"):
        no_lock = True
    return CondaConfig(
        root=root,
        files=files,
        envs_dirs=view.paths("envs_dirs"),
        pkgs_dirs=view.paths("pkgs_dirs"),
        pkgs_dirs_configured=any(e.source_kind != "default" for e in view.pkgs_dirs),
        no_lock=no_lock,
        use_lockfiles=_scalar(files, "use_lockfiles"),
        sources=sources,
        envs_entries=list(view.envs_dirs),
        conda_ctx=conda_ctx,
        ignored=[(i.path, i.reason) for i in view.ignored],
    )
