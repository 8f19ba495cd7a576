"""The scheduler: a queue of tasks, a pool of abandonable workers, pipelining and timeouts.

This process never touches the trees. Workers do, one task at a time (one record, one cache
entry, one big file), sending heartbeats while they work. A worker that falls silent for
``timeout`` seconds is abandoned — killed and never waited for, since a process stuck on a dead
share cannot be reaped — its tasks are reported unresponsive, and every task left on the same
mount is reported the same way without being tried.

The tuning (measured in benchmarks/verify): every worker is kept PIPELINE tasks deep, record
tasks travel RECORD_BATCH to a message when they are fast, the hash cache is written every
FLUSH_SECONDS after queueing deeper, and no worker ever has more than PIPE_BYTES unanswered.
What answers mean is the :class:`~condashare.verify.collect.Collector`'s business.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import select
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from condashare.host.mounts import Mount, mount_for
from condashare.verify.collect import Collector
from condashare.verify.pool import WorkerProc
from condashare.verify.protocol import (
    PIPE_BYTES,
    PIPELINE,
    RECORD_BATCH,
    Op,
    Task,
    task_bytes,
    weight,
)
from condashare.verify.report import Progress, ProgressInfo

if TYPE_CHECKING:  # the cache (and sqlite3) is imported only by runs that use it
    from condashare.verify.hashcache import HashCache

FAST_RECORD_SECONDS = 0.005


class Scheduler:
    """Runs tasks on up to ``jobs`` workers until none is left; answers go to ``observed``."""

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
        self.queue: collections.deque[Task] = collections.deque()
        self.next_id = 0
        self.done = 0
        self.total = 0
        self.procs: list[WorkerProc] = []
        self.dead_mounts: dict[str, str] = {}  # mountpoint -> first path that hung
        self.mount_memo: dict[str, Mount | None] = {}
        self.last_progress = 0.0
        self.started = time.monotonic()
        self.fast_records = False  # the last record took well under FAST_RECORD_SECONDS
        self.observed = Collector(deep, timeout, cache, self.add, self.jobs)

    # -- queue ---------------------------------------------------------------------------
    def add(self, op: Op, path: str, front: bool = False, **fields: Any) -> None:
        """Queue a task (``front``: before everything queued, e.g. a big file of a record)."""
        self.next_id += 1
        task: Task = {
            "id": self.next_id,
            "op": op,
            "path": path,
            "deep": self.deep,
            "local": self.is_local(path),
            **fields,  # type: ignore[typeddict-item]
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

    # -- running -------------------------------------------------------------------------
    def run(self) -> None:
        """Work until the queue is empty and every worker has answered (or been abandoned).

        The cyclic garbage collector is paused meanwhile (and restored after): a deep run over
        an installation holds an entry per inode and decodes ~100k answered files, so the
        collector kept walking objects that are never garbage (cycles are not made here).
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._loop()
        finally:
            if collecting:
                gc.enable()
            if self.cache is not None:
                self.cache.flush()

    def close(self) -> None:
        for p in self.procs:
            p.close()
        self.procs.clear()

    def _busy(self) -> list[WorkerProc]:
        return [p for p in self.procs if p.inflight]

    def _loop(self) -> None:
        procs = self.procs
        while True:
            if len(self.queue) < self.jobs * PIPELINE:
                # inodes waiting for a fuller batch go out before a worker runs dry
                self.observed.flush_hashes()
            if not (self.queue or self._busy()):
                break
            # keep every worker PIPELINE tasks deep so none waits for this process;
            # tasks on a share that already hung are not tried again
            while self.queue and len(procs) < self.jobs:
                procs.append(WorkerProc())
            # writing the cache takes this process away for a few ms: queue deeper first,
            # so the workers do not run dry meanwhile
            flush = self.cache is not None and self.cache.due()
            batching = self.fast_records
            depth = (PIPELINE + 2 if flush else PIPELINE) * (RECORD_BATCH if batching else 1)
            for p in list(procs):
                self._fill(p, depth, batching)
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
            self._abandon_silent()
            self._report_progress()

    def _fill(self, p: WorkerProc, depth: int, batching: bool) -> None:
        """Top up one worker's pipeline to ``depth`` slots, never past PIPE_BYTES."""
        batch: list[Task] = []
        sizes: list[int] = []
        load = p.load(batching)
        unread = p.unread
        while self.queue and load < depth:
            task = self._next_task()
            if task is None:
                break
            size = task_bytes(task)
            if (p.inflight or batch) and unread + size > PIPE_BYTES:
                self.queue.appendleft(task)  # the pipe could fill: later
                break
            batch.append(task)
            sizes.append(size)
            load += weight(task, batching)
            unread += size
        if batch and not p.send(batch, sizes, batching):
            self._worker_lost(p)

    def _abandon_silent(self) -> None:
        """Abandon workers silent for ``timeout``: their mount counts as dead from now on."""
        now = time.monotonic()
        for p in list(self.procs):
            if p.inflight and now - p.last > self.timeout:
                # the first unanswered task is the one that hung; the ones queued behind it
                # were never started: they go back to the queue, to run on another worker
                # (or, on the same mount, to be reported unresponsive untried)
                head, *behind = p.inflight
                p.abandon()
                self.procs.remove(p)
                self.dead_mounts.setdefault(self.mount_key(head["path"]), head["path"])
                self._unresponsive(head)
                self.queue.extendleft(reversed(behind))

    def _next_task(self) -> Task | None:
        while self.queue:
            task = self.queue.popleft()
            if self.mount_key(task["path"]) in self.dead_mounts:
                self._unresponsive(task)
                continue
            return task
        return None

    def _unresponsive(self, task: Task) -> None:
        self.done += 1
        self.observed.unresponsive(task)

    def _worker_lost(self, p: WorkerProc) -> None:
        """A worker died (crash, killed): its tasks are reported, not retried."""
        tasks = list(p.inflight)
        p.abandon()
        if p in self.procs:
            self.procs.remove(p)
        for task in tasks:
            self.done += 1
            self.observed.lost(task)

    def _read(self, p: WorkerProc) -> None:
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
            if task["op"] == "record":
                # batch records while they take well under a millisecond or so (local disk,
                # the cache's fast path); one at a time when each takes longer (hashing, or
                # a share with a latency per operation), so every worker gets its share
                secs = msg.get("secs")
                self.fast_records = bool(msg.get("fast")) or (
                    isinstance(secs, (int, float)) and secs < FAST_RECORD_SECONDS
                )
            self.observed.handle(task, msg)

    def _report_progress(self) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if now - self.last_progress < 0.2:
            return
        self.last_progress = now
        stats = self.observed.seen.stats
        self.progress(
            ProgressInfo(self.done, self.total, stats.files, stats.bytes_hashed, now - self.started)
        )
