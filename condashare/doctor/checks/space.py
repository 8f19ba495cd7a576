"""Disk space: how big your package cache and environments are, and how much room is left.

Sizes come from a bounded walk in a child process (hard links counted once, like ``du``); when
the walk stops early the size is reported as "at least".
"""

from __future__ import annotations

import os

from condashare.bounded.liveness import error_words
from condashare.bounded.paths import run_program
from condashare.bounded.programs import diskusage
from condashare.doctor.checks._util import UNRESPONSIVE, error, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.render import human_bytes, shown

GIB = 1 << 30
BIG_PKGS = 5 * GIB  # a package cache beyond this is worth a `conda clean`
BIG_ENVS = 20 * GIB
LOW_FREE = 1 * GIB  # below this, conda install fails half-way
TIGHT_FREE = 5 * GIB


def measure(
    path: str, timeout: float, max_entries: int, free_only: bool = False
) -> dict[str, object]:
    res = run_program(
        diskusage,
        [path, str(max_entries), str(timeout * 0.7), "free" if free_only else "du"],
        timeout,
        path,
    )
    return {"status": res.status, "error": res.error, "errno": res.errno, "path": path, **res.data}


def _size_check(ctx: Context, cid: str, path: str, what: str, big: int, fix: str) -> list[Finding]:
    timeout = max(ctx.timeout * 2, 4.0) * (3 if ctx.deep else 1)
    m = measure(path, timeout, 2_000_000 if ctx.deep else 200_000)
    if m["status"] == "missing":
        return [ok(cid, f"{what} {path} does not exist", path=path)]
    if m["status"] == UNRESPONSIVE:
        return [error(cid, f"{what} {path} does not answer", "See mount.responsive.", **m)]
    if m["status"] != "ok":
        words = error_words(m.get("errno"), str(m["error"]))
        return [warning(cid, f"cannot measure {what} {path}: {words}", **m)]
    size = int(str(m["bytes"]))
    approx = "" if m["complete"] else "at least "
    largest = m.get("largest")
    detail = ""
    if isinstance(largest, list) and largest:
        detail = shown("Largest: " + ", ".join(f"{n} {human_bytes(b)}" for n, b in largest[:5]))
    files = f" in {approx}{m['entries']} files" if "entries" in m else ""
    if size > big:
        title = f"{what} {path} uses {approx}{human_bytes(size)}{files}"
        return [warning(cid, title, detail, fix, **m)]
    return [ok(cid, f"{what} {path}: {approx}{human_bytes(size)}{files}", detail, **m)]


def _shared(ctx: Context) -> list[str]:
    return [i.prefix for i in ctx.site.installations] if ctx.site else []


def check_user_pkgs(ctx: Context) -> list[Finding]:
    path = ctx.conda_config.user_pkgs_dir(_shared(ctx)) or os.path.join(ctx.home, ".conda", "pkgs")
    return _size_check(
        ctx,
        "space.user_pkgs",
        path,
        "package cache",
        BIG_PKGS,
        "Free it: conda clean --all   (removes unused packages, tarballs and index caches; "
        "environments keep working). Or move it to local scratch with pkgs_dirs in ~/.condarc.",
    )


def check_user_envs(ctx: Context) -> list[Finding]:
    path = os.path.join(ctx.home, ".conda", "envs")
    return _size_check(
        ctx,
        "space.user_envs",
        path,
        "your environments in",
        BIG_ENVS,
        "List them with `conda env list` and remove unused ones: conda env remove -n NAME. "
        "Use the shared environments where they fit.",
    )


def check_free(ctx: Context) -> list[Finding]:
    cid = "space.free"
    places = [("home", ctx.home)]
    pkgs = ctx.conda_config.user_pkgs_dir(_shared(ctx))
    if pkgs and ctx.mount_of(pkgs) != ctx.mount_of(ctx.home):
        places.append(("package cache", pkgs))
    findings: list[Finding] = []
    for label, path in places:
        m = measure(path, max(ctx.timeout, 2.0), 0, free_only=True)
        if m["status"] == UNRESPONSIVE:
            findings.append(
                error(cid, f"{label} {path} does not answer", "See mount.responsive.", **m)
            )
            continue
        if m["status"] != "ok":
            continue
        free, total = int(str(m["free"])), int(str(m["total"]))
        pct = 100 * free / total if total else 100.0
        text = f"{label}: {human_bytes(free)} free of {human_bytes(total)} ({pct:.0f}%)"
        fix = (
            "Free space: conda clean --all; remove unused environments (conda env remove "
            "-n NAME); check your quota with `quota -s` where available."
        )
        if free < LOW_FREE:
            findings.append(
                error(
                    cid,
                    text,
                    "conda installs fail half-way when space runs out, "
                    "leaving broken environments.",
                    fix,
                    **m,
                )
            )
        elif free < TIGHT_FREE or pct < 5:
            findings.append(warning(cid, text, "Space is getting tight for conda.", fix, **m))
        else:
            findings.append(ok(cid, text, **m))
    return findings or [info(cid, "free space could not be read")]


USER_PKGS = Check(
    "space.user_pkgs", "space", "size of your package cache", check_user_pkgs, budget=15
)
USER_ENVS = Check(
    "space.user_envs", "space", "size of your environments", check_user_envs, budget=15
)
FREE = Check("space.free", "space", "free space", check_free)
