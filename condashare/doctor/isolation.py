"""Run a Python function in a forked child we can abandon, and collect answers by a deadline.

Why a process and not a thread: a thread stuck in ``stat`` on a hung FUSE or NFS hard mount
cannot be interrupted, and the process it belongs to cannot finish exiting until that call
returns. A forked child stuck the same way is simply left behind: we stop reading its pipe,
send it SIGKILL (which takes effect whenever the kernel lets go), and never wait for it.

The child sees the parent's memory (the doctor Context, the check objects) without any
serialisation on the way in; its answer comes back pickled through a pipe. Its standard streams
point at ``/dev/null`` so a stuck child never holds the terminal or a ``doctor | less`` pipe open.
The parent process never starts threads, so forking is safe.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

DONE = "done"
RAISED = "raised"
TIMEOUT = "timeout"
DIED = "died"

_unreaped: list[int] = []


@dataclass
class ChildAnswer:
    """How a child ended: ``done`` (value), ``raised`` (error text), ``timeout`` or ``died``."""

    state: str
    value: Any = None
    error: str = ""
    traceback: str = ""
    seconds: float = 0.0


@dataclass
class _Task:
    pid: int
    fd: int
    started: float
    deadline: float
    chunks: list[bytes] = field(default_factory=list)


def can_fork() -> bool:
    return hasattr(os, "fork")


def reap() -> int:
    """Collect children that ended after we stopped waiting; returns how many are still alive."""
    alive: list[int] = []
    for pid in _unreaped:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        if done == 0:
            alive.append(pid)
    _unreaped[:] = alive
    return len(alive)


def _child_main(write_fd: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Runs in the forked child: call ``fn``, send the pickled outcome, exit without cleanup."""
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # ^C ends a child outright
        with contextlib.suppress(OSError):
            os.chdir("/")  # the parent's cwd may be on the dead share
        try:
            outcome: tuple[Any, ...] = (DONE, fn(*args))
        except BaseException as exc:
            outcome = (RAISED, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        try:
            payload = pickle.dumps(outcome)
        except Exception as exc:
            payload = pickle.dumps((RAISED, f"result not picklable: {exc}", ""))
        view = memoryview(payload)
        while view:
            written = os.write(write_fd, view)
            view = view[written:]
    finally:
        os._exit(0)


def start(fn: Callable[..., Any], *args: Any, deadline: float) -> _Task:
    """Fork a child running ``fn(*args)``; its answer is due by ``deadline`` (monotonic)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()  # buffered text must not be written twice
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child (covered through its results)
        os.close(read_fd)
        _child_main(write_fd, fn, args)
    os.close(write_fd)
    return _Task(pid, read_fd, time.monotonic(), deadline)


def _finish(task: _Task) -> ChildAnswer:
    os.close(task.fd)
    seconds = time.monotonic() - task.started
    try:
        pid, status = os.waitpid(task.pid, os.WNOHANG)
    except ChildProcessError:
        pid, status = task.pid, 0
    if pid == 0:
        _unreaped.append(task.pid)  # wrote its answer and is exiting; reap later
    payload = b"".join(task.chunks)
    if not payload:
        how = ""
        if pid and os.WIFSIGNALED(status):
            how = f" (killed by signal {os.WTERMSIG(status)})"
        return ChildAnswer(
            DIED, error=f"the check process ended without an answer{how}", seconds=seconds
        )
    try:
        outcome = pickle.loads(payload)
    except Exception as exc:
        return ChildAnswer(DIED, error=f"unreadable answer: {exc}", seconds=seconds)
    if outcome[0] == DONE:
        return ChildAnswer(DONE, value=outcome[1], seconds=seconds)
    return ChildAnswer(RAISED, error=outcome[1], traceback=outcome[2], seconds=seconds)


def _abandon(task: _Task) -> ChildAnswer:
    with contextlib.suppress(ProcessLookupError):
        os.kill(task.pid, signal.SIGKILL)
    os.close(task.fd)
    _unreaped.append(task.pid)
    return ChildAnswer(
        TIMEOUT, error="did not finish in time", seconds=time.monotonic() - task.started
    )


def collect(
    tasks: Mapping[str, _Task], on_answer: Callable[[str, ChildAnswer], None] | None = None
) -> dict[str, ChildAnswer]:
    """Wait for every task until its own deadline; late ones are killed and abandoned."""
    pending = dict(tasks)
    answers: dict[str, ChildAnswer] = {}
    by_fd = {task.fd: key for key, task in pending.items()}

    def settle(key: str, answer: ChildAnswer) -> None:
        answers[key] = answer
        del by_fd[pending[key].fd]
        del pending[key]
        if on_answer is not None:
            on_answer(key, answer)

    while pending:
        now = time.monotonic()
        for key, task in list(pending.items()):
            if task.deadline <= now:
                settle(key, _abandon(task))
        if not pending:
            break
        wait = max(0.0, min(t.deadline for t in pending.values()) - time.monotonic())
        ready, _, _ = select.select(list(by_fd), [], [], wait)
        for fd in ready:
            key = by_fd[fd]
            task = pending[key]
            chunk = os.read(fd, 1 << 16)
            if chunk:
                task.chunks.append(chunk)
            else:
                settle(key, _finish(task))
    reap()
    return answers


def call(fn: Callable[..., Any], *args: Any, timeout: float) -> ChildAnswer:
    """Run one function in a child with a timeout (in-process when fork is unavailable)."""
    if not can_fork():  # pragma: no cover - every supported OS can fork
        started = time.monotonic()
        try:
            return ChildAnswer(DONE, fn(*args), seconds=time.monotonic() - started)
        except Exception as exc:
            return ChildAnswer(
                RAISED, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()
            )
    task = start(fn, *args, deadline=time.monotonic() + timeout)
    return collect({"task": task})["task"]
