"""SQLite databases on network filesystems, and a live write/lock test when the home is remote.

SQLite relies on POSIX locks (and, in WAL mode, on shared memory) that NFS does not provide
reliably: IPython reports "database is locked" and moves its history aside, Jupyter's
notebook-trust and file-id databases break, conda's sharded-repodata cache (WAL) misbehaves.
"""

from __future__ import annotations

import os

from condashare.bounded.paths import run_program
from condashare.bounded.programs import sqlitetest
from condashare.doctor.checks._util import UNRESPONSIVE, error, exists, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.wording import seconds_text


def _ipython_dir(ctx: Context) -> str:
    return ctx.expand(ctx.env.get("IPYTHONDIR") or os.path.join(ctx.home, ".ipython"))


def _jupyter_data_dir(ctx: Context) -> str:
    from condashare.kernels.paths import jupyter_data_dir

    return ctx.expand(jupyter_data_dir(ctx.host.os, ctx.env, ctx.home)[0])


def ipython_profile_names(ctx: Context, ipdir: str) -> list[str]:
    names: list[str] = []
    if ctx.is_remote(ipdir):
        res = ctx.probe(ipdir, "listdir", "200")
        names = [str(e[0]) for e in res.data.get("entries", [])] if res.ok else []
    else:
        try:
            names = os.listdir(ipdir)
        except OSError:
            names = []
    profiles = sorted(n for n in names if n.startswith("profile_"))
    return profiles or ["profile_default"]


def known_databases(ctx: Context) -> list[tuple[str, str, str]]:
    """(kind, path, fix) for every SQLite database a conda user commonly has."""
    out = []
    ipdir = _ipython_dir(ctx)
    ip_fix = (
        "condashare doctor offnet.state --fix does this for you (undo: --fix --reverse). "
        "By hand: keep IPython's history on local disk: in "
        f"{ipdir}/profile_default/ipython_config.py set\n"
        "  c.HistoryManager.hist_file = '/tmp/' + __import__('getpass').getuser() + "
        "'-ipython-history.sqlite'\nor export IPYTHONDIR to a local directory."
    )
    for profile in ipython_profile_names(ctx, ipdir):
        out.append(("IPython history", os.path.join(ipdir, profile, "history.sqlite"), ip_fix))
    jdir = _jupyter_data_dir(ctx)
    j_fix = (
        "condashare doctor offnet.state --fix does this for you. By hand: point Jupyter's "
        "data directory at local disk: export "
        "JUPYTER_DATA_DIR=/local/scratch/$USER/jupyter (notebook trust database: "
        "c.NotebookNotary.db_file = ':memory:')."
    )
    out.append(("Jupyter notebook signatures", os.path.join(jdir, "nbsignatures.db"), j_fix))
    out.append(("Jupyter file ids", os.path.join(jdir, "file_id_manager.db"), j_fix))
    shared = [i.prefix for i in ctx.site.installations] if ctx.site else []
    pkgs = ctx.conda_config.user_pkgs_dir(shared)
    if pkgs:
        out.append(
            (
                "conda sharded repodata cache (WAL)",
                os.path.join(pkgs, "cache", "repodata_shards.db"),
                "Move the package cache to local disk (pkgs_dirs in ~/.condarc); the "
                "cache can be deleted safely: conda clean --index-cache",
            )
        )
    return out


def _moved_off(ctx: Context) -> set[str]:
    """Databases whose settings ``doctor offnet.state --fix`` already points at local disk."""
    from condashare.doctor import offnet

    moved: set[str] = set()
    for spot in offnet.find_spots(ctx, offnet.choose_local_root(ctx)):
        if not spot.fixed:
            continue
        if spot.kind == "ipython":
            moved.add(spot.path)
        elif spot.kind == "jupyter":
            data = offnet.jupyter_data_dir(ctx)
            moved.update(os.path.join(data, n) for n in ("nbsignatures.db", "file_id_manager.db"))
    return moved


