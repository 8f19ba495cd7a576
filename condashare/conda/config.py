"""The few values of conda's effective configuration that checks ask about.

:mod:`condashare.conda.effective` computes ``envs_dirs``/``pkgs_dirs`` exactly as conda does;
this reduces that view to what the doctor's checks need (the dirs, where each came from, the
files read, ``no_lock``/``use_lockfiles``) without losing the files' own records.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from condashare.conda.context import CondaContext, find_conda_root
from condashare.conda.effective import DirEntry, compute_effective
from condashare.conda.onpath import find_on_path
from condashare.conda.search import CondarcFile
from condashare.host.mounts import Mount
from condashare.pathtext import within
from condashare.site.file import Installation


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
        return _first_outside(self.pkgs_dirs, shared_prefixes)

    def user_envs_dir(self, shared_prefixes: list[str]) -> str | None:
        return _first_outside(self.envs_dirs, shared_prefixes)


def _first_outside(paths: list[str], prefixes: list[str]) -> str | None:
    for path in paths:
        if not any(within(path, p) for p in prefixes):
            return path
    return None


def _scalar(files: list[CondarcFile], key: str) -> bool | None:
    """Last file that sets ``key`` wins (scalars, conda-facts §1)."""
    value: bool | None = None
    for f in files:
        if f.status == "ok" and f.data is not None and key in f.data:
            value = bool(f.data[key])
    return value


def load_conda_config(
    env: Mapping[str, str],
    mounts: Sequence[Mount],
    timeout: float,
    *,
    conda_root: str | None = None,
    installation: Installation | None = None,
    installations: Sequence[Installation] = (),
) -> CondaConfig:
    """conda's effective configuration, reduced to what checks need.

    The conda root is ``conda_root`` (the running conda, which knows), else the conda found
    through ``CONDA_EXE``/PATH, else the site's ``installation``.
    """

    def lookup(name: str) -> str | None:
        return find_on_path(name, env.get("PATH", ""), mounts, timeout)[0]

    root: str | None
    if conda_root:
        root, source = conda_root, "the running conda"
    else:
        root, source = find_conda_root(env, lookup)
    if root is None and installation is not None:
        root, source = installation.prefix, "site installation"
    conda_ctx = CondaContext(
        env=env,
        cwd=os.getcwd(),
        conda_root=root,
        conda_root_source=source,
        mounts=tuple(mounts),
        installations=tuple(installations),
        probe_timeout=timeout,
    )
    view = compute_effective(conda_ctx)
    no_lock = _scalar(view.files, "no_lock")
    if env.get("CONDA_NO_LOCK", "").lower() in ("1", "true", "yes"):
        no_lock = True
    return CondaConfig(
        root=root,
        files=list(view.files),
        envs_dirs=view.paths("envs_dirs"),
        pkgs_dirs=view.paths("pkgs_dirs"),
        pkgs_dirs_configured=any(e.source_kind != "default" for e in view.pkgs_dirs),
        no_lock=no_lock,
        use_lockfiles=_scalar(view.files, "use_lockfiles"),
        sources={e.path: e.source for e in (*view.envs_dirs, *view.pkgs_dirs)},
        envs_entries=list(view.envs_dirs),
        conda_ctx=conda_ctx,
        ignored=[(i.path, i.reason) for i in view.ignored],
    )
