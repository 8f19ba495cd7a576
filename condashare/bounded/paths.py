"""Touch a path that may sit on a dead share, from a child process we can abandon.

Each operation runs :mod:`~condashare.bounded.programs.pathops` (or another child program) in a
fresh ``python -I -S``; we wait for its one-line answer until a deadline, then kill it, never
wait for it again, and let :func:`~condashare.bounded.children.reap` collect it later.

Which operation proves what: ``stat`` (and ``listdir``) may be answered by a client's attribute
cache for a server that died seconds ago; ``head`` opens and reads the file, which a client
must revalidate with the server, so an ``ok`` from ``head`` means the share answered. Probe with
the operation the caller does next.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

from condashare.bounded import children
from condashare.bounded.programs import pathops
from condashare.wording import seconds_text

ProbeStatus = Literal["ok", "missing", "unresponsive", "error"]
PathOp = Literal["stat", "lstat", "head", "listdir", "envs", "subdir", "appendable"]

OK: ProbeStatus = "ok"
MISSING: ProbeStatus = "missing"
UNRESPONSIVE: ProbeStatus = "unresponsive"
ERROR: ProbeStatus = "error"
_STATUSES: tuple[ProbeStatus, ...] = (OK, MISSING, UNRESPONSIVE, ERROR)


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one bounded touch of a path.

    ``latency``: seconds until the answer (measured in the child), or until we gave up.
    ``data``: what the operation returned (``stat``, ``data``, ``entries``, ``errname`` ...).
    """

    path: str
    status: ProbeStatus
    latency: float
    errno: int | None = None
    error: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def errname(self) -> str:
        """The errno's symbolic name (``ESTALE``, ``EIO`` ...), "" when there is none."""
        return str(self.data.get("errname") or "")

    def describe(self) -> str:
        """A short human phrase: ``responsive (3 ms)``, ``unresponsive (no answer in 2.0 s)``."""
        if self.status == OK:
            return f"responsive ({seconds_text(self.latency)})"
        if self.status == UNRESPONSIVE:
            return f"unresponsive (no answer in {seconds_text(self.latency)})"
        if self.status == MISSING:
            return "missing"
        return f"error {self.errname or self.errno}: {self.error}".strip()


@dataclass
class _Pending:
    path: str
    proc: subprocess.Popen[bytes] | None
    start: float
    chunks: list[bytes] = field(default_factory=list)
    result: ProbeResult | None = None


def _start(argv: list[str], path: str) -> _Pending:
    start = time.monotonic()
    try:
        proc = children.popen(argv)
    except OSError as exc:
        failed = ProbeResult(path, ERROR, 0.0, exc.errno, f"could not start probe: {exc}")
        return _Pending(path, None, start, result=failed)
    return _Pending(path, proc, start)


def _finish(pending: _Pending, deadline: float) -> ProbeResult:
    proc = pending.proc
    assert proc is not None and proc.stdout is not None
    proc.stdout.close()
    try:  # the child closed stdout by exiting; only a flush on a dying mount could delay it
        proc.wait(timeout=max(0.05, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        children.abandon(proc)
    elapsed = time.monotonic() - pending.start
    try:
        answer = json.loads(b"".join(pending.chunks).decode("utf-8"))
        assert isinstance(answer, dict)
    except (ValueError, UnicodeDecodeError, AssertionError):
        return ProbeResult(pending.path, ERROR, elapsed, None, "probe gave no answer")
    status = answer.pop("status", ERROR)
    latency = float(answer.pop("latency", elapsed))
    errno_value = answer.pop("errno", None)
    error = str(answer.pop("error", ""))
    return ProbeResult(
        pending.path, status if status in _STATUSES else ERROR, latency, errno_value, error, answer
    )


def _run_all(jobs: list[tuple[list[str], str]], timeout: float) -> list[ProbeResult]:
    """Run ``(argv, label)`` child programs at once under one shared deadline."""
    children.reap()
    pending = [_start(argv, path) for argv, path in jobs]
    deadline = time.monotonic() + timeout
    waiting = {p.proc.stdout.fileno(): p for p in pending if p.proc and p.proc.stdout}
    while waiting:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select(list(waiting), [], [], remaining)
        for fd in ready:
            chunk = os.read(fd, 65536)
            item = waiting[fd]
            if chunk:
                item.chunks.append(chunk)
            else:
                del waiting[fd]
                item.result = _finish(item, deadline)
    for item in waiting.values():
        assert item.proc is not None and item.proc.stdout is not None
        item.proc.stdout.close()
        children.abandon(item.proc)
        item.result = ProbeResult(item.path, UNRESPONSIVE, time.monotonic() - item.start)
    return [p.result for p in pending if p.result is not None]


def run_probes(requests: list[tuple[PathOp, str, str]], timeout: float) -> list[ProbeResult]:
    """Run several ``(op, path, arg)`` probes at once under one shared deadline."""
    jobs = [(children.program_argv(pathops, op, path, arg), path) for op, path, arg in requests]
    return _run_all(jobs, timeout)


def run_probe(op: PathOp, path: str, timeout: float, arg: str = "0") -> ProbeResult:
    """Run one probe operation on ``path`` in a child; never blocks longer than ``timeout``."""
    return run_probes([(op, path, arg)], timeout)[0]


def head(path: str, timeout: float, limit: int = 1) -> ProbeResult:
    """Stat, open and read the first ``limit`` bytes of ``path``: an ``ok`` proves the share
    answered (no client cache serves an open), so this is the liveness probe to trust."""
    return run_probe("head", path, timeout, str(limit))


def run_program(
    program: ModuleType, args: list[str], timeout: float, path: str = ""
) -> ProbeResult:
    """Run a one-shot child ``program`` (a module of :mod:`~condashare.bounded.programs`) with
    ``args``; its answer (see :mod:`~condashare.bounded.programs.reply`) or ``unresponsive``
    when none comes within ``timeout``. ``path`` only labels the result."""
    return _run_all([(children.program_argv(program, *args), path)], timeout)[0]


def run_programs(
    jobs: list[tuple[ModuleType, list[str], str]], timeout: float
) -> list[ProbeResult]:
    """Run several ``(program, args, label)`` child programs at once under one deadline."""
    return _run_all([(children.program_argv(m, *args), label) for m, args, label in jobs], timeout)


def probe(path: str, timeout: float = 2.0) -> ProbeResult:
    """Is ``path`` there (``stat``)? ok / unresponsive / error(errno) / missing, with latency.

    A client cache may answer this for a dead server; use :func:`head` to prove liveness."""
    return run_probe("stat", path, timeout)


def probe_many(paths: list[str], timeout: float) -> dict[str, ProbeResult]:
    """``stat`` several paths concurrently: the whole call takes at most ``timeout``."""
    results = run_probes([("stat", p, "0") for p in paths], timeout)
    return {r.path: r for r in results}