def check_known_dbs(ctx: Context) -> list[Finding]:
    cid = "sqlite.known_dbs"
    findings: list[Finding] = []
    moved = _moved_off(ctx)
    for kind, path, fix in known_databases(ctx):
        mount = ctx.mount_of(path)
        if mount is None or not mount.is_network:
            continue
        if path in moved:
            if exists(ctx, path) != "ok":
                continue
            findings.append(
                info(
                    cid,
                    f"{kind}: {path} is no longer used (moved to local disk by offnet.state)",
                    "The old file stays where it was; delete it when you do not need it.",
                    path=path,
                    kind=kind,
                )
            )
            continue
        state = exists(ctx, path)
        if state == UNRESPONSIVE:
            findings.append(
                warning(
                    cid,
                    f"{kind}: {path} does not answer",
                    "Its share is not responding.",
                    "See condashare doctor mount.responsive.",
                    path=path,
                )
            )
        elif state == "ok":
            corrupt = os.path.join(os.path.dirname(path), "history-corrupt.sqlite")
            seen_corrupt = kind == "IPython history" and exists(ctx, corrupt) == "ok"
            extra = (
                " IPython already moved a broken copy aside (history-corrupt.sqlite)."
                if seen_corrupt
                else ""
            )
            findings.append(
                warning(
                    cid,
                    f"{kind} database on {mount.fstype}: {path}",
                    "SQLite needs working POSIX locks (and shared memory for WAL); on a network "
                    "filesystem two sessions corrupt it or fail with 'database is locked'." + extra,
                    fix,
                    path=path,
                    kind=kind,
                    fstype=mount.fstype,
                    corrupt_copy=seen_corrupt,
                )
            )
    return findings or [ok(cid, "no known SQLite database on a network filesystem")]


def check_live(ctx: Context) -> list[Finding]:
    cid = "sqlite.live"
    home = os.path.abspath(ctx.home)
    if not ctx.is_remote(home) and not ctx.deep:
        return [ok(cid, "home is on a local filesystem (live SQLite test not needed)")]
    timeout = max(ctx.timeout, 2.0) * 2
    res = run_program(sqlitetest, [home], timeout, home)
    mount = ctx.mount_of(home)
    fs = mount.fstype if mount else "?"
    data = {"path": home, "status": res.status, "fstype": fs, **res.data}
    if res.status == UNRESPONSIVE:
        return [
            error(
                cid,
                f"a SQLite write in {home} hangs",
                f"No answer in {seconds_text(timeout)} on {fs}. IPython, Jupyter and conda's "
                "repodata cache would hang the same way.",
                "Keep databases on local disk (see sqlite.known_dbs for the settings).",
                **data,
            )
        ]
    if res.status != "ok":
        return [
            error(
                cid,
                f"SQLite cannot write in {home} ({res.data.get('stage', '')}: "
                f"{res.error or res.data.get('error', '')})",
                f"On {fs}, SQLite fails: every tool keeping a database in the home fails.",
                "Keep databases on local disk (see sqlite.known_dbs).",
                **data,
            )
        ]
    if not res.data.get("lock_enforced"):
        return [
            error(
                cid,
                f"SQLite locks are not enforced in {home}",
                "A second connection could write while the first held the write lock: "
                "concurrent sessions will corrupt databases here.",
                "Keep databases on local disk (see sqlite.known_dbs).",
                **data,
            )
        ]
    return [
        ok(
            cid,
            f"SQLite write and lock work in {home} ({fs}, {seconds_text(res.latency)})",
            "Locks are only tested from this host; other hosts may still not see them.",
            **data,
        )
    ]


KNOWN_DBS = Check("sqlite.known_dbs", "sqlite", "databases on network filesystems", check_known_dbs)
LIVE = Check("sqlite.live", "sqlite", "SQLite works in the home", check_live)
