"""Verification engine: environments and package caches against conda's own records.

What it compares (conda-facts §6): every file of an environment against
``conda-meta/<dist>.json`` (size in quick mode, ``sha256_in_prefix`` in deep mode), every file of
an extracted package against ``info/paths.json`` (the packaged bytes), archives against
``info/repodata_record.json``; plus the leftovers NFS and conda leave behind (``.nfs*`` silly
renames, ``*.conda_trash``, ``.trash``, partial extractions), stale repodata caches and user
environments that link packages straight from a shared cache (§4).

How it stays safe and fast: this process never touches the trees. Worker processes
(``integrity_worker``) do, one task at a time (one record, one cache entry, one big file), sending
heartbeats while they work. A worker that falls silent for ``timeout`` seconds is abandoned —
killed and never waited for, since a process stuck on a dead share cannot be reaped — its task
is reported "unresponsive", and every task left on the same mount is reported the same way
without being tried. Hashes are remembered in a local SQLite cache keyed by
(device, inode, size, mtime_ns, ctime_ns), so an unchanged tree is re-verified with ``stat`` only.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import select
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from condashare import exitcodes
from condashare.bounded import children, workers
from condashare.doctor.model import Finding, Severity
from condashare.liveness import error_words
from condashare.mounts import Mount, mount_for, read_mount_table
from condashare.render import shell_word, shown

DEFAULT_TIMEOUT = 15.0  # seconds of silence before a worker's share is declared unresponsive
VERY_OLD_DAYS = 30.0
MAX_FILES_PER_FINDING = 200
DETAIL_LINES = 8
HOLDER_SCAN_SECONDS = 2.0
FLUSH_SECONDS = 0.25  # write learnt hashes this often, so little is left to write at the end
NETWORK_JOBS = 4  # default workers when a target is on a network filesystem
# work queued in each worker, so none idles while this process catches up; a big-file hash
# fills a worker's pipeline on its own, so nothing waits behind it while another worker idles
PIPELINE = 2
# records that take well under a millisecond (quick mode, or the cache's fast path) go to a
# worker this many to a message: per-message costs (wake-ups, JSON, syscalls) were most of
# this process's CPU in a quick run
RECORD_BATCH = 8
# bytes of tasks a worker may have unanswered: well under a pipe's 64 KiB, so that writing to a
# worker stuck on a dead share can never block this process
PIPE_BYTES = 32 << 10

Progress = Callable[["ProgressInfo"], None]


@dataclass(frozen=True)
class ProgressInfo:
    """Where a run is: tasks done of known, files checked, bytes hashed."""

    done: int
    total: int
    files: int
    bytes_hashed: int


@dataclass(frozen=True)
class Target:
    """One PATH given to verify and what it turned out to be."""

    path: str
    kind: str  # env | cache | root | missing | none | unresponsive | error
    detail: str = ""
    envs: tuple[str, ...] = ()
    caches: tuple[str, ...] = ()


@dataclass
class VerifyStats:
    files: int = 0
    bytes_hashed: int = 0
    cache_hits: int = 0
    records: int = 0
    cache_entries: int = 0
    seconds: float = 0.0
    workers: int = 0


@dataclass
class VerifyReport:
    """Everything a verify run found; ``exit_code`` follows condashare's exit-code contract."""

    mode: str
    targets: list[Target]
    findings: list[Finding]
    stats: VerifyStats
    cache_note: str = ""
    incomplete: bool = False

    @property
    def bad_paths(self) -> list[Target]:
        return [t for t in self.targets if t.kind in ("missing", "none")]

    @property
    def exit_code(self) -> int:
        if self.bad_paths:
            return exitcodes.USAGE
        if self.incomplete:
            return exitcodes.INCOMPLETE
        if any(f.severity.is_problem for f in self.findings):
            return exitcodes.PROBLEMS
        return exitcodes.OK


# --------------------------------------------------------------------------------------------
# Hash cache (local SQLite; never on a network filesystem)


