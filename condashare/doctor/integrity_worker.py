"""The part of the verification engine that touches files; it runs only in child processes.

Why a separate module: a read or ``stat`` on a dead network share can block forever, and a
process stuck that way cannot even be killed. So every touch of an environment or package cache
happens in a worker process that the coordinator (``integrity.py``) can abandon. A worker reads
one JSON task per line on stdin and answers with JSON lines on stdout: heartbeats (``{"hb": n}``)
while it works, then one result. It uses only the standard library so it starts fast.

Results are raw observations (what was expected, what was found); turning them into findings
with fix commands is the coordinator's job.
"""

from __future__ import annotations

import array
import errno as errno_mod
import hashlib
import json
import os
import re
import sqlite3
import stat
import time
from typing import Any

try:
    import mmap
except ImportError:  # pragma: no cover - every POSIX Python has it
    mmap = None  # type: ignore[assignment]

O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
BUFFER = 1 << 20  # 1 MiB reads: few syscalls, bounded memory
MMAP_WINDOW = 32 << 20  # hash big local files through 32 MiB mappings (bounded RSS)
CACHE_MIN_BYTES = 64 << 10  # smaller files are cheaper to re-hash than to look up and store
DEFER_BYTES = 16 << 20  # files this big are hashed as their own task, so workers share them
HEARTBEAT_SECONDS = 0.5
MAX_ITEMS = 2000  # cap on listed items per answer (bounded memory and pipe traffic)
SKIP_SUFFIXES = (".pyc", ".pyo")  # compiled later, never reliably recorded (conda skips them)

Task = dict[str, Any]


