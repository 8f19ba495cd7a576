"""The texts users read: observations of a verify run turned into findings with fixes.

Every finding id is ``integrity.<what>``, the same in ``condashare verify``, in the doctor's
``integrity.files`` check and in the conda plugin (``condashare-integrity``).
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Sequence
from typing import Any

from condashare.bounded.errnos import error_words
from condashare.findings import Finding, Severity
from condashare.host.mounts import Mount, mount_for
from condashare.render import human_bytes, shell_word, shown
from condashare.verify.holders import find_holders
from condashare.verify.observations import Observations, PackageProblems
from condashare.wording import agree, plural, seconds_text

MAX_FILES_PER_FINDING = 200
DETAIL_LINES = 8


def _split_dist(dist: str) -> tuple[str, str, str]:
    parts = dist.rsplit("-", 2)
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return dist, "", ""


def spec_of(info: dict[str, Any], dist: str) -> str:
    name, version, build = _split_dist(dist)
    name = info.get("name") or name
    version = info.get("version") or version
    build = info.get("build") or build
    return f"{name}={version}={build}" if version and build else str(name)


def quoted(path: str) -> str:
    """A path or spec for a command the user copies: quoted, and escaped if it must be."""
    return shell_word(path)


_PROBLEM_WORDS = {
    "missing": "missing",
    "size": "wrong size",
    "hash": "content altered (sha256)",
    "md5": "content altered (md5)",
    "broken-symlink": "broken symlink",
    "unreadable": "unreadable",
    "not-file": "not a regular file",
    "not-symlink": "should be a symlink",
}


def _describe(problem: dict[str, Any]) -> str:
    word = _PROBLEM_WORDS.get(problem.get("problem", ""), problem.get("problem", "?"))
    text = f"{problem.get('path')}: {word}"
    if "expected" in problem or "found" in problem:
        exp, found = problem.get("expected"), problem.get("found")
        if problem.get("problem") in ("hash", "md5"):
            exp, found = str(exp)[:12] + "…", str(found)[:12] + "…"
        if "expected" in problem:
            text += f" (expected {exp}, found {found})"
        else:
            text += f" ({found})"
    if problem.get("note"):
        text += f" [{problem['note']}]"
    return text


_SHORT_WORDS = {"hash": "altered", "md5": "altered", "not-file": "not a file"}


def _summary(problems: list[dict[str, Any]], total: int) -> str:
    counts = collections.Counter(
        _SHORT_WORDS.get(p["problem"]) or _PROBLEM_WORDS.get(p["problem"], p["problem"])
        for p in problems
    )
    parts = [f"{n} {word}" for word, n in counts.most_common()]
    if total > len(problems):
        parts.append(f"{total - len(problems)} more")
    return ", ".join(parts)


def _detail(problems: list[dict[str, Any]], total: int) -> str:
    lines = [shown(_describe(p)) for p in problems[:DETAIL_LINES]]
    if total > DETAIL_LINES:
        lines.append(f"... and {total - DETAIL_LINES} more (see --json)")
    return "\n".join(lines)


def _env_finding(entry: PackageProblems) -> Finding:
    prefix, dist = entry.target, entry.dist
    spec = spec_of(entry.info, dist)
    fix = f"conda install -p {quoted(prefix)} --force-reinstall {quoted(spec)}"
    source = entry.info.get("source")
    shared_inode = any(
        p.get("nlink", 1) > 1 and p["problem"] in ("hash", "size", "md5") for p in entry.problems
    )
    detail = _detail(entry.problems, entry.count)
    if shared_inode and source:
        detail += (
            "\nThe damaged files are hardlinked (link count > 1): the package cache "
            f"copy in {shown(source)} is damaged too, and conda would link it again."
        )
        fix = f"rm -rf {quoted(source)} && {fix}"
    severity = Severity.ERROR
    return Finding(
        check="integrity.env-files",
        severity=severity,
        title=f"{dist} in {prefix}: {_summary(entry.problems, entry.count)}",
        detail=detail,
        fix=fix,
        data={
            "prefix": prefix,
            "package": dist,
            "spec": spec,
            "count": entry.count,
            "files": entry.problems,
        },
    )


def incomplete_finding(title: str, detail: str = "", fix: str = "", **data: Any) -> Finding:
    """Something could not be verified at all (an error, a dead worker): the run is incomplete."""
    return Finding(
        check="integrity.incomplete",
        severity=Severity.ERROR,
        title=title,
        detail=detail,
        fix=fix,
        data=data,
    )


def record_finding(prefix: str, dist: str, error: str) -> Finding:
    rec = os.path.join(prefix, "conda-meta", dist + ".json")
    name, version, build = _split_dist(dist)
    spec = f"{name}={version}={build}" if version and build else name
    return Finding(
        check="integrity.env-record",
        severity=Severity.ERROR,
        title=f"{dist} in {prefix}: conda-meta record is unreadable",
        detail=shown(f"{rec}: {error}. conda cannot list, update or remove this package."),
        fix=(
            f"mv {quoted(rec)} {quoted(rec + '.broken')} && "
            f"conda install -p {quoted(prefix)} --force-reinstall {quoted(spec)}"
        ),
        data={"prefix": prefix, "package": dist, "record": rec, "error": error},
    )


def _cache_finding(entry: PackageProblems, writable: bool | None) -> Finding:
    pkgs, dist = entry.target, entry.dist
    base = os.path.join(pkgs, dist)
    archive_only = all(
        p.get("archive") or p["problem"] == "md5" or p["path"].endswith((".conda", ".tar.bz2"))
        for p in entry.problems
    )
    where = "archive" if archive_only else "extracted package"
    remove = f"rm -rf {quoted(base)} {quoted(base + '.conda')} {quoted(base + '.tar.bz2')}"
    if writable is False:
        fix = (
            f"This cache is read-only to you (shared): ask its admins to run `{remove}`; "
            "meanwhile keep your own writable pkgs dir first in pkgs_dirs."
        )
    else:
        fix = f"{remove}   # conda downloads and extracts it again when needed"
    detail = _detail(entry.problems, entry.count)
    if not archive_only:
        detail += (
            "\nEnvironments that hardlink these files share the damage; "
            "verify them and reinstall the package there after removing this entry."
        )
    return Finding(
        check="integrity.cache-files",
        severity=Severity.ERROR,
        title=f"{dist} in package cache {pkgs}: {where} damaged "
        f"({_summary(entry.problems, entry.count)})",
        detail=detail,
        fix=fix,
        data={"pkgs_dir": pkgs, "package": dist, "count": entry.count, "files": entry.problems},
    )


def _max_age(cache_control: Any) -> float | None:
    match = re.search(r"max-age=(\d+)", str(cache_control or ""))
    return float(match.group(1)) if match else None


def finish(
    seen: Observations,
    *,
    timeout: float,
    mounts: Sequence[Mount],
    now_ns: int,
    repodata_ttl: int,
    very_old_days: float,
) -> None:
    """Turn collected observations into findings (the parts that need the whole picture)."""
    findings = seen.findings
    _package_findings(seen)
    _unresponsive_findings(seen, timeout)
    _failing_findings(seen)
    _artefact_findings(seen)
    for pkgs, state in seen.caches.items():
        findings.extend(
            _cache_state_findings(pkgs, state, mounts, now_ns, repodata_ttl, very_old_days)
        )


def _package_findings(seen: Observations) -> None:
    """One finding per damaged package (env files or cache entry)."""
    findings = seen.findings
    for entry in seen.pkg.values():
        if entry.area == "env":
            findings.append(_env_finding(entry))
        else:
            writable = seen.caches.get(entry.target, {}).get("writable")
            findings.append(_cache_finding(entry, writable))


def _unresponsive_findings(seen: Observations, timeout: float) -> None:
    """One finding per target with tasks that got no answer."""
    for top, paths in seen.unresponsive.items():
        listed = paths[:DETAIL_LINES]
        more = f"\n... and {len(paths) - len(listed)} more" if len(paths) > len(listed) else ""
        seen.findings.append(
            Finding(
                check="integrity.unresponsive",
                severity=Severity.ERROR,
                title=f"{top}: unresponsive (no answer in {seconds_text(timeout)}); "
                f"{plural(len(paths), 'item')} not verified",
                detail="\n".join(map(shown, listed)) + more,
                fix="The filesystem stopped answering (a hung NFS server?). Check it with "
                "`condashare info`, then run verify again when it is back.",
                data={"path": top, "items": paths[:MAX_FILES_PER_FINDING], "count": len(paths)},
            )
        )


def _failing_findings(seen: Observations) -> None:
    """One finding per target with files a failing share would not let us read: nothing is
    known about those files, so this is "could not verify", never "damaged" or "missing"."""
    for top, items in seen.failing.items():
        errs = collections.Counter(err for _, err in items)
        words = "; ".join(error_words(err) for err, _ in errs.most_common())
        listed = [shown(f"{path}: {error_words(err)}") for path, err in items[:DETAIL_LINES]]
        if len(items) > DETAIL_LINES:
            listed.append(f"... and {len(items) - DETAIL_LINES} more")
        seen.findings.append(
            incomplete_finding(
                f"{top}: {plural(len(items), 'item')} not verified, the share fails: {words}",
                detail="\n".join(listed),
                fix="The filesystem answers but fails these (a stale file handle: the server "
                "replaced them while this client held them; an I/O error: the server or its "
                "disk). Check it with `condashare info`, then run verify again.",
                path=top,
                count=len(items),
                items=[{"path": p, "errno": e} for p, e in items[:MAX_FILES_PER_FINDING]],
            )
        )


def _artefact_findings(seen: Observations) -> None:
    """NFS silly-rename files and conda trash, with who holds them open."""
    real = seen.real_paths
    found = find_holders([real.get(a[1], a[1]) for a in seen.artefacts])
    holders = {a[1]: found.get(real.get(a[1], a[1]), []) for a in seen.artefacts}
    by_top: dict[str, list[tuple[str, str, int, bool]]] = collections.defaultdict(list)
    for art in seen.artefacts:
        by_top[art[0]].append(art)
    for top, arts in by_top.items():
        count, nbytes = seen.artefact_counts.get(top, (len(arts), sum(a[2] for a in arts)))
        items: list[dict[str, Any]] = []
        lines: list[str] = []
        for _, path, size, is_dir in arts:
            who = holders.get(path, [])
            items.append({"path": path, "bytes": size, "dir": is_dir, "held_by": who})
            if len(lines) < DETAIL_LINES:
                held = ("held open by " + ", ".join(who)) if who else "no process here holds it"
                lines.append(shown(f"{path} ({human_bytes(size)}; {held})"))
        if count > len(lines):
            lines.append(f"... and {count - len(lines)} more")
        any_held = any(i["held_by"] for i in items)
        seen.findings.append(
            Finding(
                check="integrity.nfs-artefacts",
                severity=Severity.WARNING,
                title=f"{top}: {plural(count, 'NFS/conda leftover file')} (.nfs*, *.conda_trash), "
                f"{human_bytes(nbytes)}",
                detail="\n".join(lines) + "\n.nfs* files are files deleted while a process still "
                "had them open (NFS 'silly rename'); conda does not recognise them and "
                "fails to remove their directories ('Device or resource busy').",
                fix=(
                    "Quit the processes holding them (the NFS client then deletes them); "
                    if any_held
                    else ""
                )
                + "a leftover nobody holds (check other hosts: `lsof PATH` there) can be removed "
                "with `rm PATH`; `conda clean --all` removes *.conda_trash in writable caches.",
                data={"path": top, "count": count, "bytes": nbytes, "items": items},
            )
        )


def _cache_state_findings(
    pkgs: str,
    state: dict[str, Any],
    mounts: Sequence[Mount],
    now_ns: int,
    repodata_ttl: int,
    very_old_days: float,
) -> list[Finding]:
    """A package cache's partial extractions, entries without record, leftovers, repodata."""
    findings: list[Finding] = []
    writable = state.get("writable")
    partial = state.get("partial", [])
    if partial:
        nbytes = sum(p[2] for p in partial)
        findings.append(
            Finding(
                check="integrity.cache-partial",
                severity=Severity.WARNING,
                title=f"{pkgs}: {plural(len(partial), 'partial extraction')}, "
                f"{human_bytes(nbytes)}",
                detail="\n".join(shown(f"{d}: {why}") for d, why, _ in partial[:DETAIL_LINES]),
                fix=" && ".join(
                    f"rm -rf {quoted(os.path.join(pkgs, d))}" for d, _, _ in partial[:DETAIL_LINES]
                ),
                data={
                    "pkgs_dir": pkgs,
                    "items": [{"package": d, "reason": why, "bytes": b} for d, why, b in partial],
                },
            )
        )
    no_record = state.get("no_record", [])
    if no_record:
        findings.append(
            Finding(
                check="integrity.cache-record",
                severity=Severity.WARNING,
                title=f"{pkgs}: {plural(len(no_record), 'extracted package')} without a usable "
                "info/repodata_record.json",
                detail="\n".join(shown(f"{d}: {why}") for d, why in no_record[:DETAIL_LINES]),
                fix=" && ".join(
                    f"rm -rf {quoted(os.path.join(pkgs, d))}" for d, _ in no_record[:DETAIL_LINES]
                ),
                data={
                    "pkgs_dir": pkgs,
                    "items": [{"package": d, "reason": why} for d, why in no_record],
                },
            )
        )
    trash = int(state.get("trash_bytes", 0))
    downloads = state.get("partial_downloads", [])
    dl_bytes = sum(int(s) for _, s in downloads)
    reclaim = trash + dl_bytes + sum(p[2] for p in partial)
    if reclaim or state.get("trash_items"):
        findings.append(
            Finding(
                check="integrity.cache-reclaimable",
                severity=Severity.INFO,
                title=f"{pkgs}: {human_bytes(reclaim)} reclaimable "
                f"(.trash {human_bytes(trash)}, partial downloads "
                f"{human_bytes(dl_bytes)}, partial extractions "
                f"{human_bytes(sum(p[2] for p in partial))})",
                fix=(
                    f"rm -rf {quoted(os.path.join(pkgs, '.trash'))}/* while no conda runs; "
                    "`conda clean --all` also removes unused packages and tarballs"
                )
                if writable is not False
                else "shared cache: tell its admins",
                data={
                    "pkgs_dir": pkgs,
                    "bytes": reclaim,
                    "trash_bytes": trash,
                    "partial_download_bytes": dl_bytes,
                },
            )
        )
    stale, old = [], []
    for item in state.get("repodata", []):
        ref = item.get("state_refresh_ns") or item.get("mtime_ns")
        if not isinstance(ref, (int, float)):
            continue
        age = (now_ns - ref) / 1e9
        ttl = (
            float(repodata_ttl)
            if repodata_ttl > 1
            else (_max_age(item.get("state_cache_control")) or 0.0)
            if repodata_ttl == 1
            else 0.0
        )
        aged = {
            "path": item["path"],
            "url": item.get("state_url"),
            "age_days": round(age / 86400, 1),
            "ttl_s": ttl,
        }
        if age > very_old_days * 86400:
            old.append(aged)
        elif age > ttl:
            stale.append(aged)
    if old:
        findings.append(
            Finding(
                check="integrity.repodata-old",
                severity=Severity.WARNING,
                title=f"{pkgs}: {plural(len(old), 'repodata cache')} older than "
                f"{very_old_days:g} days",
                detail="\n".join(
                    shown(f"{o['url'] or o['path']}: {o['age_days']} days old")
                    for o in old[:DETAIL_LINES]
                )
                + (
                    "\nNobody can refresh them in a read-only cache: offline solves there "
                    "see an old channel."
                    if writable is False
                    else ""
                ),
                fix="conda clean --index-cache"
                if writable is not False
                else "shared cache: ask its admins to run `conda clean --index-cache`",
                data={"pkgs_dir": pkgs, "items": old},
            )
        )
    if stale:
        findings.append(
            Finding(
                check="integrity.repodata-stale",
                severity=Severity.INFO,
                title=f"{pkgs}: {plural(len(stale), 'repodata cache')} past their TTL "
                "(conda refreshes them on the next online solve)",
                detail="\n".join(
                    shown(f"{s['url'] or s['path']}: {s['age_days']} days old")
                    for s in stale[:DETAIL_LINES]
                ),
                fix="nothing needed online; `conda clean --index-cache` forces a refresh",
                data={"pkgs_dir": pkgs, "items": stale},
            )
        )
    shards = state.get("shards")
    if shards:
        mount = mount_for(shards, mounts)
        if mount is not None and mount.is_network:
            findings.append(
                Finding(
                    check="integrity.repodata-shards",
                    severity=Severity.WARNING,
                    title=f"{shards} is SQLite in WAL mode on a network filesystem "
                    f"({mount.fstype})",
                    detail="WAL needs shared memory between processes of one host; on NFS it "
                    "corrupts or locks up when two hosts use it.",
                    fix="put the writable package cache on a local disk (pkgs_dirs in "
                    "~/.condarc) or remove the file: rm " + quoted(shards),
                    data={"path": shards, "fstype": mount.fstype},
                )
            )
    return findings


