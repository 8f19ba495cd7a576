"""Integrity of the user's environments and package caches (the verification engine).

Quick by default (stat-only: missing, resized and NFS-artefact files, bad records, stale caches);
``--deep`` hashes every file. With ``--target PREFIX`` only that environment is examined. The
engine runs its own abandonable worker processes, so a share that dies mid-run is reported as
unresponsive rather than waited for.

The fixer removes ``*.conda_trash`` files (files conda renamed because it could not delete them,
and meant to remove later) from the engine's NFS-artefact findings. It never touches ``.nfs*``
files (a process still has them open) and never anything inside a site's shared installation.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import stat

from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding, FixOutcome
from condashare.doctor.owners import for_who_can_fix
from condashare.pathtext import within
from condashare.render import shown
from condashare.wording import plural

TRASH_SUFFIX = ".conda_trash"
FILES_ID = "integrity.files"
ARTEFACTS = "integrity.nfs-artefacts"  # the engine's finding that lists .nfs* and trash files


def integrity_targets(ctx: Context) -> list[str] | None:
    """What to verify: the ``--target`` prefix, else None (the user's own envs and cache)."""
    return [ctx.target] if ctx.target else None


def active_env(ctx: Context) -> str | None:
    """The environment ``conda activate`` made active (``$CONDA_PREFIX``): what the user runs
    now, and what ``conda doctor`` checks by default, so it is verified without --target."""
    prefix = ctx.env.get("CONDA_PREFIX", "")
    return os.path.normpath(prefix) if prefix.startswith("/") else None


def _shared(ctx: Context, path: str) -> bool:
    prefixes = [i.prefix.rstrip("/") for i in ctx.site.installations] if ctx.site else []
    return any(within(path, p) for p in prefixes)


def conda_trash(ctx: Context, findings: list[Finding]) -> list[str]:
    """The ``*.conda_trash`` paths of the engine's artefact findings that are the user's own."""
    paths: list[str] = []
    for finding in findings:
        if finding.code != ARTEFACTS:
            continue
        for item in finding.data.get("items", []):
            path = str(item.get("path", ""))
            name = os.path.basename(path)
            trash = name.endswith(TRASH_SUFFIX) and not name.startswith(".nfs")
            if trash and not _shared(ctx, path) and path not in paths:
                paths.append(path)
    return paths


def check_integrity(ctx: Context) -> list[Finding]:
    from condashare.verify.api import integrity_findings, user_targets

    shared = [i.pkgs_dir for i in ctx.site.installations] if ctx.site else []
    targets = integrity_targets(ctx)
    if targets is None:
        targets = user_targets(ctx.home, ctx.timeout)
        active = active_env(ctx)
        if active and active not in targets:
            targets.append(active)
    found = integrity_findings(targets, deep=ctx.deep, timeout=ctx.timeout, shared_pkgs_dirs=shared)
    # a finding names the check that produced it; its code (integrity.env-files, ...) stays the
    # engine's, the same as in `condashare verify` and the conda plugin
    findings = for_who_can_fix([dataclasses.replace(f, check=FILES_ID) for f in found], ctx)
    return [dataclasses.replace(f, fixable=True) if conda_trash(ctx, [f]) else f for f in findings]


def fix_conda_trash(ctx: Context, findings: list[Finding], apply: bool) -> FixOutcome:
    """Remove the ``*.conda_trash`` leftovers the check listed (plan first, same list applied)."""
    cid = FILES_ID
    paths = conda_trash(ctx, findings)
    if not paths:
        return FixOutcome(cid, "nothing to do: no *.conda_trash leftovers of yours")
    summary = f"remove {plural(len(paths), '*.conda_trash leftover')}"
    listing = "\n".join(map(shown, paths))  # one line per path, whatever its name holds
    if not apply:
        return FixOutcome(cid, summary, listing, tuple(paths))
    removed: list[str] = []
    errors: list[str] = []
    for path in paths:
        try:
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            continue  # gone since the check ran (conda removes its trash itself, later)
        except OSError as exc:
            errors.append(shown(f"{path}: {exc.strerror or exc}"))
            continue
        removed.append(path)
    done = f"removed {len(removed)} of {plural(len(paths), '*.conda_trash leftover')}"
    return FixOutcome(cid, done, listing, tuple(removed), applied=True, error="\n".join(errors))


FILES = Check(
    FILES_ID,
    "integrity",
    "environments and package caches match conda's records",
    check_integrity,
    budget=120,
    fixer=fix_conda_trash,
    description="quick stat-only scan; --deep re-hashes every file; --fix removes *.conda_trash",
)
