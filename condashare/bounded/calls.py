"""Run a Python function in a child we can abandon, and collect answers by a deadline.

Why a process and not a thread: a thread stuck in ``stat`` on a hung FUSE or NFS hard mount
cannot be interrupted, and the process it belongs to cannot finish exiting until that call
returns. A child stuck the same way is simply left behind: we stop reading its pipe, send it
SIGKILL (which takes effect whenever the kernel lets go) and never wait for it.

The child starts by :func:`~condashare.bounded.children.start_method`: forked, it sees the
parent's objects (the doctor's context, the check objects) as they are; spawned, it gets the
parent's ``sys.path`` and the pickled function and arguments on its stdin (so the function and
its arguments must be picklable: module-level functions and plain data). A spawned child first
imports what the function needs (~0.1 s); a ``budget`` counts from when it is ready, so that
this start-up is not charged to the function. Either way its answer comes back pickled through
a pipe, its other standard streams point at ``/dev/null`` (a stuck child never holds the
terminal or a ``doctor | less`` pipe open), and it stays in our process group, so ^C ends it
with us.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from condashare.bounded import children

CallState = Literal["done", "raised", "timeout", "died"]
DONE: CallState = "done"
RAISED: CallState = "raised"
TIMEOUT: CallState = "timeout"
DIED: CallState = "died"

EXIT_GRACE = 0.1  # seconds to learn how a child that closed its pipe without answering ended
READY = b"R"  # a spawned child's first byte once it has loaded the function (a pickle starts \x80)


@dataclass
class ChildAnswer:
    """How a child ended: ``done`` (value), ``raised`` (error text), ``timeout`` or ``died``."""

    state: CallState
    value: Any = None
    error: str = ""
    traceback: str = ""
    seconds: float = 0.0


@dataclass
class CallTask:
    """A function running in a child (from :func:`start`), until :func:`collect` settles it."""

    child: children.Child
    fd: int  # the child's answer pipe (read end)
    started: float
    deadline: float  # the answer is due by then (monotonic)
    budget: float | None = None  # and within this many seconds of the child being ready
    outbox: bytes = b""  # spawned: what is still to be written to its stdin
    loading: bool = False  # spawned: not ready yet (the budget has not started)
    chunks: list[bytes] = field(default_factory=list)
    settled: ChildAnswer | None = None  # could not even start


# An answer is framed by its length, so the parent settles as soon as the whole answer is in:
# it must not wait for end-of-file, which a grandchild (a call made inside the function, stuck
# on a share) would delay by holding an inherited copy of the pipe open.
_HEADER = struct.Struct("!Q")


def _answer(task: CallTask) -> bytes | None:
    """The whole pickled answer once it has arrived, else None."""
    data = b"".join(task.chunks)
    if len(data) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack_from(data)
    end = _HEADER.size + size
    return data[_HEADER.size : end] if len(data) >= end else None


def _respond(out_fd: int, work: Callable[[], Any]) -> None:
    """In the child: run ``work``, write the pickled outcome to ``out_fd``."""
    try:
        outcome: tuple[Any, ...] = (DONE, work())
    except BaseException as exc:
        outcome = (RAISED, f"{type(exc).__name__}: {exc}", traceback.format_exc())
    try:
        body = pickle.dumps(outcome)
    except Exception as exc:
        body = pickle.dumps((RAISED, f"result not picklable: {exc}", ""))
    view = memoryview(_HEADER.pack(len(body)) + body)
    while view:
        written = os.write(out_fd, view)
        view = view[written:]


def main() -> None:
    """Entry of a spawned child (``program_argv(__name__)``): read, run, answer, exit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    out_fd = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # a stray print must not corrupt the answer
    stdin = sys.stdin.buffer

    def work() -> Any:
        sys.path[:] = pickle.load(stdin)  # before the next load imports the function's module
        fn, args = pickle.load(stdin)
        os.write(out_fd, READY)
        return fn(*args)

    try:
        _respond(out_fd, work)
    finally:
        os._exit(0)


def _spawn(
    fn: Callable[..., Any], args: tuple[Any, ...], deadline: float, budget: float | None
) -> CallTask:
    started = time.monotonic()
    try:
        payload = pickle.dumps(list(sys.path)) + pickle.dumps((fn, args))
    except Exception as exc:
        failed = ChildAnswer(RAISED, error=f"cannot be sent to a child process: {exc}")
        return CallTask(-1, -1, started, deadline, settled=failed)
    try:
        proc = children.popen(
            children.program_argv(__name__),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            new_session=False,
        )
    except OSError as exc:
        failed = ChildAnswer(DIED, error=f"could not start a child process: {exc}")
        return CallTask(-1, -1, started, deadline, settled=failed)
    assert proc.stdin is not None and proc.stdout is not None
    os.set_blocking(proc.stdin.fileno(), False)  # a child that does not read must not block us
    task = CallTask(proc, proc.stdout.fileno(), started, deadline, budget, payload, loading=True)
    _send(task)
    return task


def _send(task: CallTask) -> None:
    """Write what the (spawned) child's stdin takes now; close it once all is written."""
    proc = task.child
    assert isinstance(proc, subprocess.Popen) and proc.stdin is not None
    try:
        written = os.write(proc.stdin.fileno(), task.outbox)
    except BlockingIOError:
        return
    except OSError:  # it died: its answer pipe tells the rest
        written = len(task.outbox)
    task.outbox = task.outbox[written:]
    if not task.outbox:
        with contextlib.suppress(OSError):
            proc.stdin.close()


