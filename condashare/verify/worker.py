"""The worker process: read tasks, run each by its op's function, answer; heartbeats meanwhile.

Why separate processes: a read or ``stat`` on a dead network share can block forever, and a
process stuck that way cannot even be killed. So every touch of an environment or package cache
happens in a worker that the coordinator (:mod:`condashare.verify.engine`) can abandon. Tasks
and answers are JSON lines (:mod:`condashare.verify.protocol`). Standard library only, so a
spawned worker starts fast.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from condashare.verify import inventory, records
from condashare.verify.protocol import Answer, Op, Task, decode
from condashare.verify.reader import Reader, oserr

# one function per op (protocol.Op); a test may replace an entry (forked workers inherit it)
OPS: dict[Op, Callable[[Reader, Task], Answer]] = {
    "classify": inventory.classify,
    "env": inventory.env,
    "walk": inventory.walk,
    "cache": inventory.cache,
    "exists": inventory.exists,
    "writable": inventory.writable,
    "record": records.record,
    "centry": records.centry,
    "hash": records.hash_file,
    "hashes": records.hash_many,
}


def run(reader: Reader, task: Task) -> Answer:
    """One task's answer (an unknown op is answered with an error, never a crash)."""
    handler = OPS.get(task["op"])
    if handler is None:
        return {"error": f"unknown operation {task['op']}"}
    return handler(reader, task)


def main() -> None:
    serve(0, 1)


def serve(in_fd: int, out_fd: int) -> None:
    """Answer tasks read from ``in_fd`` on ``out_fd`` until end of input.

    Without the cyclic garbage collector: a worker lives for one run and makes no cycles,
    and parsing a record of 20k files made it walk those objects again and again.
    """
    gc.disable()
    with (
        open(out_fd, "w", buffering=1, encoding="utf-8", closefd=False) as out,
        open(in_fd, encoding="utf-8", closefd=False) as tasks,
    ):
        reader = Reader(out)
        for line in tasks:
            line = line.strip()
            if not line:
                continue
            # a batch: several small tasks in one message, answered in one write; heartbeats
            # keep coming (every HEARTBEAT_SECONDS across the whole batch)
            batch = decode(line)
            reader.last_beat = time.monotonic()
            for n, item in enumerate(batch):
                try:
                    result = run(reader, item)
                except OSError as exc:
                    result = {"error": oserr(exc), "errno": exc.errno}
                except Exception as exc:  # a bug here must not look like a hung share
                    result = {"error": f"{type(exc).__name__}: {exc}"}
                result["id"] = item.get("id")
                reader.send(result, hold=n < len(batch) - 1)
                reader.beat()  # between items too: small tasks may never beat themselves


if __name__ == "__main__":
    main()
