"""One worker process of the engine, with the tasks it was sent and has not answered, in order.

The process mechanics (fork or spawn, abandon, reap) are :mod:`condashare.bounded.workers`;
this adds what the scheduler needs to pipeline safely: the queue of unanswered tasks and an
upper bound of their bytes in the pipe.
"""

from __future__ import annotations

import collections
import time

from condashare.bounded import workers
from condashare.verify import worker as worker_module
from condashare.verify.protocol import Task, encode, weight


class WorkerProc:
    """A worker and its unanswered tasks (answers come back in the order tasks were sent)."""

    def __init__(self) -> None:
        # worker_module is imported before the worker starts, so a forked worker has it
        # loaded: without this each child of each run paid the import (and without .pyc
        # files the compile)
        self.worker = workers.Worker(worker_module.serve)
        self.pid = self.worker.pid
        self.fd = self.worker.fd
        self.buf = b""
        self.inflight: collections.deque[Task] = collections.deque()
        self.sizes: collections.deque[int] = collections.deque()  # of inflight, in bytes
        self.unread = 0  # bytes of unanswered tasks, an upper bound of what sits in the pipe
        self.last = time.monotonic()

    def answered(self) -> Task:
        self.unread -= self.sizes.popleft()
        return self.inflight.popleft()

    def load(self, batching: bool) -> int:
        """Pipeline slots taken (see ``protocol.weight``)."""
        return sum(weight(t, batching) for t in self.inflight)

    def send(self, tasks: list[Task], sizes: list[int], batching: bool = False) -> bool:
        """Queue tasks in the worker (one write); False if the worker is gone (pipe broke).

        ``sizes`` are the tasks' ``protocol.task_bytes``, which the caller computed to decide
        what to send. Tasks are small (long path lists are split by the caller and queued
        alone) and the caller keeps at most PIPE_BYTES of them unanswered, so the pipe never
        fills even when the worker is stuck: the write cannot block.
        """
        if not self.inflight:
            self.last = time.monotonic()
        self.inflight.extend(tasks)
        self.sizes.extend(sizes)
        self.unread += sum(sizes)
        return self.worker.write(encode(tasks, batching))

    def abandon(self) -> None:
        """Kill and forget: a child stuck on a dead share may never be reapable."""
        self.worker.abandon()

    def close(self) -> None:
        if self.inflight:
            self.abandon()
        else:
            self.worker.close()