def start(
    fn: Callable[..., Any],
    *args: Any,
    deadline: float,
    budget: float | None = None,
    method: children.StartMethod | None = None,
) -> CallTask:
    """Start a child running ``fn(*args)``; its answer is due by ``deadline`` (monotonic) and,
    given a ``budget``, within that many seconds of the child being ready to call ``fn``.

    ``method`` overrides the OS's start method (tests run both on one host)."""
    if (method or children.start_method()) == "spawn":
        return _spawn(fn, args, deadline, budget)
    read_fd, write_fd = os.pipe()

    def body() -> None:
        os.close(read_fd)
        _respond(write_fd, lambda: fn(*args))

    pid = children.fork(body, new_session=False, close_fds=False)
    os.close(write_fd)
    now = time.monotonic()
    if budget is not None:  # a forked child is ready at once
        deadline = min(deadline, now + budget)
    return CallTask(pid, read_fd, now, deadline)


def _ended(child: children.Child) -> tuple[bool, int | None]:
    """(has it exited, how: a wait status, or a Popen returncode) without blocking."""
    if isinstance(child, int):
        try:
            pid, status = os.waitpid(child, os.WNOHANG)
        except ChildProcessError:
            return True, None
        return pid != 0, status if pid else None
    code = child.poll()
    return code is not None, code


def _close(task: CallTask) -> None:
    if isinstance(task.child, subprocess.Popen):
        for stream in (task.child.stdin, task.child.stdout):  # they own the descriptors
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
    else:
        os.close(task.fd)


def _finish(task: CallTask) -> ChildAnswer:
    _close(task)
    seconds = time.monotonic() - task.started
    payload = _answer(task)
    ended, how = _ended(task.child)
    wait_until = time.monotonic() + EXIT_GRACE
    while not payload and not ended and time.monotonic() < wait_until:
        time.sleep(0.002)  # its pipe closed as it died: a moment more tells how it died
        ended, how = _ended(task.child)
    if not ended:
        children.abandon(task.child, kill=False)  # closed its pipe and is exiting
    if not payload:
        signum = None
        if isinstance(task.child, int) and how is not None and os.WIFSIGNALED(how):
            signum = os.WTERMSIG(how)
        elif isinstance(task.child, subprocess.Popen) and how is not None and how < 0:
            signum = -how
        why = f" (killed by signal {signum})" if signum else ""
        return ChildAnswer(
            DIED, error=f"the check process ended without an answer{why}", seconds=seconds
        )
    try:
        outcome = pickle.loads(payload)
    except Exception as exc:
        return ChildAnswer(DIED, error=f"unreadable answer: {exc}", seconds=seconds)
    if outcome[0] == DONE:
        return ChildAnswer(DONE, value=outcome[1], seconds=seconds)
    return ChildAnswer(RAISED, error=outcome[1], traceback=outcome[2], seconds=seconds)


def _abandon(task: CallTask) -> ChildAnswer:
    _close(task)
    children.abandon(task.child)
    return ChildAnswer(
        TIMEOUT, error="did not finish in time", seconds=time.monotonic() - task.started
    )


def collect(
    tasks: Mapping[str, CallTask],
    on_answer: Callable[[str, ChildAnswer], None] | None = None,
    until: float | None = None,
) -> dict[str, ChildAnswer]:
    """Wait for every task until its own deadline; late ones are killed and abandoned.

    With ``until`` (monotonic), stop waiting then: tasks still running are left as they are
    (absent from the answers) for a later ``collect`` of just those."""
    answers: dict[str, ChildAnswer] = {}

    def settle(key: str, answer: ChildAnswer) -> None:
        answers[key] = answer
        if on_answer is not None:
            on_answer(key, answer)

    pending: dict[str, CallTask] = {}
    for key, task in tasks.items():
        if task.settled is not None:
            settle(key, task.settled)
        else:
            pending[key] = task
    by_fd = {task.fd: key for key, task in pending.items()}

    def done(key: str, answer: ChildAnswer) -> None:
        del by_fd[pending.pop(key).fd]
        settle(key, answer)

    while pending:
        now = time.monotonic()
        if until is not None and now >= until:
            break
        for key, task in list(pending.items()):
            if task.deadline <= now:
                done(key, _abandon(task))
        if not pending:
            break
        first = min(t.deadline for t in pending.values())
        wait = max(0.0, min(first, until if until is not None else first) - time.monotonic())
        writing = {_stdin_fd(t): t for t in pending.values() if t.outbox}
        ready, writable, _ = select.select(list(by_fd), list(writing), [], wait)
        for fd in writable:
            _send(writing[fd])
        for fd in ready:
            key = by_fd[fd]
            task = pending[key]
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                done(key, _finish(task))
                continue
            if task.loading:  # a spawned child's first byte: ready (or an early answer)
                task.loading = False
                if chunk.startswith(READY):
                    chunk = chunk[len(READY) :]
                    if task.budget is not None:
                        task.deadline = min(task.deadline, time.monotonic() + task.budget)
            task.chunks.append(chunk)
            if _answer(task) is not None:
                done(key, _finish(task))
    children.reap()
    return answers


def _stdin_fd(task: CallTask) -> int:
    assert isinstance(task.child, subprocess.Popen) and task.child.stdin is not None
    return task.child.stdin.fileno()


def call(
    fn: Callable[..., Any],
    *args: Any,
    timeout: float,
    method: children.StartMethod | None = None,
) -> ChildAnswer:
    """Run one function in a child with a timeout."""
    task = start(fn, *args, deadline=time.monotonic() + timeout, method=method)
    return collect({"task": task})["task"]
