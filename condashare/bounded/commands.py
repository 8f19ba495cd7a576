"""Run a command (argv) under a hard deadline and never wait for it after that.

Unlike ``subprocess.run(timeout=)``, which kills the child and then waits for it, a command
stuck on a dead share (unkillable until the server answers) is killed with its process group
and abandoned to :func:`~condashare.bounded.children.reap`, which collects it once it ends, so
no zombie is left; leftovers of it that keep our pipes open are not waited for either.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from condashare.bounded import children

CommandStatus = Literal["ok", "unresponsive", "error"]

EXIT_GRACE = 0.2  # seconds to drain output once the command exited (leftovers may hold pipes)


@dataclass
class CommandResult:
    """How a bounded command ended.

    ``status``: ok (it exited: see ``returncode``) | unresponsive (killed and abandoned at the
    deadline) | error (could not start: the reason is in ``stderr``).
    """

    status: CommandStatus
    returncode: int | None
    stdout: bytes
    stderr: bytes
    seconds: float


def run_command(
    argv: list[str], env: Mapping[str, str], timeout: float, cwd: str = "/"
) -> CommandResult:
    """Run ``argv`` with ``env`` in ``cwd``; returns within ``timeout`` (+ a few ms) whatever
    the command does. stdin is ``/dev/null``; stdout and stderr are captured."""
    start = time.monotonic()
    try:
        proc = children.popen(argv, stderr=subprocess.PIPE, env=dict(env), cwd=cwd)
    except OSError as exc:
        return CommandResult("error", None, b"", str(exc).encode(), 0.0)
    assert proc.stdout is not None and proc.stderr is not None
    streams = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    open_fds = set(streams)
    deadline = start + timeout
    exited_at: float | None = None
    while open_fds:
        now = time.monotonic()
        if proc.poll() is not None and exited_at is None:
            exited_at = now
        if now >= deadline or (exited_at is not None and now - exited_at > EXIT_GRACE):
            break  # late output from a leftover grandchild is not worth waiting for
        ready, _, _ = select.select(list(open_fds), [], [], min(0.05, deadline - now))
        for fd in ready:
            chunk = os.read(fd, 65536)
            if chunk:
                streams[fd].extend(chunk)
            else:
                open_fds.discard(fd)
    returncode = proc.poll()
    if returncode is None:
        # One last short grace: the shell may have finished while we drained the pipes.
        try:
            returncode = proc.wait(timeout=max(0.0, min(0.05, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            returncode = None
    seconds = (exited_at or time.monotonic()) - start
    out, err = bytes(streams[proc.stdout.fileno()]), bytes(streams[proc.stderr.fileno()])
    proc.stdout.close()
    proc.stderr.close()
    if returncode is None:
        children.abandon(proc)
        return CommandResult("unresponsive", None, out, err, time.monotonic() - start)
    return CommandResult("ok", returncode, out, err, seconds)
