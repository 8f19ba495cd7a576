"""The answers of workers turned into observations, and the follow-up tasks they call for.

One handler per op (``Collector.handlers``, an explicit table): a classified PATH queues its
records, walks and cache inventory; a record with big files queues their hashes; a record that
verified clean is remembered in the hash cache (only once its big files hashed clean too).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from condashare.bounded.errnos import error_words, is_share_failure
from condashare.verify.findings import MAX_FILES_PER_FINDING, incomplete_finding, record_finding
from condashare.verify.observations import Observations, PackageProblems
from condashare.verify.protocol import (
    MAX_TASK_PATHS,
    PIPE_BYTES,
    Answer,
    Area,
    Op,
    Task,
    task_bytes,
)
from condashare.verify.reader import DEFER_BYTES
from condashare.verify.report import Target
from condashare.wording import seconds_text

if TYPE_CHECKING:  # the cache (and sqlite3) is imported only by runs that use it
    from condashare.verify.hashcache import HashCache

# an inode in a given state: (dev, ino, size, mtime_ns, ctime_ns)
Key = tuple[int, int, int, int, int]
# what hashing an inode gave: (sha256, "", 0) or (None, error text, errno)
Sum = tuple[str | None, str, int]
# who links an inode: (target, root the path is relative to, dist, area, record, package info)
Owner = tuple[str, str, str, Area, str, dict[str, Any]]
HASH_BATCH = 64  # files to a hashes task: few messages, and still work for every worker
HASH_BATCH_BYTES = 16 << 20


class Submit(Protocol):
    """How the collector queues follow-up tasks (the scheduler's ``add``)."""

    def __call__(self, op: Op, path: str, front: bool = False, **fields: Any) -> None: ...


class Collector:
    """Reads answers into :class:`Observations` and queues the work they reveal."""

    def __init__(
        self,
        deep: bool,
        timeout: float,
        cache: HashCache | None,
        submit: Submit,
        jobs: int = 1,
    ) -> None:
        self.deep = deep
        self.jobs = jobs  # workers: a long walk is split in about twice as many slices
        self.timeout = timeout
        self.cache = cache
        self.add = submit
        self.seen = Observations()
        # record path -> [fingerprint row, big files still being hashed]
        self.pending_fp: dict[str, list[Any]] = {}
        # each inode with several links, hashed once per run: its sum, or who waits for it
        self.inodes: dict[Key, Sum | list[tuple[Owner, str, str, int]]] = {}
        self.hash_jobs: dict[int, list[Key]] = {}  # hashes task -> the inodes it hashes
        # base -> (paths, inodes, [bytes]) of inodes waiting to be queued for hashing
        self.hash_batches: dict[str, tuple[list[str], list[Key], list[int]]] = {}
        self.next_job = 0
        self.areas = 0  # envs and caches in the run
        self.handlers: dict[Op, Callable[[Task, Answer], None]] = {
            "classify": self._on_classify,
            "env": self._on_env,
            "walk": self._on_walk,
            "record": self._on_record,
            "hash": self._on_hash,
            "hashes": self._on_hashes,
            "cache": self._on_cache,
            "centry": self._on_centry,
            "exists": self._on_exists,
            "writable": self._on_writable,
        }

    def unresponsive(self, task: Task) -> None:
        """A task that was not answered in time (or not tried: its share hung before)."""
        self.seen.incomplete = True
        top = task.get("target", task["path"])
        shown = task["path"]
        if task["op"] == "record":
            shown = os.path.join(task["path"], "conda-meta", task["record"])
        self.seen.unresponsive[top].append(shown)
        if task["op"] == "classify":
            self.seen.targets[task["path"]] = Target(
                task["path"], "unresponsive", f"no answer in {seconds_text(self.timeout)}"
            )

    def lost(self, task: Task) -> None:
        """A task whose worker died (crash, killed): reported, not retried."""
        self.seen.incomplete = True
        self.seen.findings.append(
            incomplete_finding(
                f"a verification worker died while checking {task['path']}",
                path=task["path"],
                op=task["op"],
            )
        )

    def handle(self, task: Task, msg: Answer) -> None:
        if "error" in msg:
            self.seen.incomplete = True
            words = error_words(msg["errno"], msg["error"]) if msg.get("errno") else msg["error"]
            self.seen.findings.append(
                incomplete_finding(
                    f"could not check {task['path']}: {words}",
                    path=task["path"],
                    op=task["op"],
                    error=msg["error"],
                )
            )
            return
        self.handlers[task["op"]](task, msg)

    def _on_classify(self, task: Task, msg: Answer) -> None:
        path = task["path"]
        kind = msg.get("kind", "error")
        if kind == "env":
            self.seen.targets[path] = Target(path, "env")
            self._add_env(path, bool(msg.get("writable")), walk=True)
        elif kind == "cache":
            self.seen.targets[path] = Target(path, "cache", caches=(path,))
            self._add_cache(path, walk=True)
        elif kind == "root":
            envs = tuple(msg.get("envs") or ())
            pkgs = msg.get("pkgs")
            self.seen.targets[path] = Target(
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
                self.seen.incomplete = True
                self.seen.findings.append(
                    incomplete_finding(f"could not read {path}: {text}", path=path, error=text)
                )
            if kind == "none" and not msg.get("reason"):
                text = (
                    "not a conda environment (no conda-meta/), package cache (no urls.txt "
                    "or */info/paths.json) or installation (base env with envs/ or pkgs/)"
                )
            self.seen.targets[path] = Target(path, kind, text)

    @property
    def share(self) -> bool:
        """Do records and cache entries answer hard-linked files for hashing once per run?
        Only in deep runs over several envs or caches (one env alone shares nothing)."""
        return self.deep and self.areas > 1

    def _add_env(self, prefix: str, writable: bool, walk: bool, root: str | None = None) -> None:
        self.areas += 1
        self.add("env", prefix, target=prefix)
        if walk:
            self.add("walk", prefix, target=prefix)
        if writable and root is None:
            self.seen.user_envs.add(prefix)

    def _add_cache(self, pkgs: str, walk: bool) -> None:
        self.areas += 1
        self.add("cache", pkgs, target=pkgs)
        if walk:
            self.add("walk", pkgs, target=pkgs)

    def _on_env(self, task: Task, msg: Answer) -> None:
        for name in msg.get("records", []):
            self.add("record", task["path"], target=task["path"], record=name, share=self.share)

    def _on_walk(self, task: Task, msg: Answer) -> None:
        for raw, size, is_dir, *real in msg.get("artefacts", []):
            path = raw  # exact, undecodable bytes included: render.shown shows them
            self.seen.artefacts.append((task["path"], path, int(size), bool(is_dir)))
            if real:
                self.seen.real_paths[path] = real[0]
        count, nbytes = self.seen.artefact_counts.get(task["path"], (0, 0))
        self.seen.artefact_counts[task["path"]] = (
            count + int(msg.get("count", 0)),
            nbytes + int(msg.get("bytes", 0)),
        )
        rest = msg.get("rest") or []
        if rest:  # a slow tree: the rest of the walk goes to every worker, in slices
            target = task.get("target", task["path"])
            step = max(1, min(MAX_TASK_PATHS, -(-len(rest) // (2 * self.jobs))))
            chunk: list[str] = []
            size = 0
            for path in rest:
                cost = task_bytes({"id": 0, "op": "walk", "path": path})  # bounds its bytes
                if chunk and (len(chunk) >= step or size + cost > PIPE_BYTES // 2):
                    self.add("walk", task["path"], target=target, paths=chunk)
                    chunk, size = [], 0
                chunk.append(path)
                size += cost
            self.add("walk", task["path"], target=target, paths=chunk)
        if self.cache is not None and msg.get("dirs"):
            self.cache.add_dirs(msg["dirs"])

    def _count(self, msg: Answer) -> None:
        self.seen.stats.files += int(msg.get("files", 0))
        self.seen.stats.bytes_hashed += int(msg.get("bytes", 0))
        self.seen.stats.cache_hits += int(msg.get("hits", 0))
        if self.cache is not None and msg.get("hashed"):
            self.cache.add(msg["hashed"])

    def _problems(self, target: str, dist: str, area: Area) -> PackageProblems:
        key = (target, dist)
        if key not in self.seen.pkg:
            self.seen.pkg[key] = PackageProblems(target, dist, area)
        return self.seen.pkg[key]

    def _share_failures(self, target: str, root: str, problems: list[Answer]) -> list[Answer]:
        """The problems that say something about the files; the rest (a share failing with
        ESTALE, EIO ...) say nothing about them and make the run incomplete instead."""
        kept = []
        for problem in problems:
            err = problem.get("errno")
            if (
                problem.get("problem") == "unreadable"
                and isinstance(err, int)
                and (is_share_failure(err))
            ):
                self.seen.incomplete = True
                self.seen.failing[target].append((os.path.join(root, problem["path"]), err))
            else:
                kept.append(problem)
        return kept

    def _add_problems(
        self, entry: PackageProblems, problems: list[Answer], count: int | None = None
    ) -> None:
        entry.count += len(problems) if count is None else count
        room = MAX_FILES_PER_FINDING - len(entry.problems)
        entry.problems.extend(problems[: max(0, room)])

    def _on_record(self, task: Task, msg: Answer) -> None:
        prefix = task["path"]
        self.seen.stats.records += 1
        dist = task["record"][:-5]
        if "record_error" in msg:
            self.seen.findings.append(record_finding(prefix, dist, msg["record_error"]))
            return
        self._count(msg)
        info = {
            k: msg.get(k) for k in ("name", "version", "build", "channel", "source", "link_type")
        }
        if msg.get("nproblems"):
            listed = msg.get("problems", [])
            found = self._share_failures(prefix, prefix, listed)
            count = int(msg["nproblems"]) - (len(listed) - len(found))
            if count:
                entry = self._problems(prefix, dist, "env")
                entry.info = info
                self._add_problems(entry, found, count)
        defer = msg.get("defer", [])
        linked = msg.get("linked", [])
        rec_path = os.path.join(prefix, "conda-meta", task["record"])
        if self.cache is not None:
            if msg.get("fp"):
                if defer or linked:  # clean only once its other files hashed clean too
                    self.pending_fp[rec_path] = [msg["fp"], len(defer) + len(linked)]
                else:
                    self.cache.add_record(msg["fp"])
            elif not msg.get("fast"):
                self.cache.forget_record(rec_path)
        for job in defer:
            self._hash(
                job["path"],
                prefix,
                dist,
                "env",
                job["rel"],
                job["sha256"],
                info=info,
                record=rec_path,
            )
        if linked:
            self._linked(linked, (prefix, prefix, dist, "env", rec_path, info), prefix)
        source = msg.get("source")
        if isinstance(source, str) and source:
            spec = f"{info['name']}={info['version']}={info['build']}"
            self.seen.links.append((prefix, dist, os.path.dirname(source.rstrip("/")), spec))

    def _hash(
        self,
        path: str,
        target: str,
        dist: str,
        area: Area,
        rel: str,
        sha256: str | None,
        **fields: Any,
    ) -> None:
        """Queue a big file's hash first in line (its record waits for it)."""
        self.add(
            "hash",
            path,
            front=True,
            target=target,
            owner=dist,
            area=area,
            rel=rel,
            sha256=sha256,
            **fields,
        )

    def _checked(self, record: str, clean: bool) -> None:
        """One file a record waited for was checked: remember the record as clean in the
        hash cache once all of them were, forget it at the first that was not."""
        waiting = self.pending_fp.get(record)
        if waiting is None:
            return
        if not clean:
            del self.pending_fp[record]
            return
        waiting[1] -= 1
        if waiting[1] == 0:
            if self.cache is not None:
                self.cache.add_record(waiting[0])
            del self.pending_fp[record]

    def _on_hash(self, task: Task, msg: Answer) -> None:
        self._count(msg)
        self._checked(task.get("record", ""), not msg.get("problems"))
        path, rel = task["path"], task["rel"]
        root = path[: -len(rel)].rstrip("/") if path.endswith(rel) else ""
        found = self._share_failures(task["target"], root, msg.get("problems", []))
        if found:
            entry = self._problems(task["target"], task["owner"], task["area"])
            entry.info = entry.info or dict(task.get("info") or {})
            self._add_problems(entry, found)

    def _linked(self, linked: list[list[Any]], owner: Owner, base: str, sub: str = "") -> None:
        """Files with other hard links, as a record or cache entry answered them: each inode
        is hashed once in the run, and every file that links it is judged by that sum.

        New inodes wait in a batch per ``base`` (the env prefix, the package cache; ``sub``:
        the path from there to the files' root) until it is full or the workers run short of
        work (``flush_hashes``); a big file is queued alone at once.
        """
        inodes = self.inodes
        waits = bool(owner[4] and self.pending_fp)  # a record waits to be remembered clean
        for rel, dev, ino, size, mtime, ctime, expect, nlink in linked:
            key: Key = (dev, ino, size, mtime, ctime)
            state = inodes.get(key)
            if isinstance(state, list):
                state.append((owner, rel, expect, nlink))
                continue
            if state is not None:
                if waits or state[0] != expect:  # else: hashed already, and as expected
                    self._judge(owner, rel, expect, nlink, state)
                continue
            inodes[key] = [(owner, rel, expect, nlink)]
            path = f"{sub}/{rel}" if sub else rel
            if size >= DEFER_BYTES:
                self._queue_hashes(base, [path], [key])
                continue
            batch = self.hash_batches.setdefault(base, ([], [], [0]))
            batch[0].append(path)
            batch[1].append(key)
            batch[2][0] += size
            if len(batch[0]) >= HASH_BATCH or batch[2][0] >= HASH_BATCH_BYTES:
                del self.hash_batches[base]
                self._queue_hashes(base, batch[0], batch[1])

    def flush_hashes(self) -> None:
        """Queue every waiting batch of inodes to hash (the scheduler runs short of work)."""
        batches, self.hash_batches = self.hash_batches, {}
        for base, (rels, keys, _) in batches.items():
            self._queue_hashes(base, rels, keys)

    def _queue_hashes(self, root: str, rels: list[str], keys: list[Key]) -> None:
        self.next_job += 1
        self.hash_jobs[self.next_job] = keys
        self.add("hashes", root, front=True, target=root, rels=rels, job=self.next_job)

    def _on_hashes(self, task: Task, msg: Answer) -> None:
        self._count(msg)
        keys = self.hash_jobs.pop(task["job"], [])
        for key, answer in zip(keys, msg.get("sums", []), strict=False):
            result: Sum = (answer[0], "", 0) if answer[0] else (None, answer[1], answer[2])
            waiters = self.inodes.get(key)
            self.inodes[key] = result
            sha, pending = result[0], self.pending_fp
            for owner, rel, expect, nlink in waiters if isinstance(waiters, list) else ():
                # the common case, with as little work as possible: as expected, and no
                # record waiting to be remembered clean (~100k links in a deep run)
                if sha != expect or (pending and owner[4]):
                    self._judge(owner, rel, expect, nlink, result)

    def _judge(self, owner: Owner, rel: str, expect: str, nlink: int, result: Sum) -> None:
        """One linked file against the sum of its inode."""
        target, root, dist, area, record, info = owner
        sha, error, err = result
        problem: Answer | None = None
        if sha is None:
            problem = {"path": rel, "problem": "unreadable", "found": error, "errno": err}
        elif sha != expect:
            problem = {
                "path": rel,
                "problem": "hash",
                "expected": expect,
                "found": sha,
                "nlink": nlink,
            }
        if record:
            self._checked(record, problem is None)
        if problem is None:
            return
        found = self._share_failures(target, root, [problem])
        if found:
            entry = self._problems(target, dist, area)
            entry.info = entry.info or dict(info)
            self._add_problems(entry, found)

    def _on_cache(self, task: Task, msg: Answer) -> None:
        pkgs = task["path"]
        self.seen.caches[pkgs] = msg
        for name, _, err in msg.get("failing", []):
            self.seen.incomplete = True
            self.seen.failing[pkgs].append((os.path.join(pkgs, name), err))
        for name in msg.get("entries", []):
            self.add("centry", os.path.join(pkgs, name), target=pkgs, share=self.share)

    def _on_centry(self, task: Task, msg: Answer) -> None:
        pkgs = task["target"]
        dist = msg.get("dist") or os.path.basename(task["path"])
        self.seen.stats.cache_entries += 1
        state = self.seen.caches.setdefault(pkgs, {})
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
            listed = msg.get("problems", [])
            found = self._share_failures(pkgs, task["path"], listed)
            count = int(msg["nproblems"]) - (len(listed) - len(found))
            if count:
                entry = self._problems(pkgs, dist, "cache")
                self._add_problems(entry, found, count)
        for job in msg.get("defer", []):
            self._hash(job["path"], pkgs, dist, "cache", job["rel"], job["sha256"])
        if msg.get("linked"):
            owner: Owner = (pkgs, task["path"], dist, "cache", "", {})
            self._linked(msg["linked"], owner, pkgs, os.path.basename(task["path"]))
        for arch in msg.get("archives", []):
            if "error" in arch:  # not there is fine; a failing share is not
                self._share_failures(pkgs, "", [arch["error"]])
                continue
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
                self._hash(
                    arch["path"],
                    pkgs,
                    dist,
                    "cache",
                    rel,
                    expect.get("sha256"),
                    md5=expect.get("md5"),
                )

    def _on_exists(self, task: Task, msg: Answer) -> None:
        self.seen.exists_answer.update(msg.get("exists", []))

    def _on_writable(self, task: Task, msg: Answer) -> None:
        self.seen.writable_answer.update(msg.get("writable", {}))
