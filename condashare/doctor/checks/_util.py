"""Small helpers the check modules share (building findings, reading small local files)."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from condashare.doctor.context import Context
from condashare.doctor.model import Finding, Severity


def ok(check: str, title: str, detail: str = "", /, **data: Any) -> Finding:
    return Finding(check, Severity.OK, title, detail, data=data)


def info(check: str, title: str, detail: str = "", fix: str = "", /, **data: Any) -> Finding:
    return Finding(check, Severity.INFO, title, detail, fix, data=data)


def warning(
    check: str,
    title: str,
    detail: str = "",
    fix: str = "",
    fixable: bool = False,
    /,
    **data: Any,
) -> Finding:
    return Finding(check, Severity.WARNING, title, detail, fix, fixable, data=data)


def error(
    check: str,
    title: str,
    detail: str = "",
    fix: str = "",
    fixable: bool = False,
    /,
    **data: Any,
) -> Finding:
    return Finding(check, Severity.ERROR, title, detail, fix, fixable, data=data)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


MISSING = "missing"
UNRESPONSIVE = "unresponsive"


def read_small(ctx: Context, path: str, limit: int = 1 << 20) -> tuple[str, bytes]:
    """Read a user file of at most ``limit`` bytes through the one reader (bounded on a share,
    regular files only). Returns (status, data): ok | missing | unresponsive | refused | error.
    """
    result = ctx.reader.read(path, limit)
    return result.status.value, result.data or b""


def exists(ctx: Context, path: str) -> str:
    """ok | missing | unresponsive | error, without hanging on a share."""
    if ctx.is_remote(path):
        return ctx.probe(path).status
    try:
        os.stat(path)
    except FileNotFoundError:
        return MISSING
    except OSError:
        return "error"
    return "ok"


@dataclass
class Bounded:
    """How a bounded child command ended."""

    status: str  # ok (exited) | unresponsive (killed at the deadline) | error (could not start)
    returncode: int | None
    stdout: bytes
    stderr: bytes
    seconds: float


def run_bounded(argv: list[str], env: Mapping[str, str], timeout: float, cwd: str = "/") -> Bounded:
    """Run a command with a hard deadline and never wait for it after that.

    Unlike ``subprocess.run(timeout=)``, a child stuck on a dead share (unkillable until the
    server answers) is abandoned, and its leftovers holding our pipes open are not waited for.
    """
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            close_fds=True,
            start_new_session=True,
        )
    except OSError as exc:
        return Bounded("error", None, b"", str(exc).encode(), 0.0)
    assert proc.stdout is not None and proc.stderr is not None
    streams = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    open_fds = set(streams)
    deadline = start + timeout
    exited_at: float | None = None
    while open_fds:
        now = time.monotonic()
        if proc.poll() is not None and exited_at is None:
            exited_at = now
        if now >= deadline or (exited_at is not None and now - exited_at > 0.2):
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
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        return Bounded(UNRESPONSIVE, None, out, err, time.monotonic() - start)
    return Bounded("ok", returncode, out, err, seconds)
