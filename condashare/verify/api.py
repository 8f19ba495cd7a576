"""The verification engine's public entry points: ``verify``, ``user_targets`` and, for the
doctor, ``integrity_findings``.

What it compares (conda-facts §6): every file of an environment against
``conda-meta/<dist>.json`` (size in quick mode, ``sha256_in_prefix`` in deep mode), every file of
an extracted package against ``info/paths.json`` (the packaged bytes), archives against
``info/repodata_record.json``; plus the leftovers NFS and conda leave behind (``.nfs*`` silly
renames, ``*.conda_trash``, ``.trash``, partial extractions), stale repodata caches and user
environments that link packages straight from a shared cache (§4). Hashes are remembered in a
local SQLite cache keyed by (device, inode, size, mtime_ns, ctime_ns), so an unchanged tree is
re-verified with ``stat`` only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from condashare.bounded import children
from condashare.findings import Finding, Severity
from condashare.host.mounts import Mount, mount_for, read_mount_table
from condashare.verify.engine import Scheduler
from condashare.verify.findings import finish
from condashare.verify.links import shared_links
from condashare.verify.report import Progress, ProgressInfo, Target, VerifyReport, VerifyStats
from condashare.wording import plural

__all__ = [
    "DEFAULT_TIMEOUT",
    "Progress",
    "ProgressInfo",
    "Target",
    "VerifyReport",
    "VerifyStats",
    "default_jobs",
    "integrity_findings",
    "user_targets",
    "verify",
]

DEFAULT_TIMEOUT = 15.0  # seconds of silence before a worker's share is declared unresponsive
VERY_OLD_DAYS = 30.0
# default workers when a target is on a network filesystem: on a share with 1 ms per operation
# a quick run was 3.5x faster than one worker with 4, 6.6x with 8, no faster with 16
# (docs/performance.md)
NETWORK_JOBS = 8


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def verify(
    paths: Sequence[str | os.PathLike[str]],
    *,
    deep: bool = False,
    jobs: int | None = None,
    use_cache: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    shared_pkgs_dirs: Sequence[str] = (),
    user_pkgs_dirs: Sequence[str] | None = None,
    repodata_ttl: int = 1,
    very_old_days: float = VERY_OLD_DAYS,
    progress: Progress | None = None,
    mounts: Sequence[Mount] | None = None,
) -> VerifyReport:
    """Verify environments, package caches and installation roots; never hangs.

    ``deep`` hashes every file (quick only stats). ``shared_pkgs_dirs`` names caches to treat as
    shared besides those on network or read-only filesystems; ``user_pkgs_dirs`` are the user's
    own caches (default ``~/.conda/pkgs``), consulted for "build exists only in a shared cache".
    ``repodata_ttl`` has conda's meaning of ``local_repodata_ttl``.
    """
    start = time.monotonic()
    mounts = list(read_mount_table() if mounts is None else mounts)
    cache, note = (None, "hash cache not used (--no-cache)")
    if use_cache:
        # here, not at the top: a --no-cache run needs neither the cache nor sqlite3
        from condashare.verify.hashcache import open_hash_cache

        cache, note = open_hash_cache(mounts)
    order: list[str] = []
    for raw in paths:
        path = os.path.normpath(os.path.abspath(os.fspath(raw)))
        if path not in order:
            order.append(path)
    if jobs is None:
        jobs = default_jobs()
        remote = [m for m in (mount_for(p, mounts) for p in order) if m is not None]
        if any(m.possibly_remote for m in remote):
            # reading a share waits on the network more than on the CPU: keep more reads
            # in flight than there are cores
            jobs = max(jobs, NETWORK_JOBS)
    run = Scheduler(deep, jobs, timeout, cache, mounts, progress)
    seen = run.observed.seen
    seen.stats.workers = jobs
    for path in order:
        run.add("classify", path, target=path)
    if user_pkgs_dirs is None:
        user_pkgs_dirs = [os.path.join(os.path.expanduser("~"), ".conda", "pkgs")]
    try:
        run.run()
        shared_links(run, shared_pkgs_dirs, list(user_pkgs_dirs))
        finish(
            seen,
            timeout=timeout,
            mounts=mounts,
            now_ns=time.time_ns(),
            repodata_ttl=repodata_ttl,
            very_old_days=very_old_days,
        )
    finally:
        run.close()
        if cache is not None:
            cache.close()
        deadline = time.monotonic() + 0.05  # finished workers exit within ms: collect them
        while children.reap() and time.monotonic() < deadline:
            time.sleep(0.002)
    seen.stats.seconds = time.monotonic() - start
    targets = [seen.targets.get(p, Target(p, "unresponsive")) for p in order]
    order_rank = {"error": 0, "warning": 1, "info": 2, "ok": 3}
    seen.findings.sort(key=lambda f: (order_rank[f.severity.value], f.check, f.title))
    return VerifyReport(
        mode="deep" if deep else "quick",
        targets=targets,
        findings=seen.findings,
        stats=seen.stats,
        cache_note=note,
        incomplete=seen.incomplete,
    )


def user_targets(home: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """The user's own environments and cache (``~/.conda/envs/*``, ``~/.conda/pkgs``).

    Homes live on NFS at many sites, so the listing runs in a probe child that is abandoned
    after ``timeout``; an unanswering home gives its paths unlisted (verify then reports them
    unresponsive). Callers with a full view of ``envs_dirs``/``pkgs_dirs`` (the doctor) should
    pass their own list to :func:`integrity_findings` instead.
    """
    from condashare.bounded.paths import OK, UNRESPONSIVE, run_probe

    base = os.path.join(home or os.path.expanduser("~"), ".conda")
    envs_dir = os.path.join(base, "envs")
    pkgs = os.path.join(base, "pkgs")
    out: list[str] = []
    listing = run_probe("envs", envs_dir, timeout, "100000")
    if listing.status == OK:
        out.extend(os.path.join(envs_dir, name) for name in listing.data.get("envs", []))
    elif listing.status == UNRESPONSIVE:
        return [envs_dir, pkgs]
    if run_probe("stat", pkgs, timeout).status == OK:
        out.append(pkgs)
    return out


def integrity_findings(
    paths: Sequence[str] | None = None,
    *,
    deep: bool = False,
    jobs: int | None = None,
    use_cache: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    shared_pkgs_dirs: Sequence[str] = (),
    user_pkgs_dirs: Sequence[str] | None = None,
) -> list[Finding]:
    """For the doctor: quick (default) or deep checks of the given (or the user's) envs/caches.

    Paths that do not exist are skipped silently (the doctor reports missing dirs itself);
    an unresponsive share becomes an ``integrity.unresponsive`` finding.
    """
    targets = user_targets() if paths is None else list(paths)
    if not targets:
        return [
            Finding(
                check="integrity",
                severity=Severity.OK,
                title="no environments or package caches to verify",
            )
        ]
    report = verify(
        targets,
        deep=deep,
        jobs=jobs,
        use_cache=use_cache,
        timeout=timeout,
        shared_pkgs_dirs=shared_pkgs_dirs,
        user_pkgs_dirs=user_pkgs_dirs,
    )
    if not report.findings:
        mode = "deep" if deep else "quick"
        return [
            Finding(
                check="integrity",
                severity=Severity.OK,
                title=f"{plural(report.stats.files, 'file')} in "
                f"{plural(report.stats.records, 'package')} and "
                f"{plural(report.stats.cache_entries, 'cache entry', 'cache entries')} "
                f"verified ({mode})",
            )
        ]
    return report.findings
