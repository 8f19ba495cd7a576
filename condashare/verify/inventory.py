"""Worker ops that take stock: what a path is, leftovers in a tree, a package cache's contents.

Runs only in worker processes (standard library only). Answers are raw observations; the
coordinator (:mod:`condashare.verify.collect`) decides what they mean.
"""

from __future__ import annotations

import errno as errno_mod
import json
import os
import re
import stat
import time
from typing import Any

from condashare.verify.protocol import Task
from condashare.verify.reader import (
    ABSENT,
    MAX_ITEMS,
    Reader,
    is_kind,
    lsize,
    oserr,
    tree_size,
)


def classify(w: Reader, task: Task) -> dict[str, Any]:
    """What is PATH: environment, package cache, installation root, or none of these.

    Only "does not exist" (ENOENT, ENOTDIR) counts as absent: an error such as ESTALE, EIO
    or ENOTCONN on a marker means the share failed, which is reported, never taken for
    "not a conda environment".
    """
    path = task["path"]
    try:
        return _classify(path)
    except OSError as exc:
        return {
            "kind": "missing" if exc.errno == errno_mod.ENOENT else "error",
            "reason": oserr(exc),
            "errno": exc.errno,
        }


def _classify(path: str) -> dict[str, Any]:
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        return {"kind": "none", "reason": "not a directory"}
    meta = os.path.join(path, "conda-meta")
    has_meta = is_kind(meta, stat.S_ISDIR)
    pkgs = os.path.join(path, "pkgs")
    envs_dir = os.path.join(path, "envs")
    is_cache = is_kind(os.path.join(path, "urls.txt"), stat.S_ISREG)
    if not is_cache and not has_meta:
        is_cache = _has_extracted_entry(path)
    result: dict[str, Any] = {"kind": "none", "uid": st.st_uid}
    has_pkgs = has_meta and is_kind(pkgs, stat.S_ISDIR)
    if has_meta and (has_pkgs or is_kind(envs_dir, stat.S_ISDIR)):
        envs = []
        try:
            with os.scandir(envs_dir) as it:
                for entry in it:
                    if not entry.name.startswith(".") and os.path.isdir(
                        os.path.join(entry.path, "conda-meta")
                    ):
                        envs.append(entry.path)
        except OSError:
            pass
        result.update(kind="root", envs=sorted(envs), pkgs=pkgs if has_pkgs else None)
    elif has_meta:
        result["kind"] = "env"
    elif is_cache:
        result["kind"] = "cache"
    if has_meta:
        result["writable"] = os.access(meta, os.W_OK)
    return result


def env(w: Reader, task: Task) -> dict[str, Any]:
    """The records of an environment (names only; each is verified as its own task)."""
    meta = os.path.join(task["path"], "conda-meta")
    names = sorted(n for n in os.listdir(meta) if n.endswith(".json"))
    return {"records": names}


# a walk that listed this many directories and took this long answers with the directories
# it has not listed yet ("rest"), which the coordinator splits among the workers: on a share
# with a latency per operation one worker alone would walk the tree for longer than all the
# records take. Time decides, not a count: where listing a directory costs tens of ms (a
# share with a latency per operation that lists without file types, as NFSv3 READDIR or the
# test share do, so every entry is stat'ed), 32 directories before the first hand-back kept
# one worker walking for 2 s while the others idled (docs/performance.md); a local walk
# never takes the 0.25 s.
WALK_SLICE_DIRS = 1
WALK_SLICE_SECONDS = 0.25