class HashCache:
    """sha256 of file contents keyed by the stat identity of the file, plus record fingerprints.

    A change of content changes mtime/ctime (and usually size), and a replaced file gets a new
    inode, so a hit means the same bytes. Workers only read it; only this process writes it,
    in short transactions. No connection stays open here between writes: workers are forked
    from this process, and SQLite state must never cross a fork. Plain rollback journal, not
    WAL: a reader that meets a writer just counts a miss.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending: list[tuple[Any, ...]] = []
        self.pending_records: list[tuple[Any, ...]] = []
        self.forget: list[str] = []
        self.pending_dirs: list[tuple[Any, ...]] = []
        self.last_commit = time.monotonic()
        with contextlib.closing(self._connect()) as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS files (dev INTEGER, ino INTEGER, size INTEGER,"
                " mtime_ns INTEGER, ctime_ns INTEGER, sha256 TEXT, md5 TEXT, seen INTEGER,"
                " PRIMARY KEY (dev, ino))"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS records (path TEXT PRIMARY KEY, rkey TEXT,"
                " mode TEXT, paths TEXT, keys BLOB, meta TEXT, seen INTEGER)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS dirs (root TEXT, path TEXT, key TEXT, subdirs TEXT,"
                " arts TEXT, seen INTEGER, PRIMARY KEY (root, path))"
            )
            db.commit()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), timeout=1.0)
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
            db.execute("PRAGMA journal_mode=DELETE")
        return db

    def add(self, rows: Iterable[Sequence[Any]]) -> None:
        now = int(time.time())
        for row in rows:
            self.pending.append((*row[:7], now))
        if len(self.pending) > 20000:  # bounded memory
            self.flush()

    def due(self) -> bool:
        """Time to write what was learnt (the run loop decides when: see ``_Run._loop``)."""
        return bool(self.pending or self.pending_records or self.pending_dirs or self.forget) and (
            time.monotonic() - self.last_commit > FLUSH_SECONDS
        )

    def add_record(self, fp: dict[str, Any]) -> None:
        """Remember that a record verified clean with these files in this state."""
        self.pending_records.append(
            (
                fp["path"],
                fp["rkey"],
                fp["mode"],
                fp["paths"],
                bytes.fromhex(fp["keys"]),
                fp["meta"],
                int(time.time()),
            )
        )

    def add_dirs(self, rows: Iterable[Sequence[Any]]) -> None:
        """Remember directory listings (subdirectories, leftovers) under their stat key."""
        now = int(time.time())
        self.pending_dirs.extend((*row[:5], now) for row in rows)

    def forget_record(self, path: str) -> None:
        self.forget.append(path)

    def flush(self, prune: bool = False) -> None:
        """Write what was learnt; a locked cache (another run) only costs re-hashing later."""
        if self.pending or self.pending_records or self.forget or self.pending_dirs or prune:
            try:
                with contextlib.closing(self._connect()) as db:
                    forget = _storable([(p,) for p in self.forget])
                    db.executemany("DELETE FROM records WHERE path=?", forget)
                    db.executemany(
                        "INSERT OR REPLACE INTO records VALUES (?,?,?,?,?,?,?)",
                        _storable(self.pending_records),
                    )
                    db.executemany(
                        "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?)",
                        _storable(self.pending),
                    )
                    db.executemany(
                        "INSERT OR REPLACE INTO dirs VALUES (?,?,?,?,?,?)",
                        _storable(self.pending_dirs),
                    )
                    if prune:  # forget files not seen for half a year
                        cutoff = int(time.time()) - 180 * 86400
                        db.execute("DELETE FROM files WHERE seen < ?", (cutoff,))
                        db.execute("DELETE FROM records WHERE seen < ?", (cutoff,))
                        db.execute("DELETE FROM dirs WHERE seen < ?", (cutoff,))
                    db.commit()
            except sqlite3.Error:
                pass
        self.pending_records.clear()
        self.pending.clear()
        self.forget.clear()
        self.pending_dirs.clear()
        self.last_commit = time.monotonic()

    def close(self) -> None:
        self.flush(prune=True)


def _storable(rows: Iterable[Sequence[Any]]) -> list[Sequence[Any]]:
    """The rows SQLite can store: a name with undecodable bytes (a surrogate) is not
    remembered, which only costs hashing it again; storing it would raise."""
    kept = []
    for row in rows:
        try:
            for value in row:
                if isinstance(value, str):
                    value.encode("utf-8")
        except UnicodeEncodeError:
            continue
        kept.append(row)
    return kept


def open_hash_cache(mounts: Sequence[Mount]) -> tuple[HashCache | None, str]:
    """The user's hash cache, or None with the reason (network home, unwritable, ...)."""
    import platformdirs

    base = Path(platformdirs.user_cache_path("condashare"))
    mount = mount_for(base, mounts)
    if mount is not None and mount.possibly_remote:
        kind = "network" if mount.is_network else "possibly remote"
        return None, (
            f"hash cache disabled: the user cache dir {base} is on a {kind} filesystem "
            f"({mount.fstype}); SQLite is unsafe there, so every file is re-hashed"
        )
    path = base / "verify-hashes.sqlite3"
    try:
        base.mkdir(parents=True, exist_ok=True)
        try:
            return HashCache(path), f"hash cache: {base}"
        except sqlite3.DatabaseError:  # a damaged cache is only a cache: start a new one
            path.unlink(missing_ok=True)
            return HashCache(path), f"hash cache: {base} (damaged cache file replaced)"
    except (OSError, sqlite3.Error) as exc:
        return None, f"hash cache disabled: {exc}"


# --------------------------------------------------------------------------------------------
# Worker processes we can abandon (the mechanics: condashare.bounded.workers)


class _Proc:
    """One worker process with the tasks it has been sent and not yet answered, in order."""

    def __init__(self) -> None:
        # imported before the worker starts, so that a forked worker has it loaded: without
        # this each child of each run paid the import (and without .pyc files the compile)
        from condashare.doctor import integrity_worker

        self.worker = workers.Worker(integrity_worker.serve)
        self.pid = self.worker.pid
        self.fd = self.worker.fd
        self.buf = b""
        self.inflight: collections.deque[dict[str, Any]] = collections.deque()
        self.sizes: collections.deque[int] = collections.deque()  # of inflight, in bytes
        self.unread = 0  # bytes of unanswered tasks, an upper bound of what sits in the pipe
        self.last = time.monotonic()

    def answered(self) -> dict[str, Any]:
        self.unread -= self.sizes.popleft()
        return self.inflight.popleft()

    def load(self, batching: bool) -> int:
        """Pipeline slots taken (see ``_weight``)."""
        return sum(_weight(t, batching) for t in self.inflight)

    def send(self, tasks: list[dict[str, Any]], batching: bool = False) -> bool:
        """Queue tasks in the worker (one write); False if the worker is gone (pipe broke).

        Tasks are small (long path lists are split by the caller and queued alone) and the
        caller keeps at most PIPE_BYTES of them unanswered (see ``_task_bytes``), so the pipe
        never fills even when the worker is stuck: the write cannot block.
        """
        if not self.inflight:
            self.last = time.monotonic()
        self.inflight.extend(tasks)
        for task in tasks:
            size = _task_bytes(task)
            self.sizes.append(size)
            self.unread += size
        lines: list[Any] = []
        for task in tasks:  # with batching, runs of record tasks travel as one message
            if not (batching and task["op"] == "record"):
                lines.append(task)
            elif lines and isinstance(lines[-1], list) and len(lines[-1]) < RECORD_BATCH:
                lines[-1].append(task)
            else:
                lines.append([task])
        data = "".join(
            json.dumps({"batch": line} if isinstance(line, list) else line) + "\n" for line in lines
        ).encode()
        return self.worker.write(data)

    def abandon(self) -> None:
        """Kill and forget: a child stuck on a dead share may never be reapable."""
        self.worker.abandon()

    def close(self) -> None:
        if self.inflight:
            self.abandon()
        else:
            self.worker.close()