class Worker:
    """One worker process: task loop, heartbeats, optional read-only view of the hash cache."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.last_beat = time.monotonic()
        self.beats = 0
        self.db: sqlite3.Connection | None = None
        self.db_path = ""
        self.buf = bytearray(BUFFER)
        self.held: list[str] = []

    # --- plumbing -----------------------------------------------------------------------
    def send(self, obj: dict[str, Any], hold: bool = False) -> None:
        """Write one answer; ``hold`` keeps it for the next write (answers of a batch of
        tasks leave in one write, and a heartbeat takes held answers along)."""
        line = json.dumps(obj, separators=(",", ":")) + "\n"
        if hold:
            self.held.append(line)
            return
        if self.held:
            line = "".join(self.held) + line
            self.held.clear()
        self.out.write(line)
        self.out.flush()

    def beat(self) -> None:
        now = time.monotonic()
        if now - self.last_beat >= HEARTBEAT_SECONDS:
            self.beats += 1
            self.last_beat = now
            self.send({"hb": self.beats})

    def open_cache(self, path: str) -> None:
        if not path or path == self.db_path:
            return
        self.db_path = path
        try:
            # a busy cache must never slow verification down: give up fast, count a miss
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.1)
        except sqlite3.Error:
            self.db = None

    def cached(self, st: os.stat_result) -> tuple[str | None, str | None]:
        if self.db is None:
            return None, None
        try:
            row = self.db.execute(
                "SELECT sha256, md5 FROM files WHERE dev=? AND ino=? AND size=? AND mtime_ns=?"
                " AND ctime_ns=?",
                (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns),
            ).fetchone()
        except sqlite3.Error:
            return None, None
        if row is None:
            return None, None
        return row[0], row[1]

    def digest(
        self, path: str, want_md5: bool = False, local: bool = False, size_hint: int = -1
    ) -> tuple[str, str | None, list[int]]:
        """sha256 (and md5) of a file, streamed; returns the stat key of the opened file.

        Small files are read in one call. Big files on local disks are hashed straight from
        the page cache through mmap windows (no copy; RSS bounded by the window); on network
        filesystems we read into a 1 MiB buffer instead, because a file truncated on the
        server while mapped would kill the worker with SIGBUS.
        """
        fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
        try:
            st = os.fstat(fd)
            size = st.st_size
            md5 = hashlib.md5() if want_md5 else None
            if size < BUFFER:
                data = os.read(fd, size + 1)
                if len(data) > size:  # grew since fstat: stream the rest
                    data += _read_all(fd)
                sha = hashlib.sha256(data)
                if md5 is not None:
                    md5.update(data)
            elif local and mmap is not None:
                sha = hashlib.sha256()
                offset = 0
                while offset < size:
                    length = min(MMAP_WINDOW, size - offset)
                    with mmap.mmap(fd, length, access=mmap.ACCESS_READ, offset=offset) as win:
                        sha.update(win)
                        if md5 is not None:
                            md5.update(win)
                    offset += length
                    self.beat()
            else:
                sha = hashlib.sha256()
                view = memoryview(self.buf)
                while True:
                    n = os.readv(fd, [self.buf])
                    if n <= 0:
                        break
                    chunk = view[:n]
                    sha.update(chunk)
                    if md5 is not None:
                        md5.update(chunk)
                    self.beat()
        finally:
            os.close(fd)
        key = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        return sha.hexdigest(), (md5.hexdigest() if md5 is not None else None), key

    def fingerprint_ok(
        self, rec_path: str, rec_key: list[int], deep: bool
    ) -> tuple[int, dict[str, Any]] | None:
        """Fast path: is this record unchanged since it last verified clean, file by file?

        The cache row holds the record's own stat key, the checked paths and every file's
        (dev, inode, size, mtime_ns, ctime_ns) at the time. Same record and same keys means
        the same bytes, so nothing needs parsing or hashing. Returns the file count and the
        package's remembered metadata, or None.
        """
        if self.db is None:
            return None
        try:
            row = self.db.execute(
                "SELECT rkey, mode, paths, keys, meta FROM records WHERE path=?", (rec_path,)
            ).fetchone()
            meta = json.loads(row[4]) if row is not None and row[4] else {}
        except (sqlite3.Error, ValueError):
            return None
        if row is None or row[0] != _key_text(rec_key) or (deep and row[1] != "deep"):
            return None
        if not isinstance(meta, dict):
            return None
        rels = row[2].split("\0") if row[2] else []
        now = array.array("q")
        ext = now.extend
        stat_ = os.stat
        root = os.path.dirname(os.path.dirname(rec_path))
        try:
            dfd = os.open(root, os.O_RDONLY | O_CLOEXEC | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            return None
        try:
            for start in range(0, len(rels), 128):  # a slow but live share must not look dead
                for rel in rels[start : start + 128]:
                    st = stat_(rel, dir_fd=dfd)
                    ext((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
                self.beat()
        except (OSError, OverflowError):
            return None
        finally:
            os.close(dfd)
        return (len(rels), meta) if now.tobytes() == row[3] else None

    # --- tasks --------------------------------------------------------------------------
    def run(self, task: Task) -> dict[str, Any]:
        op = task["op"]
        handler = getattr(self, "op_" + op, None)
        if handler is None:
            return {"error": f"unknown operation {op}"}
        result: dict[str, Any] = handler(task)
        return result

    def op_classify(self, task: Task) -> dict[str, Any]:
        """What is PATH: environment, package cache, installation root, or none of these.

        Only "does not exist" (ENOENT, ENOTDIR) counts as absent: an error such as ESTALE, EIO
        or ENOTCONN on a marker means the share failed, which is reported, never taken for
        "not a conda environment".
        """
        path = task["path"]
        try:
            return self._classify(path)
        except OSError as exc:
            return {
                "kind": "missing" if exc.errno == errno_mod.ENOENT else "error",
                "reason": _oserr(exc),
                "errno": exc.errno,
            }

    def _classify(self, path: str) -> dict[str, Any]:
        st = os.stat(path)
        if not stat.S_ISDIR(st.st_mode):
            return {"kind": "none", "reason": "not a directory"}
        meta = os.path.join(path, "conda-meta")
        has_meta = _is(meta, stat.S_ISDIR)
        pkgs = os.path.join(path, "pkgs")
        envs_dir = os.path.join(path, "envs")
        is_cache = _is(os.path.join(path, "urls.txt"), stat.S_ISREG)
        if not is_cache and not has_meta:
            is_cache = _has_extracted_entry(path)
        result: dict[str, Any] = {"kind": "none", "uid": st.st_uid}
        has_pkgs = has_meta and _is(pkgs, stat.S_ISDIR)
        if has_meta and (has_pkgs or _is(envs_dir, stat.S_ISDIR)):
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

    def op_env(self, task: Task) -> dict[str, Any]:
        """The records of an environment (names only; each is verified as its own task)."""
        meta = os.path.join(task["path"], "conda-meta")
        names = sorted(n for n in os.listdir(meta) if n.endswith(".json"))
        return {"records": names}

    def op_walk(self, task: Task) -> dict[str, Any]:
        """Every NFS silly-rename file and conda trash file below a tree.

        A directory's mtime/ctime change whenever an entry is created, removed or renamed in
        it (an NFS silly rename is a rename), so a directory whose stat is unchanged since the
        last walk still has the same subdirectories and leftovers: with the cache warm, the
        walk stats directories instead of listing them.
        """
        root = task["path"]
        self.open_cache(task.get("cache", ""))
        known = self._known_dirs(root)
        found: list[list[Any]] = []
        count = 0
        nbytes = 0
        errors: list[str] = []
        changed: list[list[Any]] = []
        stack = [root]
        remember = self.db is not None  # without a cache, directory keys serve nothing
        key = ""
        while stack:
            top = stack.pop()
            if remember:
                try:
                    st = os.lstat(top)
                except OSError as exc:
                    if len(errors) < 20:
                        errors.append(f"{top}: {_oserr(exc)}")
                    continue
                key = f"{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}"
            row = known.get(top)
            if row is not None and row[0] == key:
                subdirs = row[1].split("\0") if row[1] else []
                arts = [(name, is_dir) for name, is_dir in json.loads(row[2])] if row[2] else []
            else:
                subdirs, arts = [], []
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
                                subdirs.append(name)
                except OSError as exc:
                    if len(errors) < 20:
                        errors.append(f"{top}: {_oserr(exc)}")
                    continue
                if remember and len(changed) < 200_000:
                    changed.append(
                        [root, top, key, "\0".join(subdirs), json.dumps(arts) if arts else ""]
                    )
            for name, is_dir in arts:
                full = os.path.join(top, name)
                size = _tree_size(full) if is_dir else _lsize(full)
                count += 1
                nbytes += size
                if len(found) < MAX_ITEMS:
                    # the kernel names open files by their real path: give it for matching
                    found.append([full, size, is_dir, os.path.realpath(full)])
            stack.extend(os.path.join(top, d) for d in subdirs)
            self.beat()
        return {
            "artefacts": found,
            "count": count,
            "bytes": nbytes,
            "errors": errors,
            "dirs": changed,
        }

    def _known_dirs(self, root: str) -> dict[str, tuple[str, str, str]]:
        if self.db is None:
            return {}
        try:
            rows = self.db.execute(
                "SELECT path, key, subdirs, arts FROM dirs WHERE root=?", (root,)
            ).fetchall()
        except (sqlite3.Error, ValueError):  # ValueError: a root SQLite cannot hold (surrogate)
            return {}
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def op_record(self, task: Task) -> dict[str, Any]:
        """Verify one ``conda-meta/<dist>.json`` against the files of the environment."""
        prefix, name, deep = task["path"], task["record"], task["deep"]
        self.open_cache(task.get("cache", ""))
        rec_path = os.path.join(prefix, "conda-meta", name)
        try:
            fd = os.open(rec_path, os.O_RDONLY | O_CLOEXEC)
            try:
                st = os.fstat(fd)
                rec_key = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
                fast = self.fingerprint_ok(rec_path, rec_key, deep)
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
                raw = _read_all(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            return {"record_error": f"cannot read: {_oserr(exc)}"}
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
        out.update(
            self._check_entries(prefix, entries, deep, env=True, local=bool(task.get("local")))
        )
        if "fp" in out:
            out["fp"].update(
                path=rec_path,
                rkey=_key_text(rec_key),
                meta=json.dumps(meta),
                mode="deep" if deep else "quick",
            )
        return out

    def op_centry(self, task: Task) -> dict[str, Any]:
        """Verify one extracted package in a cache against ``info/paths.json`` (packaged bytes)."""
        root, deep = task["path"], task["deep"]
        self.open_cache(task.get("cache", ""))
        info = os.path.join(root, "info")
        out: dict[str, Any] = {"dist": os.path.basename(root)}
        if not os.path.isdir(info):
            out["partial"] = "no info/ directory"
            out["bytes_on_disk"] = _tree_size(root)
            return out
        try:
            with open(os.path.join(info, "paths.json"), "rb") as fh:
                paths_json = json.loads(fh.read())
            entries = [_norm_entry(p) for p in paths_json.get("paths", [])]
        except FileNotFoundError:
            out["partial"] = "info/paths.json is missing"
            out["bytes_on_disk"] = _tree_size(root)
            entries = []
        except (OSError, ValueError, AttributeError) as exc:
            out["partial"] = f"info/paths.json unreadable: {exc}"
            out["bytes_on_disk"] = _tree_size(root)
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
            out.update(
                self._check_entries(root, entries, deep, env=False, local=bool(task.get("local")))
            )
            out.pop("fp", None)
        archives = []
        for ext in (".conda", ".tar.bz2"):
            arch = root + ext
            try:
                st = os.stat(arch)
            except OSError:
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
        self, root: str, entries: list[dict[str, Any]], deep: bool, env: bool, local: bool = False
    ) -> dict[str, Any]:
        """Stat every recorded file (pass 1), then hash what deep mode needs (pass 2).

        Paths are resolved relative to an open descriptor of ``root`` (fewer path walks), and
        the hash cache is asked once per record rather than once per file.
        """
        problems: list[dict[str, Any]] = []
        hashed: list[list[Any]] = []
        defer: list[dict[str, Any]] = []
        nfiles = nbytes = hits = 0
        fp_paths: list[str] = []
        # the record's fingerprint only serves the cache: without one, do not build it
        fp_keys: array.array[int] | None = array.array("q") if self.db is not None else None
        to_hash: list[tuple[str, str, os.stat_result]] = []
        dfd = os.open(root, os.O_RDONLY | O_CLOEXEC | getattr(os, "O_DIRECTORY", 0))
        stat_ = os.stat
        s_isreg = stat.S_ISREG
        try:
            for entry in entries:
                rel = entry.get("_path")
                if not isinstance(rel, str) or rel.endswith(SKIP_SUFFIXES):
                    continue
                nfiles += 1
                if not nfiles & 127:  # a slow but live share must not look dead
                    self.beat()
                kind = entry.get("path_type") or "hardlink"
                try:
                    st = stat_(rel, dir_fd=dfd, follow_symlinks=False)
                except FileNotFoundError:
                    problems.append({"path": rel, "problem": "missing"})
                    continue
                except OSError as exc:
                    problems.append({"path": rel, "problem": "unreadable", "found": _oserr(exc)})
                    continue
                # the common case first, with as little work as possible: a regular file of
                # the recorded size (prefix-rewritten text files take the slow path below)
                if (
                    s_isreg(st.st_mode)
                    and kind == "hardlink"
                    and st.st_size == entry.get("size_in_bytes")
                ):
                    if deep:
                        if env:
                            expect = entry.get("sha256_in_prefix") or (
                                None if entry.get("prefix_placeholder") else entry.get("sha256")
                            )
                        else:
                            expect = entry.get("sha256")
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
                        problems.append(
                            {"path": rel, "problem": "unreadable", "found": _oserr(exc)}
                        )
                        continue
                    if kind == "softlink":
                        self._fp_add(fp_paths, fp_keys, rel, st)
                        continue  # a link that resolves is all that is recorded reliably
                elif kind == "softlink":
                    problems.append(
                        {"path": rel, "problem": "not-symlink", "found": "a regular file"}
                    )
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
                    if env:
                        expect = entry.get("sha256_in_prefix")
                        if not expect and not entry.get("prefix_placeholder"):
                            expect = entry.get("sha256")
                    else:
                        expect = entry.get("sha256")
                    if expect:
                        to_hash.append((rel, expect, st))
                        continue
                self._fp_add(fp_paths, fp_keys, rel, st)
            big = [t[2] for t in to_hash if t[2].st_size >= CACHE_MIN_BYTES]
            known = self.cached_many(big) if big else {}
            # the hot loop of a deep run: one open/read/close per small file, no calls that
            # are not needed (most files are a few KiB, so per-file overhead adds up)
            sha256 = hashlib.sha256
            open_, read, close = os.open, os.read, os.close
            flags = os.O_RDONLY | O_CLOEXEC
            for n, (rel, expect, st) in enumerate(to_hash):
                size = st.st_size
                sha = None
                if size >= CACHE_MIN_BYTES:
                    sha = known.get((st.st_dev, st.st_ino, size, st.st_mtime_ns, st.st_ctime_ns))
                if sha is not None:
                    hits += 1
                elif size >= DEFER_BYTES:
                    defer.append({"path": os.path.join(root, rel), "rel": rel, "sha256": expect})
                    self._fp_add(fp_paths, fp_keys, rel, st)
                    continue
                else:
                    try:
                        if size < BUFFER:
                            fd = open_(rel, flags, dir_fd=dfd)
                            try:
                                data = read(fd, size + 1)
                                if len(data) > size:  # grew since the stat: read it all
                                    data += _read_all(fd)
                            finally:
                                close(fd)
                            sha = sha256(data).hexdigest()
                        else:
                            sha = self.digest(os.path.join(root, rel), local=local)[0]
                    except OSError as exc:
                        problems.append(
                            {"path": rel, "problem": "unreadable", "found": _oserr(exc)}
                        )
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
                    self.beat()
        finally:
            os.close(dfd)
        out: dict[str, Any] = {
            "problems": problems[:MAX_ITEMS],
            "nproblems": len(problems),
            "hashed": hashed,
            "defer": defer,
            "files": nfiles,
            "bytes": nbytes,
            "hits": hits,
        }
        if not problems and fp_keys is not None:
            out["fp"] = {"paths": "\0".join(fp_paths), "keys": fp_keys.tobytes().hex()}
        return out

    def cached_many(self, stats: list[os.stat_result]) -> dict[tuple[int, ...], str]:
        """Cached sha256 for many files in one query per 400 inodes."""
        if self.db is None:
            return {}
        found: dict[tuple[int, ...], str] = {}
        by_dev: dict[int, list[int]] = {}
        for st in stats:
            by_dev.setdefault(st.st_dev, []).append(st.st_ino)
        for dev, inos in by_dev.items():
            for i in range(0, len(inos), 400):
                chunk = inos[i : i + 400]
                marks = ",".join("?" * len(chunk))
                try:
                    rows = self.db.execute(
                        "SELECT dev, ino, size, mtime_ns, ctime_ns, sha256 FROM files "
                        f"WHERE dev=? AND ino IN ({marks})",
                        [dev, *chunk],
                    ).fetchall()
                except (sqlite3.Error, OverflowError):
                    return found
                for row in rows:
                    found[tuple(row[:5])] = row[5]
        return found

    @staticmethod
    def _fp_add(
        paths: list[str], keys: array.array[int] | None, rel: str, st: os.stat_result
    ) -> None:
        if keys is None:
            return
        paths.append(rel)
        try:
            keys.extend((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        except OverflowError:  # 64-bit unsigned inode numbers: no fast path for this record
            keys.extend((0, 0, -1, 0, 0))

    def op_hash(self, task: Task) -> dict[str, Any]:
        """Hash one big file (or archive) and compare it with what its record says."""
        self.open_cache(task.get("cache", ""))
        path = task["path"]
        want_md5 = bool(task.get("md5"))
        try:
            st = os.stat(path)
            sha, md5 = self.cached(st)
            hashed: list[list[Any]] = []
            hit = sha is not None and (md5 is not None or not want_md5)
            if not hit:
                sha, md5, key = self.digest(path, want_md5, local=bool(task.get("local")))
                hashed.append([*key, sha, md5])
        except OSError as exc:
            return {
                "problems": [{"path": task["rel"], "problem": "unreadable", "found": _oserr(exc)}],
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

    def op_cache(self, task: Task) -> dict[str, Any]:
        """Inventory of a package cache: extracted entries, leftovers, repodata cache state."""
        pkgs = task["path"]
        entries: list[str] = []
        lone_archives: list[str] = []
        partial_downloads: list[list[Any]] = []
        names = set(os.listdir(pkgs))
        for name in sorted(names):
            full = os.path.join(pkgs, name)
            if name in ("cache", ".trash") or name.startswith(".nfs"):
                continue
            if name.endswith(".conda_trash"):
                continue  # reported by the walk, with its holders
            if os.path.isdir(full) and not os.path.islink(full):
                entries.append(name)
            elif name.endswith((".partial", ".tmp")):
                partial_downloads.append([full, _lsize(full)])
            elif name.endswith((".conda", ".tar.bz2")):
                dist = name[: -len(".conda")] if name.endswith(".conda") else name[:-8]
                if dist not in names:
                    lone_archives.append(name)
        trash = os.path.join(pkgs, ".trash")
        trash_bytes = _tree_size(trash) if os.path.isdir(trash) else 0
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
            "lone_archives": lone_archives[:MAX_ITEMS],
            "partial_downloads": partial_downloads[:MAX_ITEMS],
            "trash_bytes": trash_bytes,
            "trash_items": trash_items,
            "urls_txt": os.path.isfile(urls_txt),
            "writable": writable,
            "repodata": repodata,
            "shards": shards,
        }

    def op_exists(self, task: Task) -> dict[str, Any]:
        """Which of these paths exist (used to ask whether a build is in the user's caches)."""
        return {"exists": [p for p in task["paths"] if os.path.exists(p)]}

    def op_writable(self, task: Task) -> dict[str, Any]:
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


def _key_text(key: list[int]) -> str:
    return ":".join(str(k) for k in key)


def _read_all(fd: int) -> bytes:
    parts: list[bytes] = []
    while True:
        chunk = os.read(fd, BUFFER)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)