def walk(w: Reader, task: Task) -> dict[str, Any]:
    """Every NFS silly-rename file and conda trash file below a tree (or below ``paths``,
    directories of it that an earlier slice of the walk did not list).

    A directory's mtime/ctime change whenever an entry is created, removed or renamed in
    it (an NFS silly rename is a rename), so a directory whose stat is unchanged since the
    last walk still has the same subdirectories and leftovers: with the cache warm, the
    walk stats directories instead of listing them.
    """
    root = task["path"]
    w.open_cache(task.get("cache", ""))
    known = _known_dirs(w, root)
    started = time.monotonic()
    listed = 0
    found: list[list[Any]] = []
    count = 0
    nbytes = 0
    errors: list[str] = []
    changed: list[list[Any]] = []
    stack = list(task.get("paths") or [root])
    remember = w.db is not None  # without a cache, directory keys serve nothing
    key = ""
    while stack:
        if (
            listed >= WALK_SLICE_DIRS
            and len(stack) > 1
            and (time.monotonic() - started > WALK_SLICE_SECONDS)
        ):
            break  # a slow share: hand the rest back, to be walked by every worker
        top = stack.pop()
        listed += 1
        if remember:
            try:
                st = os.lstat(top)
            except OSError as exc:
                if len(errors) < 20:
                    errors.append(f"{top}: {oserr(exc)}")
                continue
            key = f"{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}"
        row = known.get(top)
        if row is not None and row[0] == key:
            subdirs = row[1].split("\0") if row[1] else []
            arts = [(name, is_dir) for name, is_dir in json.loads(row[2])] if row[2] else []
            stack.extend(os.path.join(top, d) for d in subdirs)
        else:
            arts = []
            entries: list[os.DirEntry[str]] = []  # the subdirectories
            try:
                with os.scandir(top) as it:
                    for entry in it:
                        name = entry.name
                        try:
                            is_dir = entry.is_dir(follow_symlinks=False)
                        except OSError:
                            is_dir = False
                        # a cheap test first (this runs for every entry): every leftover
                        # name starts with a dot or ends in .conda_trash
                        if (name.startswith(".") or name.endswith(".conda_trash")) and (
                            _is_artefact(name)
                        ):
                            arts.append((name, is_dir))
                        elif is_dir:
                            entries.append(entry)
            except OSError as exc:
                if len(errors) < 20:
                    errors.append(f"{top}: {oserr(exc)}")
                continue
            # an entry's path is top joined with its name, without a join call per directory
            stack.extend([entry.path for entry in entries])
            if remember and len(changed) < 200_000:
                names = "\0".join([entry.name for entry in entries])
                changed.append([root, top, key, names, json.dumps(arts) if arts else ""])
        for name, is_dir in arts:
            full = os.path.join(top, name)
            size = tree_size(full) if is_dir else lsize(full)
            count += 1
            nbytes += size
            if len(found) < MAX_ITEMS:
                # the kernel names open files by their real path: give it for matching
                found.append([full, size, is_dir, os.path.realpath(full)])
        w.beat()
    return {
        "artefacts": found,
        "count": count,
        "bytes": nbytes,
        "errors": errors,
        "dirs": changed,
        "rest": stack,
    }