def shared_link_finding(
    env: str, caches: list[str], why: dict[str, str], packages: list[str]
) -> Finding:
    """``env`` links ``packages`` from the shared ``caches`` (``why``: what makes each shared)."""
    return Finding(
        check="integrity.shared-cache-link",
        severity=Severity.INFO,
        title=f"{env}: {plural(len(packages), 'package')} linked straight from a shared cache",
        detail="\n".join(shown(f"{c}: {why[c]}") for c in caches)
        + "\nconda links any matching extracted package from any pkgs dir, shared "
        "ones included; damage there reaches this environment.",
        fix="",
        data={"prefix": env, "pkgs_dirs": caches, "packages": packages},
    )


def shared_only_finding(env: str, only: list[tuple[str, str]], user_cache: str) -> Finding:
    """Builds (dist, spec) of ``env`` that no cache of the user's holds."""
    specs = " ".join(quoted(s) for _, s in only[:20])
    return Finding(
        check="integrity.shared-only-build",
        severity=Severity.WARNING,
        title=f"{env}: {plural(len(only), 'build')} "
        f"{agree(len(only), 'exists', 'exist')} only in a shared cache",
        detail="\n".join(shown(d) for d, _ in only[:DETAIL_LINES])
        + ("\n..." if len(only) > DETAIL_LINES else "")
        + "\nThese builds came from a shared cache, not from your channels: "
        "old packages leak into new environments this way (offline solves "
        "treat every cache as a channel).",
        fix=f"CONDA_PKGS_DIRS={quoted(user_cache or '~/.conda/pkgs')} conda install "
        f"-p {quoted(env)} --force-reinstall {specs}   # fails if the build is gone from your "
        "channels: then update the package instead",
        data={"prefix": env, "packages": [d for d, _ in only]},
    )
