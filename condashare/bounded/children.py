"""Starting, abandoning and reaping the child processes that touch shares.

**One start policy per OS** (:data:`START_METHOD`), followed by every part of condashare that
runs its own Python code in a child (the doctor's checks and fixes, the verify workers):

- Linux (and other POSIX systems but macOS): **fork**. It costs ~1 ms instead of ~50-150 ms
  for a fresh interpreter that must import condashare again, and the child sees the parent's
  objects (the doctor's context, loaded modules) without serialising them. It is safe because
  condashare never starts threads (a fork copies only the calling thread; a lock another thread
  held stays locked in the child forever) and keeps no SQLite connection open across a fork.
- macOS: **spawn** (a fresh ``python -I -S`` that imports what it needs). Apple's system
  frameworks (CoreFoundation, libdispatch, the Objective-C runtime, the Open Directory lookups
  behind ``pwd``) are not fork-safe: a forked child that uses them may crash or deadlock, which
  is why Python's multiprocessing spawns there since 3.8. condashare imports psutil, whose macOS
  extension links CoreFoundation and IOKit, and looks users up through ``pwd``; we cannot show
  that no framework was touched before a fork, so we do not fork there. The cost is a slower
  child start (arguments and answers are pickled), paid once per doctor check and per verify
  worker.

Child *programs* (path probes, the doctor's scans, commands) are always fresh processes started
with ``subprocess`` (fork+exec, safe everywhere), standard streams away from the caller's
terminal and pipes, in their own session, working directory ``/`` (the caller's may be on the
dead share).

**The registry.** A child we stop waiting for is :func:`abandon`-ed: sent SIGKILL (effective
whenever the kernel lets go of it) and remembered; :func:`reap` collects those that ended since,
never blocking. Popen objects and bare pids (forked children) are handled alike.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from types import ModuleType
from typing import IO, Literal

import condashare

StartMethod = Literal["fork", "spawn"]

#: How this OS starts children that run condashare's own Python code (see the module docstring).
#: Tests may set it to run the other method; everything reads it through :func:`start_method`.
START_METHOD: StartMethod = "fork" if sys.platform != "darwin" and hasattr(os, "fork") else "spawn"

Child = subprocess.Popen[bytes] | int  # a Popen we started, or the pid of a child we forked

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(condashare.__file__)))
_BOOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs", "boot.py")
_abandoned: list[Child] = []


def start_method() -> StartMethod:
    """The start method in force (:data:`START_METHOD`)."""
    return START_METHOD


def program_argv(program: ModuleType | str, *args: str) -> list[str]:
    """The command line that runs ``program``'s ``main()`` in a fresh, isolated interpreter.

    ``python -I -S boot.py ROOT MODULE ARGS``: no site-packages and no environment variables
    (start-up in ~10 ms, nothing of the user's Python setup in the way); ``boot.py``, run by
    its file path, makes condashare importable and calls the module's ``main()``.
    """
    name = program if isinstance(program, str) else program.__name__
    return [sys.executable, "-I", "-S", _BOOT, _PACKAGE_ROOT, name, *args]


def popen(
    argv: list[str],
    *,
    stdin: int | IO[bytes] | None = subprocess.DEVNULL,
    stdout: int | IO[bytes] | None = subprocess.PIPE,
    stderr: int | IO[bytes] | None = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
    cwd: str = "/",
    new_session: bool = True,
) -> subprocess.Popen[bytes]:
    """Start a child program the way every bounded child starts (raises OSError).

    Only the descriptors given here are inherited; ``cwd`` defaults to ``/``. ``new_session``
    keeps a terminal's ^C and hang-up away from a child we may leave behind; children that run
    a doctor check stay in our process group instead, so that ^C ends them with us.
    """
    return subprocess.Popen(
        argv,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=env,
        cwd=cwd,
        close_fds=True,
        start_new_session=new_session,
    )


def fork(
    body: Callable[[], object],
    *,
    stdin: int | None = None,
    stdout: int | None = None,
    new_session: bool = True,
    close_fds: bool = True,
) -> int:
    """Fork a child that runs ``body()`` and exits without any cleanup; returns its pid.

    In the child, fds 0 and 1 become ``stdin``/``stdout`` (else ``/dev/null``), fd 2 is
    ``/dev/null``, the working directory is ``/`` and ^C ends it outright. ``close_fds`` closes
    every other descriptor (a child stuck on a dead share then holds none of the caller's
    pipes); without it ``body`` may use descriptors of the parent. Only for
    :func:`start_method` ``"fork"``.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()  # buffered text must not be written twice
    pid = os.fork()
    if pid:
        return pid
    code = 0  # pragma: no cover - runs in the child (covered through its results)
    try:  # pragma: no cover
        if new_session:
            os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        with contextlib.suppress(OSError):
            os.chdir("/")
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null if stdin is None else stdin, 0)
        os.dup2(null if stdout is None else stdout, 1)
        os.dup2(null, 2)
        if close_fds:
            os.closerange(3, _max_fd())
        body()
    except BaseException:  # pragma: no cover
        code = 1
    finally:  # pragma: no cover
        os._exit(code)


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 65536)
    except (ValueError, OSError):
        return 4096


def _pid(child: Child) -> int:
    return child if isinstance(child, int) else child.pid


def abandon(child: Child, *, kill: bool = True) -> None:
    """Stop waiting for ``child``: SIGKILL it (``kill``), and let :func:`reap` collect it.

    A child leading its own process group (every child program) is killed with its group, so
    a shell's own children go too. ``kill=False`` is for a child that is already on its way
    out (it answered and closed its pipe) and only needs collecting.
    """
    if not isinstance(child, int) and child.poll() is not None:
        return  # it has ended and is collected: nothing to kill, and its pid may be reused
    if kill:
        pid = _pid(child)
        with contextlib.suppress(OSError):
            if os.getpgid(pid) == pid:  # not reaped yet, so the pid cannot have been reused
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
    _abandoned.append(child)


def reap() -> int:
    """Collect abandoned children that ended since; returns how many are still alive.

    Never blocks: a child stuck on a dead share stays listed until the share answers.
    """
    alive: list[Child] = []
    for child in _abandoned:
        if isinstance(child, int):
            try:
                done, _ = os.waitpid(child, os.WNOHANG)
            except ChildProcessError:
                continue
            if done == 0:
                alive.append(child)
        elif child.poll() is None:
            alive.append(child)
    _abandoned[:] = alive
    return len(alive)