def _known_dirs(w: Reader, root: str) -> dict[str, tuple[str, str, str]]:
    if w.db is None:
        return {}
    import sqlite3  # loaded by the reader's open_cache

    try:
        rows = w.db.execute(
            "SELECT path, key, subdirs, arts FROM dirs WHERE root=?", (root,)
        ).fetchall()
    except (sqlite3.Error, ValueError):  # ValueError: a root SQLite cannot hold (surrogate)
        return {}
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def cache(w: Reader, task: Task) -> dict[str, Any]:
    """Inventory of a package cache: extracted entries, leftovers, repodata cache state."""
    pkgs = task["path"]
    entries: list[str] = []
    lone_archives: list[str] = []
    partial_downloads: list[list[Any]] = []
    failing: list[list[Any]] = []
    names = set(os.listdir(pkgs))
    for name in sorted(names):
        full = os.path.join(pkgs, name)
        if name in ("cache", ".trash") or name.startswith(".nfs"):
            continue
        if name.endswith(".conda_trash"):
            continue  # reported by the walk, with its holders
        try:
            is_entry = stat.S_ISDIR(os.lstat(full).st_mode)
        except OSError as exc:
            if exc.errno not in ABSENT:  # a failing share is not "no such entry"
                failing.append([name, oserr(exc), exc.errno])
            continue
        if is_entry:
            entries.append(name)
        elif name.endswith((".partial", ".tmp")):
            partial_downloads.append([full, lsize(full)])
        elif name.endswith((".conda", ".tar.bz2")):
            dist = name[: -len(".conda")] if name.endswith(".conda") else name[:-8]
            if dist not in names:
                lone_archives.append(name)
    trash = os.path.join(pkgs, ".trash")
    trash_bytes = tree_size(trash) if os.path.isdir(trash) else 0
    trash_items = len(os.listdir(trash)) if os.path.isdir(trash) else 0
    urls_txt = os.path.join(pkgs, "urls.txt")
    writable = os.access(urls_txt, os.W_OK) if os.path.isfile(urls_txt) else None
    repodata: list[dict[str, Any]] = []
    cache_dir = os.path.join(pkgs, "cache")
    shards = None
    if os.path.isdir(cache_dir):
        for name in sorted(os.listdir(cache_dir)):
            full = os.path.join(cache_dir, name)
            if name == "repodata_shards.db" or name.endswith("shards.db"):
                shards = full
            if not name.endswith(".info.json") or len(repodata) >= MAX_ITEMS:
                continue
            item: dict[str, Any] = {"path": full}
            try:
                st = os.stat(full)
                item["mtime_ns"] = st.st_mtime_ns
                with open(full, "rb") as fh:
                    state = json.loads(fh.read())
                for key in ("url", "refresh_ns", "cache_control", "mtime_ns"):
                    if key in state:
                        item["state_" + key] = state[key]
            except (OSError, ValueError) as exc:
                item["error"] = str(exc)
            repodata.append(item)
    return {
        "entries": entries,
        "failing": failing[:MAX_ITEMS],
        "lone_archives": lone_archives[:MAX_ITEMS],
        "partial_downloads": partial_downloads[:MAX_ITEMS],
        "trash_bytes": trash_bytes,
        "trash_items": trash_items,
        "urls_txt": os.path.isfile(urls_txt),
        "writable": writable,
        "repodata": repodata,
        "shards": shards,
    }


def exists(w: Reader, task: Task) -> dict[str, Any]:
    """Which of these paths exist (used to ask whether a build is in the user's caches)."""
    found = []
    for path in task["paths"]:
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno in ABSENT:
                continue
        found.append(path)  # a failing share proves nothing: never "exists only elsewhere"
    return {"exists": found}


def writable(w: Reader, task: Task) -> dict[str, Any]:
    """Is each package cache writable (its ``urls.txt`` opens for append, as conda asks)?"""
    out = {}
    for pkgs in task["paths"]:
        marker = os.path.join(pkgs, "urls.txt")
        if os.path.isfile(marker):  # no urls.txt: not a conda cache (or gone): no verdict
            out[pkgs] = os.access(marker, os.W_OK)
    return {"writable": out}


_SILLY = re.compile(r"\.nfs[0-9A-Fa-f.]{8,}\Z")  # Linux: .nfs + 24 hex digits; macOS/BSD: dots
_FUSE_HIDDEN = re.compile(r"\.fuse_hidden[0-9A-Fa-f]{16}\Z")  # libfuse (sshfs ...): same idea


def _is_artefact(name: str) -> bool:
    """A silly-rename file (NFS ``.nfs0000…``, FUSE ``.fuse_hidden…``) or conda's trash."""
    if name.startswith(".nfs"):
        return _SILLY.match(name) is not None
    if name.startswith(".fuse_hidden"):
        return _FUSE_HIDDEN.match(name) is not None
    return name.endswith(".conda_trash")


def _has_extracted_entry(path: str) -> bool:
    try:
        with os.scandir(path) as it:
            for n, entry in enumerate(it):
                if n > 5000:
                    break
                if is_kind(os.path.join(entry.path, "info", "paths.json"), stat.S_ISREG):
                    return True
    except OSError as exc:
        if exc.errno in ABSENT:
            return False
        raise
    return False