def _oserr(exc: OSError) -> str:
    name = errno_mod.errorcode.get(exc.errno or 0, "")
    text = exc.strerror or str(exc)
    return f"{name}: {text}" if name else text


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


def _lsize(path: str) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def _tree_size(path: str) -> int:
    total = 0
    stack = [path]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as it:
                for entry in it:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        else:
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total


# errors that say "not there (for you)"; anything else (ESTALE, EIO, ENOTCONN ...) is the share
_ABSENT = (errno_mod.ENOENT, errno_mod.ENOTDIR, errno_mod.EACCES, errno_mod.EPERM)


def _is(path: str, test: Any) -> bool:
    """``os.path.isdir``/``isfile`` that tells "absent" from "the share failed": the errors
    in ``_ABSENT`` mean absent (as before); any other error is raised."""
    try:
        return bool(test(os.stat(path).st_mode))
    except OSError as exc:
        if exc.errno in _ABSENT:
            return False
        raise


def _has_extracted_entry(path: str) -> bool:
    try:
        with os.scandir(path) as it:
            for n, entry in enumerate(it):
                if n > 5000:
                    break
                if _is(os.path.join(entry.path, "info", "paths.json"), stat.S_ISREG):
                    return True
    except OSError as exc:
        if exc.errno in _ABSENT:
            return False
        raise
    return False


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


def main() -> None:
    serve(0, 1)


def serve(in_fd: int, out_fd: int) -> None:
    """Answer tasks read from ``in_fd`` on ``out_fd`` until end of input."""
    with (
        open(out_fd, "w", buffering=1, encoding="utf-8", closefd=False) as out,
        open(in_fd, encoding="utf-8", closefd=False) as tasks,
    ):
        worker = Worker(out)
        for line in tasks:
            line = line.strip()
            if not line:
                continue
            task = json.loads(line)
            # {"batch": [task, ...]}: several small tasks in one message, answered in one
            # write; heartbeats keep coming (every HEARTBEAT_SECONDS across the whole batch)
            batch = task["batch"] if isinstance(task.get("batch"), list) else [task]
            worker.last_beat = time.monotonic()
            for n, item in enumerate(batch):
                try:
                    result = worker.run(item)
                except OSError as exc:
                    result = {"error": _oserr(exc), "errno": exc.errno}
                except Exception as exc:  # a bug here must not look like a hung share
                    result = {"error": f"{type(exc).__name__}: {exc}"}
                result["id"] = item.get("id")
                worker.send(result, hold=n < len(batch) - 1)
                worker.beat()  # between items too: small tasks may never beat themselves


if __name__ == "__main__":
    main()
