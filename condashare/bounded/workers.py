"""Long-lived worker processes we can abandon: a pipe of tasks in, a pipe of answers out.

The verify engine keeps a few workers busy and decides what each does; this module only starts
them (by :func:`~condashare.bounded.children.start_method`), writes to them, and ends them. A
worker stuck on a dead share is abandoned (killed, never waited for, reaped later); one that is
done is sent end-of-input and collected later without waiting.

The worker code is a module with ``serve(in_fd, out_fd)`` (run in a forked child) and ``main()``
(run in a spawned ``python -I -S``, so it must need the standard library only). Its stderr is
``/dev/null``: an inherited stderr would keep a caller's pipe open after we are gone.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable

from condashare.bounded import children


class Worker:
    """One worker process; ``fd`` is where its answers arrive (select on it, read it)."""

    def __init__(
        self, serve: Callable[[int, int], object], method: children.StartMethod | None = None
    ) -> None:
        """Start a worker running ``serve`` (its module's ``main()`` when spawned)."""
        self.proc: subprocess.Popen[bytes] | None = None
        if (method or children.start_method()) == "fork":
            self._fork(serve)
            return
        self.proc = children.popen(
            children.program_argv(sys.modules[serve.__module__]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.pid = self.proc.pid
        self.fd = self.proc.stdout.fileno()
        self.wfd = self.proc.stdin.fileno()

    def _fork(self, serve: Callable[[int, int], object]) -> None:
        """Fork this (already imported) interpreter: ~1 ms instead of ~50 ms to spawn, and the
        child starts with the worker code loaded (the caller imported ``serve``'s module).

        The child keeps only its two pipes (as stdin/stdout) and /dev/null as stderr, so a child
        stuck on a dead share holds none of the caller's descriptors.
        """
        task_r, task_w = os.pipe()
        res_r, res_w = os.pipe()
        self.pid = children.fork(lambda: serve(0, 1), stdin=task_r, stdout=res_w)
        os.close(task_r)
        os.close(res_w)
        self.fd = res_r
        self.wfd = task_w

    def write(self, data: bytes) -> bool:
        """Write ``data`` to the worker's input; False if the worker is gone (pipe broke).

        Blocks while the pipe is full: the caller keeps what it sends unanswered below a pipe's
        capacity, so that a worker stuck on a dead share can never block it.
        """
        try:
            while data:
                n = os.write(self.wfd, data)
                data = data[n:]
        except OSError:
            return False
        return True

    def _close_fds(self) -> None:
        if self.proc is not None:  # the Popen object owns the descriptors
            for stream in (self.proc.stdin, self.proc.stdout):
                with contextlib.suppress(OSError):
                    if stream is not None:
                        stream.close()
            return
        for fd in (self.wfd, self.fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _child(self) -> children.Child:
        return self.proc if self.proc is not None else self.pid

    def abandon(self) -> None:
        """Kill and forget: a child stuck on a dead share may never be reapable."""
        self._close_fds()
        children.abandon(self._child())

    def close(self) -> None:
        """End of input: the worker's loop ends and it exits; collected later, no wait."""
        self._close_fds()
        children.abandon(self._child(), kill=False)