def _task_bytes(task: dict[str, Any]) -> int:
    """An upper bound of a task's size on the wire: keys, numbers and punctuation fit in 256
    bytes; a string takes one byte per character when JSON copies it as is, else at most 12
    (``\\uXXXX`` escapes, two of them for a character beyond the BMP)."""
    size = 256
    for value in task.values():
        if isinstance(value, dict):  # a hash task's package info: strings and None
            value = list(value.values())
        for text in value if isinstance(value, list) else (value,):
            if isinstance(text, str):
                plain = text.isascii() and text.isprintable() and '"' not in text
                size += 4 + (len(text) if plain and "\\" not in text else 12 * len(text))
    return size


def _weight(task: dict[str, Any], batching: bool = False) -> int:
    """Pipeline slots a task takes, in 1/RECORD_BATCH units when records are batched.

    A big-file hash fills a worker's pipeline on its own (so nothing waits behind it while
    another worker idles), and a task carrying a list of up to 200 paths is never queued with
    another (so queued tasks always fit in a pipe buffer).
    """
    if task["op"] == "record":
        return 1
    unit = RECORD_BATCH if batching else 1
    if task["op"] == "hash":
        return PIPELINE * unit
    if "paths" in task:
        return (PIPELINE + 2) * unit
    return unit


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class _PkgProblems:
    target: str  # env prefix or package cache
    dist: str
    area: str  # env | cache
    info: dict[str, Any] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0


