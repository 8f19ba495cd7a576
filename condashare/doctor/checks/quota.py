"""Quotas and file counts: what breaks a conda user's home first.

A home quota is hit by one conda install (a 100 000-file limit; a 20 GB ``~/.conda/pkgs``),
and the free space ``df`` shows says nothing about it. Here:

- ``space.quota``: the ``quota`` tool's block and file quotas for the filesystems of the home and
  the user's conda dirs, where the tool exists and the system has quotas. It asks the file server
  (NFS: rpc.rquotad), so it runs as a bounded command and is abandoned when the server hangs.
- ``space.inodes``: statvfs inode counts of those filesystems (always available, bounded).
- ``space.clean``: what ``conda clean --all`` would free in your package cache, computed by
  conda's own rules (:mod:`condashare.bounded.programs.condaclean`).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from condashare.bounded.commands import run_command
from condashare.bounded.liveness import error_words
from condashare.bounded.paths import run_program
from condashare.bounded.programs import condaclean
from condashare.doctor.checks._util import UNRESPONSIVE, error, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.render import human_bytes, shown
from condashare.wording import plural, seconds_text

NEAR = 0.9  # warn at 90 % of a limit
LOW_INODES = 0.05  # warn when under 5 % of a filesystem's inodes are free
BIG_CLEAN = 1 << 30  # conda clean would free over 1 GiB: worth saying as a warning
MANY_CLEAN_FILES = 20_000


@dataclass(frozen=True)
class QuotaLine:
    """One filesystem's line of ``quota -w -p`` (blocks are 1 KiB; 0 = no limit)."""

    filesystem: str
    blocks: int
    block_soft: int
    block_hard: int
    files: int
    file_soft: int
    file_hard: int
    blocks_over: bool
    files_over: bool

    def usage(self) -> list[tuple[str, int, int, bool]]:
        """(what, used, limit, over) for every limit that is set, the tightest first."""
        out = []
        kib = 1024
        space = ("space", self.blocks * kib, self.block_soft * kib, self.block_hard * kib)
        files = ("files", self.files, self.file_soft, self.file_hard)
        for (what, used, soft, hard), over in ((space, self.blocks_over), (files, self.files_over)):
            limits = [x for x in (soft, hard) if x > 0]
            if limits:
                out.append((what, used, min(limits), over))
        return out


def _number(token: str) -> tuple[int, bool] | None:
    over = token.endswith("*")
    token = token.rstrip("*")
    return (int(token), over) if token.isdigit() else None


def parse_quota(text: str) -> list[QuotaLine]:
    """Lines of Linux quota-tools' ``quota -w -p`` (heading ``Filesystem blocks quota limit
    grace files quota limit grace``; ``*`` marks a count over its soft limit; with ``-p`` each
    grace is a number of seconds, so every line has nine fields). Other lines are skipped."""
    out: list[QuotaLine] = []
    in_table = False
    for line in text.splitlines():
        fields = line.split()
        if fields[:2] == ["Filesystem", "blocks"] or fields[:2] == ["Filesystem", "space"]:
            in_table = True
            continue
        if not in_table or len(fields) != 9:
            continue
        nums = [_number(f) for f in fields[1:]]
        if any(n is None for n in nums):
            continue
        vals = [n for n in nums if n is not None]
        out.append(
            QuotaLine(
                fields[0],
                vals[0][0],
                vals[1][0],
                vals[2][0],
                vals[4][0],
                vals[5][0],
                vals[6][0],
                vals[0][1],
                vals[4][1],
            )
        )
    return out


def _places(ctx: Context) -> list[tuple[str, str]]:
    """(label, path) of the home and the user's own conda dirs, one per filesystem."""
    shared = [i.prefix for i in ctx.site.installations] if ctx.site else []
    cfg = ctx.conda_config
    places = [("home", os.path.abspath(ctx.home))]
    pkgs = cfg.user_pkgs_dir(shared)
    envs = cfg.user_envs_dir(shared)
    if pkgs:
        places.append(("package cache", pkgs))
    if envs:
        places.append(("environments", envs))
    seen: set[str] = set()
    out = []
    for label, path in places:
        mount = ctx.mount_of(path)
        key = mount.mountpoint if mount else path
        if key not in seen:
            seen.add(key)
            out.append((label, path))
    return out


def quota_findings(ctx: Context, lines: list[QuotaLine]) -> list[Finding]:
    cid = "space.quota"
    mine = {}
    for label, path in _places(ctx):
        mount = ctx.mount_of(path)
        if mount is not None:
            mine[mount.source] = (label, mount.mountpoint)
            mine[mount.mountpoint] = (label, mount.mountpoint)
    findings: list[Finding] = []
    for q in lines:
        label, where = mine.get(q.filesystem, ("filesystem", q.filesystem))
        for what, used, limit, over in q.usage():
            shown_used = human_bytes(used) if what == "space" else plural(used, "file")
            shown_limit = human_bytes(limit) if what == "space" else plural(limit, "file")
            title = f"quota on {shown(where)} ({label}): {shown_used} of {shown_limit}"
            data = {"filesystem": q.filesystem, "what": what, "used": used, "limit": limit}
            fix = (
                "Free space and files: conda clean --all; remove unused environments "
                "(conda env remove -n NAME); move the package cache and new environments to "
                "local disk: condashare doctor offnet.state --fix"
            )
            if over or used >= limit:
                findings.append(
                    error(
                        cid,
                        title + " — over the limit",
                        "Writes fail or will fail after the grace period; conda leaves "
                        "half-installed environments behind.",
                        fix,
                        **data,
                    )
                )
            elif used >= NEAR * limit:
                near = "Near the limit: the next conda install may hit it."
                findings.append(warning(cid, title, near, fix, **data))
            else:
                findings.append(ok(cid, title, **data))
    return findings


