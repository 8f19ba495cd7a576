"""Touch a path that may sit on a dead share, from a child process we can abandon.

A process stuck in ``stat`` on a hung mount cannot be killed (it sits in D state until the server
answers), a thread stuck there keeps the whole interpreter from exiting, and
``subprocess.run(timeout=)`` waits for the child after killing it. So every touch of a possibly
remote path runs in a fresh child process: we wait for its answer up to a deadline, then kill it,
never wait for it again, and reap it later without blocking.

The child runs a small self-contained script (``python -I -S``: no site-packages, ~10 ms) that
performs one of a few read-only operations and prints one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

OK = "ok"
UNRESPONSIVE = "unresponsive"
ERROR = "error"
MISSING = "missing"

# Runs in the child. Operations: stat, head (first N bytes, hex), listdir (names + kinds),
# envs (sub-directories that contain conda-meta), glob-json (read conda-meta/*.json "subdir"),
# appendable (opens a file for append without writing: conda's writability test).
_CHILD_SCRIPT = r"""
import json, os, sys, time
op, path, arg = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.monotonic()
def done(**kw):
    kw["latency"] = time.monotonic() - t0
    sys.stdout.write(json.dumps(kw) + "\n"); sys.stdout.flush(); os._exit(0)
try:
    st = os.stat(path)
    info = {"mode": st.st_mode, "size": st.st_size, "mtime": st.st_mtime, "uid": st.st_uid,
            "dev": st.st_dev, "nlink": st.st_nlink}
    if op == "stat":
        done(status="ok", stat=info)
    elif op == "head":
        with open(path, "rb") as fh:
            data = fh.read(int(arg))
        done(status="ok", stat=info, data=data.hex())
    elif op == "listdir":
        out = []
        with os.scandir(path) as it:
            for e in it:
                if len(out) >= int(arg):
                    break
                try:
                    kind = "dir" if e.is_dir() else ("link" if e.is_symlink() else "file")
                except OSError:
                    kind = "unknown"
                out.append([e.name, kind])
        done(status="ok", stat=info, entries=out)
    elif op == "envs":
        out = []
        with os.scandir(path) as it:
            for e in it:
                if len(out) >= int(arg):
                    break
                if e.name.startswith("."):
                    continue
                if os.path.isdir(os.path.join(e.path, "conda-meta")):
                    out.append(e.name)
        done(status="ok", stat=info, envs=sorted(out))
    elif op == "subdir":
        meta = os.path.join(path, "conda-meta")
        for name in sorted(os.listdir(meta))[: int(arg)]:
            if name.endswith(".json"):
                try:
                    with open(os.path.join(meta, name), "rb") as fh:
                        rec = json.loads(fh.read(4 * 1024 * 1024))
                except (OSError, ValueError):
                    continue
                sub = rec.get("subdir")
                if sub and sub != "noarch":
                    done(status="ok", stat=info, subdir=sub, record=name)
        done(status="ok", stat=info, subdir=None)
    elif op == "appendable":
        # conda's writability test (root conda-meta/history, pkgs urls.txt): opens the file for
        # append without creating it or writing a byte.
        import stat as S
        if not S.S_ISREG(st.st_mode):
            done(status="ok", stat=info, appendable=None)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
            done(status="ok", stat=info, appendable=True)
        except OSError:
            done(status="ok", stat=info, appendable=False)
    else:
        done(status="error", errno=0, error="unknown probe operation " + op)
except FileNotFoundError as exc:
    done(status="missing", errno=exc.errno, error=exc.strerror or "not found")
except OSError as exc:
    import errno as E
    done(status="error", errno=exc.errno or 0, error=exc.strerror or str(exc),
         errname=E.errorcode.get(exc.errno or 0, ""))