class _Run:
    def __init__(
        self,
        deep: bool,
        jobs: int,
        timeout: float,
        cache: HashCache | None,
        mounts: Sequence[Mount],
        progress: Progress | None,
    ) -> None:
        self.deep = deep
        self.jobs = max(1, jobs)
        self.timeout = timeout
        self.cache = cache
        self.mounts = mounts
        self.progress = progress
        self.queue: collections.deque[dict[str, Any]] = collections.deque()
        self.next_id = 0
        self.done = 0
        self.total = 0
        self.stats = VerifyStats()
        self.findings: list[Finding] = []
        self.pkg: dict[tuple[str, str], _PkgProblems] = {}
        self.dead_mounts: dict[str, str] = {}  # mountpoint -> first path that hung
        self.unresponsive: dict[str, list[str]] = collections.defaultdict(list)
        self.incomplete = False
        self.targets: dict[str, Target] = {}
        self.artefacts: list[tuple[str, str, int, bool]] = []  # (target, path, size, is_dir)
        self.artefact_counts: dict[str, tuple[int, int]] = {}
        self.links: list[tuple[str, str, str, str]] = []  # (env, dist, pkgs_dir, spec)
        self.user_envs: set[str] = set()
        self.caches: dict[str, dict[str, Any]] = {}
        self.last_progress = 0.0
        self.procs: list[_Proc] = []
        # record path -> [fingerprint row, big files still being hashed]
        self.pending_fp: dict[str, list[Any]] = {}
        # leftover path -> its real path, as the kernel names open files (for holders)
        self.real_paths: dict[str, str] = {}
        self.mount_memo: dict[str, Mount | None] = {}
        self.exists_answer: set[str] = set()  # answers of the shared-cache probes
        self.writable_answer: dict[str, bool] = {}
        self.fast_records = False  # the last record took the cache's fast path: batch them

    # -- queue ---------------------------------------------------------------------------
    def add(self, op: str, path: str, front: bool = False, **kw: Any) -> None:
        self.next_id += 1
        task = {
            "id": self.next_id,
            "op": op,
            "path": path,
            "deep": self.deep,
            "local": self.is_local(path),
            **kw,
        }
        if self.cache is not None:
            task["cache"] = str(self.cache.path)
        self.total += 1
        if front:
            self.queue.appendleft(task)
        else:
            self.queue.append(task)

    def _mount(self, path: str) -> Mount | None:
        """mount_for, remembered per path (every record task of an env shares its path)."""
        if path not in self.mount_memo:
            if len(self.mount_memo) > 100_000:
                self.mount_memo.clear()
            self.mount_memo[path] = mount_for(path, self.mounts)
        return self.mount_memo[path]

    def is_local(self, path: str) -> bool:
        mount = self._mount(path)
        return mount is not None and not mount.possibly_remote

    def mount_key(self, path: str) -> str:
        mount = self._mount(path)
        return mount.mountpoint if mount is not None else "/"

    def run(self) -> None:
        """Work until the queue is empty and every worker has answered (or been abandoned)."""
        try:
            self._loop()
        finally:
            if self.cache is not None:
                self.cache.flush()

    def close(self) -> None:
        for p in self.procs:
            p.close()
        self.procs.clear()

    def _busy(self) -> list[_Proc]:
        return [p for p in self.procs if p.inflight]

    def _loop(self) -> None:
        procs = self.procs
        while self.queue or self._busy():
            # keep every worker PIPELINE tasks deep so none waits for this process;
            # tasks on a share that already hung are not tried again
            while self.queue and len(procs) < self.jobs:
                procs.append(_Proc())
            # writing the cache takes this process away for a few ms: queue deeper first,
            # so the workers do not run dry meanwhile
            flush = self.cache is not None and self.cache.due()
            batching = not self.deep or self.fast_records
            depth = (PIPELINE + 2 if flush else PIPELINE) * (RECORD_BATCH if batching else 1)
            for p in list(procs):
                batch: list[dict[str, Any]] = []
                load = p.load(batching)
                unread = p.unread
                while self.queue and load < depth:
                    task = self._next_task()
                    if task is None:
                        break
                    size = _task_bytes(task)
                    if (p.inflight or batch) and unread + size > PIPE_BYTES:
                        self.queue.appendleft(task)  # the pipe could fill: later
                        break
                    batch.append(task)
                    load += _weight(task, batching)
                    unread += size
                if batch and not p.send(batch, batching):
                    self._worker_lost(p)
            if flush and self.cache is not None:
                self.cache.flush()
            busy = self._busy()
            if not busy:
                continue
            now = time.monotonic()
            wait = max(0.01, min(p.last + self.timeout for p in busy) - now)
            ready, _, _ = select.select([p.fd for p in busy], [], [], min(wait, 0.5))
            for p in busy:
                if p.fd in ready and p in procs:
                    self._read(p)
            now = time.monotonic()
            for p in list(procs):
                if p.inflight and now - p.last > self.timeout:
                    tasks = list(p.inflight)
                    p.abandon()
                    procs.remove(p)
                    self.dead_mounts.setdefault(self.mount_key(tasks[0]["path"]), tasks[0]["path"])
                    for task in tasks:
                        self._unresponsive(task)
            self._report_progress()

    def _next_task(self) -> dict[str, Any] | None:
        while self.queue:
            task = self.queue.popleft()
            if self.mount_key(task["path"]) in self.dead_mounts:
                self._unresponsive(task)
                continue
            return task
        return None

    def _worker_lost(self, p: _Proc) -> None:
        """A worker died (crash, killed): its tasks are reported, not retried."""
        tasks = list(p.inflight)
        p.abandon()
        if p in self.procs:
            self.procs.remove(p)
        for task in tasks:
            self.incomplete = True
            self.done += 1
            self.findings.append(
                Finding(
                    check="integrity.incomplete",
                    severity=Severity.ERROR,
                    title=f"a verification worker died while checking {task['path']}",
                    data={"path": task["path"], "op": task["op"]},
                )
            )

    def _read(self, p: _Proc) -> None:
        try:
            chunk = os.read(p.fd, 1 << 20)
        except OSError:
            chunk = b""
        if not chunk:
            self._worker_lost(p)
            return
        p.last = time.monotonic()
        p.buf += chunk
        while b"\n" in p.buf:
            line, p.buf = p.buf.split(b"\n", 1)
            msg = json.loads(line)
            if "hb" in msg or not p.inflight:
                continue
            task = p.answered()
            self.done += 1
            self._handle(task, msg)

    def _report_progress(self) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if now - self.last_progress < 0.2:
            return
        self.last_progress = now
        self.progress(
            ProgressInfo(self.done, self.total, self.stats.files, self.stats.bytes_hashed)
        )

    def _unresponsive(self, task: dict[str, Any]) -> None:
        self.incomplete = True
        self.done += 1
        top = task.get("target", task["path"])
        shown = task["path"]
        if task["op"] == "record":
            shown = os.path.join(task["path"], "conda-meta", task["record"])
        elif task["op"] == "hash":
            shown = task["path"]
        self.unresponsive[top].append(shown)
        if task["op"] == "classify":
            self.targets[task["path"]] = Target(
                task["path"], "unresponsive", f"no answer in {self.timeout:g} s"
            )

    # -- results -------------------------------------------------------------------------
    def _handle(self, task: dict[str, Any], msg: dict[str, Any]) -> None:
        if "error" in msg:
            self.incomplete = True
            words = error_words(msg["errno"], msg["error"]) if msg.get("errno") else msg["error"]
            self.findings.append(
                Finding(
                    check="integrity.incomplete",
                    severity=Severity.ERROR,
                    title=f"could not check {task['path']}: {words}",
                    data={"path": task["path"], "op": task["op"], "error": msg["error"]},
                )
            )
            return
        getattr(self, "_on_" + task["op"])(task, msg)

    def _on_classify(self, task: dict[str, Any], msg: dict[str, Any]) -> None:
        path = task["path"]
        kind = msg.get("kind", "error")
        if kind == "env":
            self.targets[path] = Target(path, "env")
            self._add_env(path, bool(msg.get("writable")), walk=True)
        elif kind == "cache":
            self.targets[path] = Target(path, "cache", caches=(path,))
            self._add_cache(path, walk=True)
        elif kind == "root":
            envs = tuple(msg.get("envs") or ())
            pkgs = msg.get("pkgs")
            self.targets[path] = Target(
                path, "root", envs=(path, *envs), caches=(pkgs,) if pkgs else ()
            )
            self.add("walk", path, target=path)
            self._add_env(path, bool(msg.get("writable")), walk=False, root=path)
            for env in envs:
                self._add_env(env, True, walk=False, root=path)
            if pkgs:
                self._add_cache(pkgs, walk=False)
        else:
            text = msg.get("reason") or "not a conda environment, package cache or installation"
            if kind == "error" and msg.get("errno"):
                text = error_words(msg["errno"], text)  # "stale file handle (ESTALE)"
            if kind == "error":
                self.incomplete = True
                self.findings.append(
                    Finding(
                        check="integrity.incomplete",
                        severity=Severity.ERROR,
                        title=f"could not read {path}: {text}",
                        data={"path": path, "error": text},
                    )
                )
            if kind == "none" and not msg.get("reason"):
                text = (
                    "not a conda environment (no conda-meta/), package cache (no urls.txt "
                    "or */info/paths.json) or installation (base env with envs/ or pkgs/)"
                )
            self.targets[path] = Target(path, kind, text)

    def _add_env(self, prefix: str, writable: bool, walk: bool, root: str | None = None) -> None:
        self.add("env", prefix, target=prefix)
        if walk:
            self.add("walk", prefix, target=prefix)
        if writable and root is None:
            self.user_envs.add(prefix)

    def _add_cache(self, pkgs: str, walk: bool) -> None:
        self.add("cache", pkgs, target=pkgs)
        if walk:
            self.add("walk", pkgs, target=pkgs)

    def _on_env(self, task: dict[str, Any], msg: dict[str, Any]) -> None:
        for name in msg.get("records", []):
            self.add("record", task["path"], target=task["path"], record=name)

    def _on_walk(self, task: dict[str, Any], msg: dict[str, Any]) -> None:
        for raw, size, is_dir, *real in msg.get("artefacts", []):
            path = raw  # exact, undecodable bytes included: render.shown shows them
            self.artefacts.append((task["path"], path, int(size), bool(is_dir)))
            if real:
                self.real_paths[path] = real[0]
        self.artefact_counts[task["path"]] = (int(msg.get("count", 0)), int(msg.get("bytes", 0)))
        if self.cache is not None and msg.get("dirs"):
            self.cache.add_dirs(msg["dirs"])

    def _count(self, msg: dict[str, Any]) -> None:
        self.stats.files += int(msg.get("files", 0))
        self.stats.bytes_hashed += int(msg.get("bytes", 0))
        self.stats.cache_hits += int(msg.get("hits", 0))
        if self.cache is not None and msg.get("hashed"):
            self.cache.add(msg["hashed"])

    def _problems(self, target: str, dist: str, area: str) -> _PkgProblems:
        key = (target, dist)
        if key not in self.pkg:
            self.pkg[key] = _PkgProblems(target, dist, area)
        return self.pkg[key]

    def _add_problems(
        self, entry: _PkgProblems, problems: list[dict[str, Any]], count: int | None = None
    ) -> None:
        entry.count += len(problems) if count is None else count
        room = MAX_FILES_PER_FINDING - len(entry.problems)
        entry.problems.extend(problems[: max(0, room)])

    def _on_record(self, task: dict[str, Any], msg: dict[str, Any]) -> None:
        prefix = task["path"]
        self.stats.records += 1
        self.fast_records = bool(msg.get("fast"))
        dist = task["record"][:-5]
        if "record_error" in msg:
            self.findings.append(_record_finding(prefix, dist, msg["record_error"]))
            return
        self._count(msg)
        info = {
            k: msg.get(k) for k in ("name", "version", "build", "channel", "source", "link_type")
        }
        if msg.get("nproblems"):
            entry = self._problems(prefix, dist, "env")
            entry.info = info
            self._add_problems(entry, msg.get("problems", []), int(msg["nproblems"]))
        defer = msg.get("defer", [])
        rec_path = os.path.join(prefix, "conda-meta", task["record"])
        if self.cache is not None:
            if msg.get("fp"):
                if defer:  # clean only once its big files hashed clean too
                    self.pending_fp[rec_path] = [msg["fp"], len(defer)]
                else:
                    self.cache.add_record(msg["fp"])
            elif not msg.get("fast"):
                self.cache.forget_record(rec_path)
        for job in defer:
            self.add(
                "hash",
                job["path"],
                front=True,
                target=prefix,
                owner=dist,
                area="env",
                rel=job["rel"],
                sha256=job["sha256"],
                info=info,
                record=rec_path,
            )
        source = msg.get("source")
        if isinstance(source, str) and source:
            spec = f"{info['name']}={info['version']}={info['build']}"
            self.links.append((prefix, dist, os.path.dirname(source.rstrip("/")), spec))

    def _on_hash(self, task: dict[str, Any], msg: dict[str, Any]) -> None:
        self._count(msg)
        waiting = self.pending_fp.get(task.get("record", ""))
        if waiting is not None:
            if msg.get("problems"):
                del self.pending_fp[task["record"]]
            else:
                waiting[1] -= 1
                if waiting[1] == 0 and self.cache is not None:
                    self.cache.add_record(waiting[0])
                    del self.pending_fp[task["record"]]
        if msg.get("problems"):
            entry = self._problems(task["target"], task["owner"], task["area"])
            entry.info = entry.info or dict(task.get("info") or {})
            self._add_problems(entry, msg["problems"])

    def _on_cache(self, task: dict[str, Any], msg: dict[str, Any]) -> None:
        pkgs = task["path"]
        self.caches[pkgs] = msg
        for name in msg.get("entries", []):
            self.add("centry", os.path.join(pkgs, name), target=pkgs)

    def _on_centry(self, task: dict[str, Any], msg: dict[str, Any]) -> None:
        pkgs = task["target"]
        dist = msg.get("dist") or os.path.basename(task["path"])
        self.stats.cache_entries += 1
        state = self.caches.setdefault(pkgs, {})
        if "partial" in msg:
            state.setdefault("partial", []).append(
                (dist, msg["partial"], int(msg.get("bytes_on_disk", 0)))
            )
            return
        if msg.get("no_record") or msg.get("record_error"):
            state.setdefault("no_record", []).append(
                (dist, msg.get("record_error") or "info/repodata_record.json is missing")
            )
        self._count(msg)
        if msg.get("nproblems"):
            entry = self._problems(pkgs, dist, "cache")
            self._add_problems(entry, msg.get("problems", []), int(msg["nproblems"]))
        for job in msg.get("defer", []):
            self.add(
                "hash",
                job["path"],
                front=True,
                target=pkgs,
                owner=dist,
                area="cache",
                rel=job["rel"],
                sha256=job["sha256"],
            )
        for arch in msg.get("archives", []):
            expect = arch.get("expect") or {}
            rel = os.path.basename(arch["path"])
            if not expect:
                continue
            if isinstance(expect.get("size"), int) and expect["size"] != arch["size"]:
                entry = self._problems(pkgs, dist, "cache")
                self._add_problems(
                    entry,
                    [
                        {
                            "path": rel,
                            "problem": "size",
                            "expected": expect["size"],
                            "found": arch["size"],
                            "archive": True,
                        }
                    ],
                )
            elif self.deep and (expect.get("sha256") or expect.get("md5")):
                self.add(
                    "hash",
                    arch["path"],
                    front=True,
                    target=pkgs,
                    owner=dist,
                    area="cache",
                    rel=rel,
                    sha256=expect.get("sha256"),
                    md5=expect.get("md5"),
                )

    def _on_exists(self, task: dict[str, Any], msg: dict[str, Any]) -> None:
        self.exists_answer.update(msg.get("exists", []))

    def _on_writable(self, task: dict[str, Any], msg: dict[str, Any]) -> None:
        self.writable_answer.update(msg.get("writable", {}))


