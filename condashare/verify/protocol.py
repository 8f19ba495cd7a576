"""What the engine and its workers say to each other: typed tasks, the ops, the wire format.

Both sides import this module, so it names every operation once (``Op``), every field a task
may carry (``Task``) and how tasks travel (one JSON object per line, runs of record tasks as
``{"batch": [...]}``). It needs the standard library only: workers may run in a spawned
``python -I -S``.

Answers are JSON objects too: ``{"hb": n}`` heartbeats while a task runs, then one answer with
the task's ``id``; ``{"error": ..., "errno": ...}`` when the task failed as a whole. The keys
of each op's answer are listed in the docstring of the worker function that produces it.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Literal, TypedDict, get_args

# what a worker can be asked to do (one function per op in worker.OPS, one handler per op in
# collect.Collector.handlers)
Op = Literal[
    "classify", "env", "walk", "record", "centry", "hash", "hashes", "cache", "exists", "writable"
]
OPS: tuple[Op, ...] = get_args(Op)

Area = Literal["env", "cache"]

# work queued in each worker, so none idles while the coordinator catches up; a big-file hash
# fills a worker's pipeline on its own, so nothing waits behind it while another worker idles
PIPELINE = 2
# records that take well under a millisecond (quick mode, or the cache's fast path) go to a
# worker this many to a message: per-message costs (wake-ups, JSON, syscalls) were most of
# the coordinator's CPU in a quick run
RECORD_BATCH = 8
# bytes of tasks a worker may have unanswered: well under a pipe's 64 KiB, so that writing to a
# worker stuck on a dead share can never block the coordinator
PIPE_BYTES = 32 << 10
# a task lists at most this many paths (``exists``, ``writable``), so one always fits a pipe
MAX_TASK_PATHS = 200


class TaskHead(TypedDict):
    """The fields every task has."""

    id: int
    op: Op
    path: str


class Task(TaskHead, total=False):
    """One unit of work for a worker; which optional fields an op reads is in its docstring."""

    deep: bool
    local: bool  # path is on a filesystem known to be local (mmap is safe)
    cache: str  # path of the hash cache (read-only in workers)
    target: str  # the env/cache/root the task belongs to (for reports)
    record: str  # record: conda-meta file name; hash: path of the record that deferred it
    owner: str  # hash: the package the file belongs to
    area: Area  # hash: env file or cache file
    rel: str  # hash: path as the record names it
    sha256: str | None
    md5: str | None
    info: dict[str, Any]  # hash: the package's metadata, for the finding
    paths: list[str]  # exists / writable: the paths asked about
    share: bool  # record / centry: answer hard-linked files as "linked" instead of hashing
    rels: list[str]  # hashes: files below path to hash (inodes no other task hashes)
    job: int  # hashes: the coordinator's number for the inodes asked about


Answer = dict[str, Any]  # one decoded answer line


def _text_bytes(text: str) -> int:
    """A string's bound, with its quotes and separator."""
    plain = text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
    return 4 + (len(text) if plain else 12 * len(text))


# remembered for single values: the tasks of one env all carry the same prefix and target,
# and without this the bound took a fifth of the coordinator's CPU in a quick run (lists of
# paths are all different: not remembered, so they do not push the prefixes out)
_field_bytes = functools.lru_cache(maxsize=1024)(_text_bytes)


def task_bytes(task: Task) -> int:
    """An upper bound of a task's size on the wire: keys, numbers and punctuation fit in 256
    bytes; a string takes one byte per character when JSON copies it as is, else at most 12
    (``\\uXXXX`` escapes, two of them for a character beyond the BMP)."""
    size = 256
    for value in task.values():
        if isinstance(value, str):
            size += _field_bytes(value)
            continue
        if isinstance(value, dict):  # a hash task's package info: strings and None
            value = list(value.values())
        if isinstance(value, list):
            size += sum(_text_bytes(text) for text in value if isinstance(text, str))
    return size


def weight(task: Task, batching: bool = False) -> int:
    """Pipeline slots a task takes, in 1/RECORD_BATCH units when records are batched.

    A big-file hash fills a worker's pipeline on its own (so nothing waits behind it while
    another worker idles), and a task carrying a list of paths is never queued with another
    (so queued tasks always fit in a pipe buffer).
    """
    if task["op"] == "record":
        return 1
    unit = RECORD_BATCH if batching else 1
    if task["op"] == "hash" or (task["op"] == "hashes" and len(task.get("rels", ())) == 1):
        return PIPELINE * unit
    if "paths" in task:
        return (PIPELINE + 2) * unit
    return unit


def encode(tasks: list[Task], batching: bool = False) -> bytes:
    """The bytes that queue ``tasks`` in a worker; with ``batching``, runs of record tasks
    travel as one ``{"batch": [...]}`` message of up to RECORD_BATCH tasks."""
    lines: list[Task | list[Task]] = []
    for task in tasks:
        if not (batching and task["op"] == "record"):
            lines.append(task)
        elif lines and isinstance(lines[-1], list) and len(lines[-1]) < RECORD_BATCH:
            lines[-1].append(task)
        else:
            lines.append([task])
    return "".join(
        json.dumps({"batch": line} if isinstance(line, list) else line) + "\n" for line in lines
    ).encode()


def decode(line: str | bytes) -> list[Task]:
    """The tasks of one message (a single task or a batch)."""
    message = json.loads(line)
    batch = message.get("batch")
    tasks: list[Task] = batch if isinstance(batch, list) else [message]
    return tasks