"""

_abandoned: list[subprocess.Popen[bytes]] = []


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one bounded touch of a path."""

    path: str
    status: str  # ok | unresponsive | error | missing
    latency: float  # seconds until the answer (or until we gave up)
    errno: int | None = None
    error: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def describe(self) -> str:
        """A short human phrase: ``ok (3 ms)``, ``unresponsive (no answer in 2.0 s)`` ..."""
        if self.status == OK:
            return f"responsive ({self.latency * 1000:.0f} ms)"
        if self.status == UNRESPONSIVE:
            return f"unresponsive (no answer in {self.latency:.1f} s)"
        if self.status == MISSING:
            return "missing"
        name = self.data.get("errname") or ""
        return f"error {name or self.errno}: {self.error}".strip()


def reap_abandoned() -> int:
    """Collect probes that finished after we gave up on them; returns how many are still stuck."""
    still: list[subprocess.Popen[bytes]] = []
    for proc in _abandoned:
        if proc.poll() is None:
            still.append(proc)
    _abandoned[:] = still
    return len(still)


def _abandon(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        proc.kill()
    if proc.stdout is not None:
        proc.stdout.close()
    _abandoned.append(proc)


@dataclass
class _Pending:
    path: str
    proc: subprocess.Popen[bytes] | None
    start: float
    chunks: list[bytes] = field(default_factory=list)
    result: ProbeResult | None = None


def _start(script: str, args: list[str], path: str) -> _Pending:
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", script, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,  # a terminal's ^C must not hit a probe we left behind
            cwd="/",  # the caller's cwd may itself be on the dead share
        )
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
        _abandon(proc)
    elapsed = time.monotonic() - pending.start
    try:
        answer = json.loads(b"".join(pending.chunks).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return ProbeResult(pending.path, ERROR, elapsed, None, "probe gave no answer")
    status = str(answer.pop("status", ERROR))
    latency = float(answer.pop("latency", elapsed))
    errno_value = answer.pop("errno", None)
    error = str(answer.pop("error", ""))
    return ProbeResult(pending.path, status, latency, errno_value, error, answer)


def _run_all(jobs: list[tuple[str, list[str], str]], timeout: float) -> list[ProbeResult]:
    """Run ``(script, args, label)`` children at once under one shared deadline."""
    reap_abandoned()
    pending = [_start(script, args, path) for script, args, path in jobs]
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
        assert item.proc is not None
        _abandon(item.proc)
        item.result = ProbeResult(item.path, UNRESPONSIVE, time.monotonic() - item.start)
    return [p.result for p in pending if p.result is not None]


def run_probes(requests: list[tuple[str, str, str]], timeout: float) -> list[ProbeResult]:
    """Run several ``(op, path, arg)`` probes at once under one shared deadline."""
    return _run_all([(_CHILD_SCRIPT, [op, path, arg], path) for op, path, arg in requests], timeout)


def run_probe(op: str, path: str, timeout: float, arg: str = "0") -> ProbeResult:
    """Run one probe operation on ``path`` in a child; never blocks longer than ``timeout``."""
    return run_probes([(op, path, arg)], timeout)[0]


def run_script(script: str, args: list[str], timeout: float, path: str = "") -> ProbeResult:
    """Run a self-contained Python ``script`` (``-I -S``) with ``args`` in an abandonable child.

    The script must print one JSON object with ``status`` (ok | error | missing) and may add
    ``errno``, ``error`` and any data; no answer within ``timeout`` gives ``unresponsive``.
    ``path`` only labels the result. Used for probes and for the doctor's bounded scans.
    """
    return _run_all([(script, list(args), path)], timeout)[0]


def probe(path: str, timeout: float = 2.0) -> ProbeResult:
    """Is ``path`` there and answering? ok / unresponsive / error(errno) / missing, with latency."""
    return run_probe("stat", path, timeout)


def probe_many(paths: list[str], timeout: float) -> dict[str, ProbeResult]:
    """Probe several paths concurrently: the whole call takes at most ``timeout``."""
    results = run_probes([("stat", p, "0") for p in paths], timeout)
    return {r.path: r for r in results}