def _split_dist(dist: str) -> tuple[str, str, str]:
    parts = dist.rsplit("-", 2)
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return dist, "", ""


def _spec(info: dict[str, Any], dist: str) -> str:
    name, version, build = _split_dist(dist)
    name = info.get("name") or name
    version = info.get("version") or version
    build = info.get("build") or build
    return f"{name}={version}={build}" if version and build else str(name)


def _q(path: str) -> str:
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


def _env_finding(entry: _PkgProblems) -> Finding:
    prefix, dist = entry.target, entry.dist
    spec = _spec(entry.info, dist)
    fix = f"conda install -p {_q(prefix)} --force-reinstall {_q(spec)}"
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
        fix = f"rm -rf {_q(source)} && {fix}"
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


def _record_finding(prefix: str, dist: str, error: str) -> Finding:
    rec = os.path.join(prefix, "conda-meta", dist + ".json")
    name, version, build = _split_dist(dist)
    spec = f"{name}={version}={build}" if version and build else name
    return Finding(
        check="integrity.env-record",
        severity=Severity.ERROR,
        title=f"{dist} in {prefix}: conda-meta record is unreadable",
        detail=shown(f"{rec}: {error}. conda cannot list, update or remove this package."),
        fix=(
            f"mv {_q(rec)} {_q(rec + '.broken')} && "
            f"conda install -p {_q(prefix)} --force-reinstall {_q(spec)}"
        ),
        data={"prefix": prefix, "package": dist, "record": rec, "error": error},
    )


