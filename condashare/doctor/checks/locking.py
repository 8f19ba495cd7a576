"""A real lock attempt where conda locks: one byte at offset 21 with ``fcntl.lockf``.

conda's own doctor only checks that ``fcntl`` imports. Here a child process creates a temporary
file in the directory, takes the lock the way conda does, confirms a second process is refused
it (so the lock really exists), releases and deletes the file. On NFS without a lock daemon the
attempt fails (ENOLCK) or hangs; the child runs under a timeout and is abandoned if it hangs.
"""

from __future__ import annotations

import os

from condashare.bounded.paths import ProbeResult, run_program
from condashare.bounded.programs import locktest
from condashare.doctor.checks._util import error, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.render import shown
from condashare.wording import seconds_text

LOCK_OFFSET = 21  # conda locks this one byte of <cache>/<hash>.info.json


def try_lock(directory: str, timeout: float) -> ProbeResult:
    """Take and test a conda-style lock in ``directory`` from a child; never blocks longer."""
    return run_program(locktest, [directory, str(LOCK_OFFSET)], timeout, directory)


def lock_findings(cid: str, label: str, directory: str, ctx: Context) -> list[Finding]:
    result = try_lock(directory, max(ctx.timeout, 2.0))
    mount = ctx.mount_of(directory)
    fs = shown(f"{mount.fstype} at {mount.mountpoint}") if mount else "unknown filesystem"
    data = {
        "path": directory,
        "status": result.status,
        "filesystem": fs,
        "seconds": round(result.latency, 3),
        **result.data,
    }
    if result.status == "unresponsive":
        return [
            error(
                cid,
                f"{label}: locking in {directory} hangs",
                f"A lock attempt on {fs} got no answer in {seconds_text(max(ctx.timeout, 2.0))}. "
                "conda locks here at every solve and waits the same way (or fails with LockError "
                "after 10 tries).",
                "Move the cache to local disk (pkgs_dirs in ~/.condarc), or set `no_lock: true` if "
                "only one host uses it. If the whole share is down, see mount.responsive.",
                **data,
            )
        ]
    if result.status == "missing":
        return [info(cid, f"{label}: {directory} does not exist yet; nothing to test", **data)]
    if result.status == "error":
        stage = result.data.get("stage", "")
        name = result.data.get("errname", "")
        if stage == "create" and name in ("EACCES", "EROFS", "EPERM"):
            return [
                info(cid, f"{label}: {directory} is not writable by you; lock not tested", **data)
            ]
        return [
            error(
                cid,
                f"{label}: cannot lock files in {directory} ({name or result.error})",
                f"On {fs}, the {stage} step failed: {result.error}. conda fails the same way "
                "(LockError / 'No locks available') when it updates its caches here.",
                "Ask your administrators to enable NFS locking (lockd / NFSv4), or keep the "
                "package cache on local disk; `no_lock: true` in ~/.condarc as a last resort.",
                **data,
            )
        ]
    if not result.data.get("conflict_seen"):
        return [
            warning(
                cid,
                f"{label}: locks in {directory} are not enforced",
                f"A second process got the same lock on {fs}: locks do nothing here, so "
                "concurrent conda runs can corrupt the cache.",
                "Keep the package cache on local disk.",
                **data,
            )
        ]
    return [
        ok(
            cid,
            f"{label}: a conda-style lock works in {directory} ({seconds_text(result.latency)})",
            **data,
        )
    ]


def check_pkgs(ctx: Context) -> list[Finding]:
    cid = "locking.pkgs"
    shared = [i.prefix for i in ctx.site.installations] if ctx.site else []
    pkgs = ctx.conda_config.user_pkgs_dir(shared)
    if not pkgs:
        return [info(cid, "no user package cache configured")]
    return lock_findings(cid, "package cache", pkgs, ctx)


def check_home(ctx: Context) -> list[Finding]:
    cid = "locking.home"
    return lock_findings(cid, "home", os.path.abspath(ctx.home), ctx)


PKGS = Check("locking.pkgs", "locking", "locks work in your package cache", check_pkgs)
HOME = Check("locking.home", "locking", "locks work in your home", check_home)
