"""Writable state on a network filesystem that a setting can move to this machine's disk.

``sqlite.known_dbs``, ``locking.*`` and ``mount.conda_dirs`` find what NFS breaks; this check
names each piece of state a setting can move and ``--fix`` moves it
(:mod:`condashare.doctor.offnet`: planned, recorded, undone by ``doctor --fix --reverse``).
"""

from __future__ import annotations

from condashare.doctor import offnet
from condashare.doctor.checks._util import error, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding, FixOutcome
from condashare.host import dirs
from condashare.wording import plural

CID = "offnet.state"

WHY = {
    "conda-pkgs": "conda locks its repodata cache here at every solve and keeps a SQLite shard "
    "cache (WAL) here; on NFS that hangs, fails with LockError, or corrupts the cache when two "
    "machines solve at once.",
    "conda-envs": "conda create -n puts new environments here: on a network home they eat the "
    "quota and file limit, and run slowly.",
    "ipython": "IPython keeps its history in SQLite; on NFS two sessions give 'database is "
    "locked' and IPython moves the file aside as history-corrupt.sqlite.",
    "jupyter": "Jupyter writes its server and kernel files here, and keeps notebook trust and "
    "file ids in SQLite; on a home shared by several machines their files mix, and SQLite "
    "locks fail.",
}


def unsafe_entries(ctx: Context) -> list[Finding]:
    """conda dirs the fix put under a shared scratch dir (``/var/tmp``) that, on this machine,
    someone else made or can write: conda would use packages and environments they control."""
    cfg = ctx.conda_config
    found = []
    seen: set[str] = set()
    for path in [*cfg.pkgs_dirs, *cfg.envs_dirs]:
        for base in dirs.LOCAL_BASES:
            root = dirs.local_root_under(base)
            if not path.startswith(root + "/") or root in seen or ctx.is_remote(root):
                continue
            seen.add(root)
            problem = dirs.foreign_dir(root)
            if problem:
                found.append(
                    error(
                        CID,
                        f"{root} is not yours: {problem}",
                        f"Your conda configuration uses {path} below it: conda would take "
                        "packages or environments from there that another user can change.",
                        f"Do not run conda on this machine until it is gone: ask your "
                        f"administrators to remove {root}, or set CONDASHARE_LOCAL_DIR to a "
                        "local directory of your own and run condashare doctor --fix --reverse, "
                        "then condashare doctor offnet.state --fix",
                        path=root,
                    )
                )
    return found


def check_state(ctx: Context) -> list[Finding]:
    local = offnet.choose_local_root(ctx)
    spots = offnet.find_spots(ctx, local)
    findings: list[Finding] = unsafe_entries(ctx)
    where = local.root if local.usable else "memory (no local directory here)"
    for s in spots:
        if s.fixed:
            findings.append(ok(CID, f"{s.label}: on local disk (set in {s.config})", path=s.path))
            continue
        findings.append(
            warning(
                CID,
                f"{s.label} is on a network filesystem: {s.path}",
                WHY[s.kind],
                f"condashare doctor {CID} --fix  (moves it to {where}, changing {s.config}; "
                f"undo: condashare doctor --fix --reverse)",
                True,
                kind=s.kind,
                path=s.path,
                config=s.config,
                local_root=local.root,
            )
        )
    return findings or [ok(CID, "no writable state on a network filesystem")]


def fix_state(ctx: Context, findings: list[Finding], apply: bool) -> FixOutcome:
    """Move the state the findings name to local disk (``offnet.plan``); same plan either way."""
    local = offnet.choose_local_root(ctx)
    spots = [s for s in offnet.find_spots(ctx, local) if not s.fixed]
    wanted = {(f.data.get("kind"), f.data.get("path")) for f in findings}
    spots = [s for s in spots if (s.kind, s.path) in wanted]
    if not spots:
        return FixOutcome(CID, "nothing to do: no writable state on a network filesystem")
    the_plan = offnet.plan(ctx, spots)
    targets = tuple(f.edit.target for f in the_plan.files if f.edit.changed)
    kinds = plural(len(spots), "kind")
    summary = f"move {kinds} of writable state to local disk ({plural(len(targets), 'file')})"
    if not the_plan.changed:
        return FixOutcome(CID, "nothing to do: the settings are already there")
    if not apply:
        return FixOutcome(CID, summary, the_plan.diff(), targets)
    backups = offnet.apply(ctx, the_plan)
    return FixOutcome(CID, summary, the_plan.diff(), targets, tuple(backups), applied=True)


def reverse(ctx: Context, apply: bool) -> FixOutcome:
    """Undo every recorded ``offnet.state`` fix (``doctor --fix --reverse``)."""
    rev = offnet.plan_reverse(ctx)
    targets = tuple(e.target for e in rev.edits if e.changed)
    if not targets and not rev.kept:
        return FixOutcome(CID, "nothing to undo", rev.diff())
    summary = f"undo the move of writable state to local disk ({plural(len(targets), 'file')})"
    error = "; ".join(n for n in rev.notes if ": cannot undo" in n)
    if not apply:
        return FixOutcome(CID, summary, rev.diff(), targets, error=error)
    backups = offnet.apply_reverse(ctx, rev)
    return FixOutcome(CID, summary, rev.diff(), targets, tuple(backups), True, error)


STATE = Check(
    CID,
    "offnet",
    "writable state on local disk",
    check_state,
    fixer=fix_state,
    description="conda's package cache and new-env dir, IPython history, Jupyter runtime "
    "files and databases on a network filesystem; --fix moves them to local disk.",
)