def _cache_finding(entry: _PkgProblems, writable: bool | None) -> Finding:
    pkgs, dist = entry.target, entry.dist
    base = os.path.join(pkgs, dist)
    archive_only = all(
        p.get("archive") or p["problem"] == "md5" or p["path"].endswith((".conda", ".tar.bz2"))
        for p in entry.problems
    )
    where = "archive" if archive_only else "extracted package"
    remove = f"rm -rf {_q(base)} {_q(base + '.conda')} {_q(base + '.tar.bz2')}"
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


def _human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _max_age(cache_control: Any) -> float | None:
    match = re.search(r"max-age=(\d+)", str(cache_control or ""))
    return float(match.group(1)) if match else None


def find_holders(paths: Sequence[str], budget: float = HOLDER_SCAN_SECONDS) -> dict[str, list[str]]:
    """Which local processes hold these files open: ``{path: ["1234 (python)", ...]}``.

    Linux: read ``/proc/*/fd`` links (never touches the files themselves, so a dead share
    cannot hang it). Elsewhere psutil's ``open_files``. Bounded by ``budget`` seconds; files held
    by processes on *other* hosts cannot be seen from here.
    """
    wanted = set(paths)
    found: dict[str, list[str]] = collections.defaultdict(list)
    if not wanted:
        return found
    deadline = time.monotonic() + budget
    me = os.getpid()
    if os.path.isdir("/proc/self/fd"):
        try:
            pids = [int(n) for n in os.listdir("/proc") if n.isdigit()]
        except OSError:
            pids = []
        for pid in pids:
            if time.monotonic() > deadline:
                break
            if pid == me:
                continue
            fd_dir = f"/proc/{pid}/fd"
            try:
                fds = os.listdir(fd_dir)
            except OSError:
                continue
            hit = set()
            for fd in fds:
                try:
                    target = os.readlink(f"{fd_dir}/{fd}")
                except OSError:
                    continue
                if target.endswith(" (deleted)"):
                    target = target[: -len(" (deleted)")]
                if target in wanted:
                    hit.add(target)
            if hit:
                try:
                    with open(f"/proc/{pid}/comm") as fh:
                        comm = fh.read().strip()
                except OSError:
                    comm = "?"
                for target in hit:
                    found[target].append(f"{pid} ({comm})")
        return found
    try:
        import psutil
    except ImportError:
        return found
    for proc in psutil.process_iter(["pid", "name"]):
        if time.monotonic() > deadline:
            break
        try:
            for item in proc.open_files():
                if item.path in wanted:
                    found[item.path].append(f"{proc.info['pid']} ({proc.info['name']})")
        except (psutil.Error, OSError):
            continue
    return found


