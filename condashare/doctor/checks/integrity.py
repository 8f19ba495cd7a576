"""Integrity of the user's environments and package caches (the verification engine).

Quick by default (stat-only: missing, resized and NFS-artefact files, bad records, stale caches);
``--deep`` hashes every file. With ``--target PREFIX`` only that environment is examined. The
engine runs its own abandonable worker processes, so a share that dies mid-run is reported as
unresponsive rather than waited for.
"""

from __future__ import annotations

from dataclasses import replace

from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding


def integrity_targets(ctx: Context) -> list[str] | None:
    """What to verify: the ``--target`` prefix, else None (the user's own envs and cache)."""
    return [ctx.target] if ctx.target else None


def check_integrity(ctx: Context) -> list[Finding]:
    from condashare.doctor.integrity import integrity_findings, user_targets

    shared = [i.pkgs_dir for i in ctx.site.installations] if ctx.site else []
    targets = integrity_targets(ctx)
    if targets is None:
        targets = user_targets(ctx.home, ctx.timeout)
    found = integrity_findings(targets, deep=ctx.deep, timeout=ctx.timeout, shared_pkgs_dirs=shared)
    # The doctor's contract: a finding names its check; the engine's own id goes into data.
    return [replace(f, check=FILES.id, data={**f.data, "finding": f.check}) for f in found]


FILES = Check(
    "integrity.files",
    "integrity",
    "environments and package caches match conda's records",
    check_integrity,
    budget=120,
    description="quick stat-only scan; --deep re-hashes every file",
)
