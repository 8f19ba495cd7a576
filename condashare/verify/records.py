"""Worker ops that check files against conda's records: env records, cache entries, big files.

Runs only in worker processes (standard library only). Quick mode stats every recorded file;
deep mode also hashes it. Answers list what was expected and what was found; the texts of
findings are the coordinator's (:mod:`condashare.verify.findings`).
"""

from __future__ import annotations

import array
import collections
import json
import os
import stat
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from condashare.verify.protocol import Task
from condashare.verify.reader import (
    ABSENT,
    BUFFER,
    CACHE_MIN_BYTES,
    DEFER_BYTES,
    MAX_ITEMS,
    O_CLOEXEC,
    SKIP_SUFFIXES,
    Reader,
    fp_add,
    is_kind,
    key_text,
    oserr,
    read_all,
    tree_size,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

UNLISTED_NOTE = "in the record's files but not in its paths_data"

# Off local disk every stat waits for the server, so a record's first pass keeps up to
# SHARE_STAT_THREADS stats in flight (stat drops the GIL): one big record (python's thousands
# of files) is then not one worker's serial wait while the others run out of work. Local disks
# answer from the page cache faster than threads would pay for themselves.
SHARE_STAT_THREADS = 8
SHARE_STAT_MIN = 64  # files in a record before its stats are issued ahead
SHARE_STAT_WINDOW = 256  # stats issued, not yet taken


class _StatsAhead:
    """``os.stat`` for one pass over a record's files in their order, answered by stats issued
    ahead on a thread pool (not following symlinks), at most SHARE_STAT_WINDOW paths ahead so
    that a record of 100k files holds no 100k pending stats; any other call is a plain stat."""

    def __init__(self, rels: list[str], dfd: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(SHARE_STAT_THREADS)
        self.dfd = dfd
        self.todo = iter(rels)
        self.ahead: collections.deque[tuple[str, Future[os.stat_result]]] = collections.deque()
        for _ in range(SHARE_STAT_WINDOW):
            self._issue()

    def _issue(self) -> None:
        rel = next(self.todo, None)
        if rel is not None:
            job = self.pool.submit(os.stat, rel, dir_fd=self.dfd, follow_symlinks=False)
            self.ahead.append((rel, job))

    def __call__(self, rel: str, *, dir_fd: int, follow_symlinks: bool = True) -> os.stat_result:
        if follow_symlinks or not self.ahead or self.ahead[0][0] != rel:
            return os.stat(rel, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
        job = self.ahead.popleft()[1]
        self._issue()
        return job.result()  # its OSError, if it failed

    def close(self) -> None:
        """Stats not yet taken (a pass cut short) are dropped, never waited for: the share
        may have stopped answering."""
        self.pool.shutdown(wait=False, cancel_futures=True)


def record(w: Reader, task: Task) -> dict[str, Any]:
    """Verify one ``conda-meta/<dist>.json`` against the files of the environment."""
    started = time.monotonic()
    out = _record(w, task)
    out["secs"] = round(time.monotonic() - started, 6)  # the scheduler batches fast records
    return out


def _record(w: Reader, task: Task) -> dict[str, Any]:
    prefix, name, deep = task["path"], task["record"], task["deep"]
    w.open_cache(task.get("cache", ""))
    rec_path = os.path.join(prefix, "conda-meta", name)
    try:
        fd = os.open(rec_path, os.O_RDONLY | O_CLOEXEC)
        try:
            st = os.fstat(fd)
            rec_key = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
            fast = w.fingerprint_ok(rec_path, rec_key, deep)
            if fast is not None:
                return {
                    "dist": name[:-5],
                    **fast[1],
                    "files": fast[0],
                    "hits": fast[0],
                    "problems": [],
                    "nproblems": 0,
                    "fast": True,
                }
            raw = read_all(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno not in ABSENT:
            raise  # the share failed (ESTALE, EIO ...): the task reports it, not the record
        return {"record_error": f"cannot read: {oserr(exc)}"}
    if not raw.strip():
        return {"record_error": "empty file (zero length)"}
    try:
        rec = json.loads(raw)
    except ValueError as exc:
        return {"record_error": f"not valid JSON ({exc}); {len(raw)} bytes, truncated?"}
    if not isinstance(rec, dict):
        return {"record_error": "not a JSON object"}
    entries = _record_entries(rec)
    if entries is None:
        return {"record_error": "has neither paths_data nor files"}
    link = rec.get("link") if isinstance(rec.get("link"), dict) else {}
    meta = {
        "name": rec.get("name"),
        "version": rec.get("version"),
        "build": rec.get("build"),
        "channel": rec.get("channel"),
        "source": (link or {}).get("source") or rec.get("extracted_package_dir"),
        "link_type": (link or {}).get("type"),
    }
    out: dict[str, Any] = {"dist": name[:-5], **meta}
    unlisted = _files_only(rec, entries, meta["source"])
    if unlisted:
        entries = entries + unlisted
    local, share = bool(task.get("local")), bool(task.get("share"))
    out.update(_check_entries(w, prefix, entries, deep, env=True, local=local, share=share))
    if unlisted:
        names = {e["_path"] for e in unlisted}
        for problem in out["problems"]:
            if problem.get("path") in names and "note" not in problem:
                problem["note"] = UNLISTED_NOTE
    if "fp" in out:
        out["fp"].update(
            path=rec_path,
            rkey=key_text(rec_key),
            meta=json.dumps(meta),
            mode="deep" if deep else "quick",
        )
    return out


def centry(w: Reader, task: Task) -> dict[str, Any]:
    """Verify one extracted package in a cache against ``info/paths.json`` (packaged bytes)."""
    root, deep = task["path"], task["deep"]
    w.open_cache(task.get("cache", ""))
    info = os.path.join(root, "info")
    out: dict[str, Any] = {"dist": os.path.basename(root)}
    if not is_kind(info, stat.S_ISDIR):  # a failing share raises: the task reports it
        out["partial"] = "no info/ directory"
        out["bytes_on_disk"] = tree_size(root)
        return out
    try:
        with open(os.path.join(info, "paths.json"), "rb") as fh:
            paths_json = json.loads(fh.read())
        entries = [_norm_entry(p) for p in paths_json.get("paths", [])]
    except FileNotFoundError:
        out["partial"] = "info/paths.json is missing"
        out["bytes_on_disk"] = tree_size(root)
        entries = []
    except (OSError, ValueError, AttributeError) as exc:
        out["partial"] = f"info/paths.json unreadable: {exc}"
        out["bytes_on_disk"] = tree_size(root)
        entries = []
    record: dict[str, Any] | None = None
    try:
        with open(os.path.join(info, "repodata_record.json"), "rb") as fh:
            record = json.loads(fh.read())
    except FileNotFoundError:
        out["no_record"] = True
    except (OSError, ValueError) as exc:
        out["record_error"] = str(exc)
    if entries:
        local, share = bool(task.get("local")), bool(task.get("share"))
        out.update(_check_entries(w, root, entries, deep, env=False, local=local, share=share))
        out.pop("fp", None)
    archives = []
    for ext in (".conda", ".tar.bz2"):
        arch = root + ext
        try:
            st = os.stat(arch)
        except OSError as exc:
            if exc.errno not in ABSENT:
                archives.append({"path": arch, "size": -1, "error": unreadable(arch, exc)})
            continue
        item: dict[str, Any] = {"path": arch, "size": st.st_size}
        if isinstance(record, dict):
            item["expect"] = {k: record.get(k) for k in ("size", "md5", "sha256", "fn")}
            if record.get("fn") and record["fn"] != os.path.basename(arch):
                item["expect"] = {}
        archives.append(item)
    out["archives"] = archives
    return out


def _check_entries(
    w: Reader,
    root: str,
    entries: list[dict[str, Any]],
    deep: bool,
    env: bool,
    local: bool = False,
    share: bool = False,
) -> dict[str, Any]:
    """Stat every recorded file (pass 1), then hash what deep mode needs (pass 2).

    Paths are resolved relative to an open descriptor of ``root`` (fewer path walks), and
    the hash cache is asked once per record rather than once per file. With ``share`` (the
    run verifies several envs or caches) a file with other hard links is not hashed here but
    answered as ``linked`` (path, stat key, expected sum): the coordinator has each inode
    hashed once for every env and cache that links it.
    """
    problems: list[dict[str, Any]] = []
    hashed: list[list[Any]] = []
    defer: list[dict[str, Any]] = []
    linked: list[list[Any]] = []
    nfiles = nbytes = hits = 0
    fp_paths: list[str] = []
    # the record's fingerprint only serves the cache: without one, do not build it
    fp_keys: array.array[int] | None = array.array("q") if w.db is not None else None
    to_hash: list[tuple[str, str, os.stat_result]] = []
    dfd = os.open(root, os.O_RDONLY | O_CLOEXEC | getattr(os, "O_DIRECTORY", 0))
    stat_: Callable[..., os.stat_result] = os.stat
    ahead = None
    if not local and len(entries) >= SHARE_STAT_MIN:
        # the paths the loop below stats, in its order (its skip rule)
        rels = [e.get("_path") for e in entries]
        checked = [r for r in rels if isinstance(r, str) and not r.endswith(SKIP_SUFFIXES)]
        stat_ = ahead = _StatsAhead(checked, dfd)
    s_isreg = stat.S_ISREG
    try:
        for entry in entries:
            rel = entry.get("_path")
            if not isinstance(rel, str) or rel.endswith(SKIP_SUFFIXES):
                continue
            nfiles += 1
            if not nfiles & 127:  # a slow but live share must not look dead
                w.beat()
            kind = entry.get("path_type") or "hardlink"
            try:
                st = stat_(rel, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                problems.append({"path": rel, "problem": "missing"})
                continue
            except OSError as exc:
                problems.append(unreadable(rel, exc))
                continue
            # the common case first, with as little work as possible: a regular file of
            # the recorded size (prefix-rewritten text files take the slow path below)
            if (
                s_isreg(st.st_mode)
                and kind == "hardlink"
                and st.st_size == entry.get("size_in_bytes")
            ):
                if deep:
                    expect = expected_sha256(entry, env)
                    if expect:
                        to_hash.append((rel, expect, st))
                        continue
                if fp_keys is not None:
                    fp_paths.append(rel)
                    try:
                        fp_keys.extend(
                            (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                        )
                    except OverflowError:
                        fp_keys = None
                continue
            if kind == "directory":
                continue
            if stat.S_ISLNK(st.st_mode):
                try:
                    st = stat_(rel, dir_fd=dfd)
                except FileNotFoundError:
                    problems.append(
                        {
                            "path": rel,
                            "problem": "broken-symlink",
                            "found": _readlink(os.path.join(root, rel)),
                        }
                    )
                    continue
                except OSError as exc:
                    problems.append(unreadable(rel, exc))
                    continue
                if kind == "softlink":
                    fp_add(fp_paths, fp_keys, rel, st)
                    continue  # a link that resolves is all that is recorded reliably
            elif kind == "softlink":
                problems.append({"path": rel, "problem": "not-symlink", "found": "a regular file"})
                continue
            if not stat.S_ISREG(st.st_mode):
                problems.append(
                    {"path": rel, "problem": "not-file", "found": _kind_name(st.st_mode)}
                )
                continue
            size_problem = _size_problem(entry, st.st_size, root if env else None)
            if size_problem:
                problems.append(
                    {"path": rel, "problem": "size", **size_problem, "nlink": st.st_nlink}
                )
                continue
            if deep:
                expect = expected_sha256(entry, env)
                if expect:
                    to_hash.append((rel, expect, st))
                    continue
            fp_add(fp_paths, fp_keys, rel, st)
        big = [t[2] for t in to_hash if t[2].st_size >= CACHE_MIN_BYTES]
        known = w.cached_many(big) if big else {}
        # the hot loop of a deep run: one open/read/close per small file, no calls that
        # are not needed (most files are a few KiB, so per-file overhead adds up)
        if to_hash:  # here: a quick run never hashes (importing hashlib loads OpenSSL)
            from hashlib import sha256
        open_, read, close = os.open, os.read, os.close
        flags = os.O_RDONLY | O_CLOEXEC
        for n, (rel, expect, st) in enumerate(to_hash):
            size = st.st_size
            sha = None
            if size >= CACHE_MIN_BYTES:
                sha = known.get((st.st_dev, st.st_ino, size, st.st_mtime_ns, st.st_ctime_ns))
            if sha is not None:
                hits += 1
            elif share and st.st_nlink > 1:
                ident = (st.st_dev, st.st_ino, size, st.st_mtime_ns, st.st_ctime_ns)
                linked.append([rel, *ident, expect, st.st_nlink])
                fp_add(fp_paths, fp_keys, rel, st)
                continue
            elif size >= DEFER_BYTES:
                defer.append({"path": os.path.join(root, rel), "rel": rel, "sha256": expect})
                fp_add(fp_paths, fp_keys, rel, st)
                continue
            else:
                try:
                    if size < BUFFER:
                        fd = open_(rel, flags, dir_fd=dfd)
                        try:
                            data = read(fd, size + 1)
                            if len(data) > size:  # grew since the stat: read it all
                                data += read_all(fd)
                        finally:
                            close(fd)
                        sha = sha256(data).hexdigest()
                    else:
                        sha = w.digest(os.path.join(root, rel), local=local)[0]
                except OSError as exc:
                    problems.append(unreadable(rel, exc))
                    continue
                if size >= CACHE_MIN_BYTES:
                    hashed.append(
                        [st.st_dev, st.st_ino, size, st.st_mtime_ns, st.st_ctime_ns, sha, None]
                    )
                nbytes += size
            if sha != expect:
                problems.append(
                    {
                        "path": rel,
                        "problem": "hash",
                        "expected": expect,
                        "found": sha,
                        "nlink": st.st_nlink,
                    }
                )
            elif fp_keys is not None:  # _fp_add inline: once per file of a deep run
                fp_paths.append(rel)
                try:
                    fp_keys.extend((st.st_dev, st.st_ino, size, st.st_mtime_ns, st.st_ctime_ns))
                except OverflowError:
                    fp_keys.extend((0, 0, -1, 0, 0))
            if not n & 31:  # big files beat while they are hashed
                w.beat()
    finally:
        if ahead is not None:
            ahead.close()
        os.close(dfd)
    out: dict[str, Any] = {
        "problems": problems[:MAX_ITEMS],
        "nproblems": len(problems),
        "hashed": hashed,
        "defer": defer,
        "linked": linked,
        "files": nfiles,
        "bytes": nbytes,
        "hits": hits,
    }
    if not problems and fp_keys is not None:
        out["fp"] = {"paths": "\0".join(fp_paths), "keys": fp_keys.tobytes().hex()}
    return out


def hash_many(w: Reader, task: Task) -> dict[str, Any]:
    """sha256 of files below ``path`` (``rels``), each an inode no other task hashes.

    Answers ``sums``, one per path in order: ``[sha256]``, or ``[None, error, errno]``; the
    coordinator compares them with what every record that links the inode expects.
    """
    root = task["path"]
    local = bool(task.get("local"))
    sums: list[list[Any]] = []
    hashed: list[list[Any]] = []
    nbytes = 0
    from hashlib import sha256

    flags = os.O_RDONLY | O_CLOEXEC
    dfd = os.open(root, flags | getattr(os, "O_DIRECTORY", 0))
    try:
        for rel in task.get("rels", []):
            try:
                fd = os.open(rel, flags, dir_fd=dfd)
                try:
                    st = os.fstat(fd)
                    size = st.st_size
                    if size < BUFFER:
                        data = os.read(fd, size + 1)
                        if len(data) > size:  # grew since the stat: read it all
                            data += read_all(fd)
                        sha = sha256(data).hexdigest()
                    else:  # the same descriptor: one open and one stat per file
                        sha = w.digest_fd(fd, st, local=local)[0]
                finally:
                    os.close(fd)
            except OSError as exc:
                sums.append([None, oserr(exc), exc.errno])
                continue
            sums.append([sha])
            nbytes += size
            if size >= CACHE_MIN_BYTES:
                hashed.append(
                    [st.st_dev, st.st_ino, size, st.st_mtime_ns, st.st_ctime_ns, sha, None]
                )
            w.beat()
    finally:
        os.close(dfd)
    return {"sums": sums, "bytes": nbytes, "hashed": hashed}


def hash_file(w: Reader, task: Task) -> dict[str, Any]:
    """Hash one big file (or archive) and compare it with what its record says."""
    w.open_cache(task.get("cache", ""))
    path = task["path"]
    want_md5 = bool(task.get("md5"))
    try:
        fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
        try:
            st = os.fstat(fd)
            sha, md5 = w.cached(st)
            hashed: list[list[Any]] = []
            hit = sha is not None and (md5 is not None or not want_md5)
            if not hit:
                sha, md5, key = w.digest_fd(fd, st, want_md5, local=bool(task.get("local")))
                hashed.append([*key, sha, md5])
        finally:
            os.close(fd)
    except OSError as exc:
        return {
            "problems": [unreadable(task["rel"], exc)],
            "hashed": [],
        }
    problems = []
    if task.get("sha256") and sha != task["sha256"]:
        problems.append(
            {
                "path": task["rel"],
                "problem": "hash",
                "expected": task["sha256"],
                "found": sha,
                "nlink": st.st_nlink,
            }
        )
    elif want_md5 and md5 != task["md5"]:
        problems.append(
            {
                "path": task["rel"],
                "problem": "md5",
                "expected": task["md5"],
                "found": md5,
                "nlink": st.st_nlink,
            }
        )
    return {
        "problems": problems,
        "hashed": hashed,
        "bytes": 0 if hit else st.st_size,
        "hits": int(hit),
    }


def expected_sha256(entry: dict[str, Any], env: bool) -> str | None:
    """The sum a recorded file must have. In an environment that is the sum after prefix
    rewriting (``sha256_in_prefix``); a file with a placeholder and no such sum has bytes no
    record states, so it cannot be hashed against anything (None)."""
    if env:
        expect = entry.get("sha256_in_prefix") or (
            None if entry.get("prefix_placeholder") else entry.get("sha256")
        )
    else:
        expect = entry.get("sha256")
    return str(expect) if expect else None


def unreadable(rel: str, exc: OSError) -> dict[str, Any]:
    """A file that could not be read; ``errno`` lets the coordinator tell a failing share
    (ESTALE, EIO ...: nothing is known about the file) from a file that is unreadable."""
    return {"path": rel, "problem": "unreadable", "found": oserr(exc), "errno": exc.errno}


def _readlink(path: str) -> str:
    try:
        return "-> " + os.readlink(path)
    except OSError:
        return "dangling link"


def _kind_name(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _norm_entry(entry: Any) -> dict[str, Any]:
    return entry if isinstance(entry, dict) else {}


def _record_entries(rec: dict[str, Any]) -> list[dict[str, Any]] | None:
    paths_data = rec.get("paths_data")
    if isinstance(paths_data, dict) and isinstance(paths_data.get("paths"), list):
        paths: list[Any] = paths_data["paths"]
        if all(type(p) is dict for p in paths):  # the normal case: no copy
            return paths
        return [_norm_entry(p) for p in paths]
    files = rec.get("files")
    if isinstance(files, list):
        return [{"_path": f} for f in files if isinstance(f, str)]
    return None


def _files_only(
    rec: dict[str, Any], entries: list[dict[str, Any]], source: Any
) -> list[dict[str, Any]]:
    """Entries for files the record lists in ``files`` but not in ``paths_data``.

    conda leaves records like that (after a ``--force-reinstall`` that hit a SafetyError the
    relinked file has no ``paths_data`` entry), and such a file may well be damaged. Its
    size, hash and type come from the package's ``info/paths.json`` in the cache the record
    names, when that is readable; else only its existence can be checked.
    """
    files = rec.get("files")
    if not isinstance(files, list) or not isinstance(rec.get("paths_data"), dict):
        return []
    known = {e.get("_path") for e in entries}
    extra = [f for f in files if isinstance(f, str) and f not in known]
    if not extra:
        return []
    packaged: dict[str, dict[str, Any]] = {}
    if isinstance(source, str) and source:
        try:
            with open(os.path.join(source, "info", "paths.json"), "rb") as fh:
                listed = json.loads(fh.read()).get("paths", [])
            packaged = {e["_path"]: e for e in map(_norm_entry, listed) if "_path" in e}
        except (OSError, ValueError, AttributeError, TypeError):
            packaged = {}
    return [dict(packaged.get(f) or {}, _path=f) for f in extra]


def _size_problem(entry: dict[str, Any], size: int, prefix: str | None) -> dict[str, Any] | None:
    """Compare a file's size with its record, allowing for prefix rewriting in environments.

    Binary-mode prefix replacement pads with NULs, so the size is unchanged. Text-mode
    replacement changes the size by a multiple of len(prefix) - len(placeholder).
    """
    expected = entry.get("size_in_bytes")
    if not isinstance(expected, int):
        return None
    placeholder = entry.get("prefix_placeholder")
    if size == expected:
        return None
    if expected > 0 and size == 0:
        return {"expected": expected, "found": 0, "note": "zero length"}
    if placeholder and prefix is not None and entry.get("file_mode") != "binary":
        delta = len(prefix.encode()) - len(str(placeholder).encode())
        diff = size - expected
        if delta != 0 and diff % delta == 0 and diff // delta >= 1:
            return None
        if delta == 0:
            return None if diff == 0 else {"expected": expected, "found": size}
        return {
            "expected": f"{expected} + k*{delta}",
            "found": size,
            "note": "prefix-rewritten file of an unexpected size",
        }
    return {"expected": expected, "found": size}