def _finish(
    run: _Run,
    now_ns: int,
    repodata_ttl: int,
    very_old_days: float,
) -> None:
    """Turn collected observations into findings (the parts that need the whole picture)."""
    findings = run.findings
    for entry in run.pkg.values():
        if entry.area == "env":
            findings.append(_env_finding(entry))
        else:
            writable = run.caches.get(entry.target, {}).get("writable")
            findings.append(_cache_finding(entry, writable))

    for top, paths in run.unresponsive.items():
        listed = paths[:DETAIL_LINES]
        more = f"\n... and {len(paths) - len(listed)} more" if len(paths) > len(listed) else ""
        findings.append(
            Finding(
                check="integrity.unresponsive",
                severity=Severity.ERROR,
                title=f"{top}: unresponsive (no answer in {run.timeout:g} s); "
                f"{len(paths)} item(s) not verified",
                detail="\n".join(map(shown, listed)) + more,
                fix="The filesystem stopped answering (a hung NFS server?). Check it with "
                "`condashare info`, then run verify again when it is back.",
                data={"path": top, "items": paths[:MAX_FILES_PER_FINDING], "count": len(paths)},
            )
        )

    # NFS silly-rename files and conda trash, with who holds them open
    real = run.real_paths
    found = find_holders([real.get(a[1], a[1]) for a in run.artefacts])
    holders = {a[1]: found.get(real.get(a[1], a[1]), []) for a in run.artefacts}
    by_top: dict[str, list[tuple[str, str, int, bool]]] = collections.defaultdict(list)
    for art in run.artefacts:
        by_top[art[0]].append(art)
    for top, arts in by_top.items():
        count, nbytes = run.artefact_counts.get(top, (len(arts), sum(a[2] for a in arts)))
        items: list[dict[str, Any]] = []
        lines: list[str] = []
        for _, path, size, is_dir in arts:
            who = holders.get(path, [])
            items.append({"path": path, "bytes": size, "dir": is_dir, "held_by": who})
            if len(lines) < DETAIL_LINES:
                held = ("held open by " + ", ".join(who)) if who else "no process here holds it"
                lines.append(shown(f"{path} ({_human_bytes(size)}; {held})"))
        if count > len(lines):
            lines.append(f"... and {count - len(lines)} more")
        any_held = any(i["held_by"] for i in items)
        findings.append(
            Finding(
                check="integrity.nfs-artefacts",
                severity=Severity.WARNING,
                title=f"{top}: {count} NFS/conda leftover file(s) (.nfs*, *.conda_trash), "
                f"{_human_bytes(nbytes)}",
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

    # package caches: partial extractions, entries without record, leftovers, repodata state
    for pkgs, state in run.caches.items():
        writable = state.get("writable")
        partial = state.get("partial", [])
        if partial:
            nbytes = sum(p[2] for p in partial)
            findings.append(
                Finding(
                    check="integrity.cache-partial",
                    severity=Severity.WARNING,
                    title=f"{pkgs}: {len(partial)} partial extraction(s), {_human_bytes(nbytes)}",
                    detail="\n".join(shown(f"{d}: {why}") for d, why, _ in partial[:DETAIL_LINES]),
                    fix=" && ".join(
                        f"rm -rf {_q(os.path.join(pkgs, d))}" for d, _, _ in partial[:DETAIL_LINES]
                    ),
                    data={
                        "pkgs_dir": pkgs,
                        "items": [
                            {"package": d, "reason": why, "bytes": b} for d, why, b in partial
                        ],
                    },
                )
            )
        no_record = state.get("no_record", [])
        if no_record:
            findings.append(
                Finding(
                    check="integrity.cache-record",
                    severity=Severity.WARNING,
                    title=f"{pkgs}: {len(no_record)} extracted package(s) without a usable "
                    "info/repodata_record.json",
                    detail="\n".join(shown(f"{d}: {why}") for d, why in no_record[:DETAIL_LINES]),
                    fix=" && ".join(
                        f"rm -rf {_q(os.path.join(pkgs, d))}" for d, _ in no_record[:DETAIL_LINES]
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
                    title=f"{pkgs}: {_human_bytes(reclaim)} reclaimable "
                    f"(.trash {_human_bytes(trash)}, partial downloads "
                    f"{_human_bytes(dl_bytes)}, partial extractions "
                    f"{_human_bytes(sum(p[2] for p in partial))})",
                    fix=(
                        f"rm -rf {_q(os.path.join(pkgs, '.trash'))}/* while no conda runs; "
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
            seen = {
                "path": item["path"],
                "url": item.get("state_url"),
                "age_days": round(age / 86400, 1),
                "ttl_s": ttl,
            }
            if age > very_old_days * 86400:
                old.append(seen)
            elif age > ttl:
                stale.append(seen)
        if old:
            findings.append(
                Finding(
                    check="integrity.repodata-old",
                    severity=Severity.WARNING,
                    title=f"{pkgs}: {len(old)} repodata cache(s) older than {very_old_days:g} days",
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
                    title=f"{pkgs}: {len(stale)} repodata cache(s) past their TTL "
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
            mount = mount_for(shards, run.mounts)
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
                        "~/.condarc) or remove the file: rm " + _q(shards),
                        data={"path": shards, "fstype": mount.fstype},
                    )
                )


def _shared_links(
    run: _Run, shared_pkgs_dirs: Sequence[str], user_pkgs_dirs: Sequence[str]
) -> None:
    """User envs that link packages from a shared cache; builds found only there."""
    links = [link for link in run.links if link[0] in run.user_envs]
    if not links:
        return
    explicit = {os.path.normpath(p) for p in shared_pkgs_dirs}
    why: dict[str, str] = {}
    unknown: list[str] = []
    for pkgs in sorted({link[2] for link in links}):
        mount = mount_for(pkgs, run.mounts)
        if os.path.normpath(pkgs) in explicit:
            why[pkgs] = "a shared cache"
        elif mount is not None and mount.possibly_remote:
            kind = "network" if mount.is_network else "possibly remote"
            why[pkgs] = f"on a {kind} filesystem ({mount.fstype})"
        elif mount is not None and mount.has_option("ro"):
            why[pkgs] = "on a read-only filesystem"
        else:
            unknown.append(pkgs)
    if unknown:
        run.writable_answer = {}
        for i in range(0, len(unknown), 200):
            run.add("writable", unknown[i], paths=unknown[i : i + 200])
        run.run()
        for pkgs, ok in run.writable_answer.items():
            if not ok:
                why[pkgs] = "read-only to you (urls.txt not writable)"
    if not why:
        return
    per_env: dict[str, list[tuple[str, str, str]]] = collections.defaultdict(list)
    for env, dist, pkgs, spec in links:
        if pkgs in why:
            per_env[env].append((dist, pkgs, spec))
    own = [p for p in user_pkgs_dirs if p not in why]
    probe_paths = sorted(
        {os.path.join(p, d) for items in per_env.values() for d, _, _ in items for p in own}
    )
    run.exists_answer = set()
    if probe_paths:
        for i in range(0, len(probe_paths), 200):  # small tasks: a pipe write never blocks
            run.add("exists", own[0] if own else "/", paths=probe_paths[i : i + 200])
        run.run()
    have = run.exists_answer
    for env, items in sorted(per_env.items()):
        caches = sorted({pkgs for _, pkgs, _ in items})
        run.findings.append(
            Finding(
                check="integrity.shared-cache-link",
                severity=Severity.INFO,
                title=f"{env}: {len(items)} package(s) linked straight from a shared cache",
                detail="\n".join(shown(f"{c}: {why[c]}") for c in caches)
                + "\nconda links any matching extracted package from any pkgs dir, shared "
                "ones included; damage there reaches this environment.",
                fix="",
                data={"prefix": env, "pkgs_dirs": caches, "packages": [d for d, _, _ in items]},
            )
        )
        only = [(d, s) for d, _, s in items if not any(os.path.join(p, d) in have for p in own)]
        if only:
            specs = " ".join(_q(s) for _, s in only[:20])
            user_cache = own[0] if own else "~/.conda/pkgs"
            run.findings.append(
                Finding(
                    check="integrity.shared-only-build",
                    severity=Severity.WARNING,
                    title=f"{env}: {len(only)} build(s) exist only in a shared cache",
                    detail="\n".join(shown(d) for d, _ in only[:DETAIL_LINES])
                    + ("\n..." if len(only) > DETAIL_LINES else "")
                    + "\nThese builds came from a shared cache, not from your channels: "
                    "old packages leak into new environments this way (offline solves "
                    "treat every cache as a channel).",
                    fix=f"CONDA_PKGS_DIRS={_q(user_cache)} conda install -p {_q(env)} "
                    f"--force-reinstall {specs}   # fails if the build is gone from your "
                    "channels: then update the package instead",
                    data={"prefix": env, "packages": [d for d, _ in only]},
                )
            )


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
    run = _Run(deep, jobs, timeout, cache, mounts, progress)
    run.stats.workers = jobs
    for path in order:
        run.add("classify", path, target=path)
    if user_pkgs_dirs is None:
        user_pkgs_dirs = [os.path.join(os.path.expanduser("~"), ".conda", "pkgs")]
    try:
        run.run()
        _shared_links(run, shared_pkgs_dirs, list(user_pkgs_dirs))
        _finish(run, time.time_ns(), repodata_ttl, very_old_days)
    finally:
        run.close()
        if cache is not None:
            cache.close()
        deadline = time.monotonic() + 0.05  # finished workers exit within ms: collect them
        while children.reap() and time.monotonic() < deadline:
            time.sleep(0.002)
    run.stats.seconds = time.monotonic() - start
    targets = [run.targets.get(p, Target(p, "unresponsive")) for p in order]
    order_rank = {"error": 0, "warning": 1, "info": 2, "ok": 3}
    run.findings.sort(key=lambda f: (order_rank[f.severity.value], f.check, f.title))
    return VerifyReport(
        mode="deep" if deep else "quick",
        targets=targets,
        findings=run.findings,
        stats=run.stats,
        cache_note=note,
        incomplete=run.incomplete,
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
                title=f"{report.stats.files} files in {report.stats.records} packages and "
                f"{report.stats.cache_entries} cache entries verified ({mode})",
            )
        ]
    return report.findings