def check_quota(ctx: Context) -> list[Finding]:
    cid = "space.quota"
    tool = shutil.which("quota", path=ctx.env.get("PATH", os.defpath))
    if tool is None:
        return [info(cid, "no `quota` tool on this machine; quotas not read")]
    timeout = max(ctx.timeout * 2, 4.0)
    env = {"PATH": ctx.env.get("PATH", os.defpath), "LC_ALL": "C"}
    res = run_command([tool, "-w", "-p"], env, timeout)
    if res.status == "unresponsive":
        return [
            error(
                cid,
                f"`quota` did not answer within {seconds_text(timeout)}",
                "It asks the file server for NFS quotas (rpc.rquotad); the server is not "
                "answering.",
                "See condashare doctor mount.responsive.",
                seconds=round(res.seconds, 2),
            )
        ]
    if res.status == "error":
        return [info(cid, f"`quota` could not run: {shown(res.stderr.decode(errors='replace'))}")]
    lines = parse_quota(res.stdout.decode("utf-8", "replace"))
    if not lines:
        return [ok(cid, "no quota limits apply to you (quota -w -p lists none)")]
    return quota_findings(ctx, lines) or [ok(cid, "no quota limits apply to your dirs")]


def check_inodes(ctx: Context) -> list[Finding]:
    cid = "space.inodes"
    findings: list[Finding] = []
    for label, path in _places(ctx):
        res = run_program(condaclean, [path, "0", "0"], max(ctx.timeout, 2.0), path)
        if res.status == UNRESPONSIVE:
            findings.append(error(cid, f"{label} {path} does not answer", "See mount.responsive."))
            continue
        if res.status != "ok":
            continue  # not created yet, or unreadable: other checks say so
        counts = res.data.get("inodes")
        if not isinstance(counts, dict):
            findings.append(
                info(cid, f"{label}: the filesystem of {path} does not count files", path=path)
            )
            continue
        total, free = int(counts["total"]), int(counts["free"])
        title = f"{label}: {free} of {total} files (inodes) free on {path}'s filesystem"
        data = {"path": path, "total": total, "free": free}
        if free < LOW_INODES * total:
            findings.append(
                warning(
                    cid,
                    title,
                    "Every file of an environment takes one; conda installs fail with 'No space "
                    "left on device' although df shows free space.",
                    "conda clean --all; remove unused environments; keep environments on "
                    "local disk (condashare doctor offnet.state --fix)",
                    **data,
                )
            )
        else:
            findings.append(ok(cid, title, **data))
    return findings or [info(cid, "inode counts could not be read")]


def check_clean(ctx: Context) -> list[Finding]:
    cid = "space.clean"
    shared = [i.prefix for i in ctx.site.installations] if ctx.site else []
    pkgs = ctx.conda_config.user_pkgs_dir(shared) or os.path.join(ctx.home, ".conda", "pkgs")
    timeout = max(ctx.timeout * 2, 4.0) * (3 if ctx.deep else 1)
    limit = 2_000_000 if ctx.deep else 300_000
    res = run_program(condaclean, [pkgs, str(limit), str(timeout * 0.7)], timeout, pkgs)
    if res.status == "missing":
        return [ok(cid, f"package cache {pkgs} does not exist", path=pkgs)]
    if res.status == UNRESPONSIVE:
        return [error(cid, f"package cache {pkgs} does not answer", "See mount.responsive.")]
    if res.status != "ok":
        return [warning(cid, f"cannot scan {pkgs}: {error_words(res.errno, res.error)}")]
    parts = {k: res.data[k] for k in ("tarballs", "packages", "index_cache", "logfiles")}
    size = sum(int(p["bytes"]) for p in parts.values())
    files = sum(int(p["files"]) for p in parts.values())
    approx = "" if res.data.get("complete") else "at least "
    detail = (
        f"tarballs: {parts['tarballs']['count']} ({human_bytes(int(parts['tarballs']['bytes']))})"
        f"; unused packages: {parts['packages']['count']} "
        f"({human_bytes(int(parts['packages']['bytes']))}, {parts['packages']['files']} files)"
        f"; index cache: {human_bytes(int(parts['index_cache']['bytes']))}"
        f"; logs: {parts['logfiles']['count']}. Packages with a file hard-linked into an "
        "environment are in use and stay (conda's rule)."
    )
    freed = f"{approx}{human_bytes(size)} ({plural(files, 'file')})"
    title = f"conda clean --all would free {freed} in {pkgs}"
    data = {"path": pkgs, "bytes": size, "files": files, **parts}
    if size > BIG_CLEAN or files > MANY_CLEAN_FILES:
        return [warning(cid, title, detail, "conda clean --all", **data)]
    return [ok(cid, title, detail, **data)]


QUOTA = Check("space.quota", "space", "quotas of your home and conda dirs", check_quota)
INODES = Check("space.inodes", "space", "free files (inodes)", check_inodes)
CLEAN = Check("space.clean", "space", "what conda clean would free", check_clean, budget=15)
