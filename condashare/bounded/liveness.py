"""Does a share answer? Judged by an open + read that must reach the server, never by a stat.

An NFS client (``actimeo``) or a FUSE mount with attribute caching answers ``stat``,
``access()`` and ``[ -r F ]`` from its cache for seconds to a minute after the server died, so a
stat-based probe calls a dead share "responsive (0 ms)". Opening a file cannot be answered from
the cache (NFS close-to-open consistency revalidates with the server; FUSE sends OPEN to its
daemon), so liveness here is: open and read a small file the directory is known to hold, in an
abandonable child (``head`` of :mod:`condashare.bounded.paths`: stat + open + read), timed.

Which file: the one the caller's users open next. For an installation that is
``etc/profile.d/conda.sh`` (every shell block sources it), then ``conda-meta/history`` (conda
opens it on every command for its writability test), then ``bin/python`` (what ``conda`` runs);
when none exists, one bounded listing of ``conda-meta/`` picks a package record. The candidates
are read at once, and the first that exists decides: a dead share costs one timeout, not three.

The words for what a failing share answered (ESTALE, EIO and ENOTCONN mean the share is
broken, not that a file is absent, and are never reported as "missing") live in
:mod:`condashare.bounded.errnos`, re-exported here.
"""

from __future__ import annotations

import errno as errno_mod
import posixpath
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from condashare.bounded.errnos import error_words, is_share_failure
from condashare.bounded.paths import (
    ERROR,
    MISSING,
    OK,
    UNRESPONSIVE,
    PathOp,
    ProbeResult,
    run_probes,
)
from condashare.wording import seconds_text


def probe_words(result: ProbeResult, timeout: float | None = None) -> str:
    """What any bounded probe found, in honest words (``ok`` proves nothing beyond the probe).

    ``timeout`` is the probe's limit, for the "no answer in" text (default: the time waited).
    """
    if result.status == OK:
        return "ok"
    if result.status == UNRESPONSIVE:
        waited = result.latency if timeout is None else timeout
        return f"unresponsive (no answer in {seconds_text(waited)})"
    if result.status == MISSING:
        return "missing"
    return error_words(result.errno, result.error)


@dataclass(frozen=True)
class Evidence:
    """What to open and read to prove a kind of directory answers.

    ``files`` are read at once and the first existing one decides; when none exists,
    ``listing`` names a sub-directory (``"."``: the directory itself) listed, bounded, for a file
    whose name ends with one of ``suffixes``.
    """

    files: tuple[str, ...]
    listing: str | None = None
    suffixes: tuple[str, ...] = ()


INSTALLATION = Evidence(
    ("etc/profile.d/conda.sh", "conda-meta/history", "bin/python"), "conda-meta", (".json",)
)
ENVIRONMENT = Evidence(("conda-meta/history",), "conda-meta", (".json",))
PACKAGE_CACHE = Evidence(("urls.txt", "urls"), ".", (".conda", ".tar.bz2"))
# A home: the files a shell reads at start-up. No listing: a FIFO found by a listing would
# block the open and look like a dead share.
HOME = Evidence(
    (
        ".profile",
        ".bashrc",
        ".bash_profile",
        ".zshenv",
        ".zshrc",
        ".tcshrc",
        ".cshrc",
        ".config/fish/config.fish",
        ".condarc",
    )
)

LiveStatus = Literal["ok", "unresponsive", "error", "missing", "unproven"]
_HEAD_BYTES = "64"  # the open is what must reach the server; a few bytes prove the read
_LISTING_LIMIT = "500"


@dataclass(frozen=True)
class Liveness:
    """The verdict on one directory: did an open + read of one of its files reach the server.

    ``latency`` is what that operation took in the child (seconds); ``file`` is the file read,
    relative to ``path``. ``unproven``: the directory answered but holds no file to read, or
    there was no time left to read one (another share's silence used it up); ``error`` says which.
    """

    path: str
    status: LiveStatus
    latency: float
    timeout: float
    file: str = ""
    errno: int | None = None
    errname: str = ""  # ESTALE, EIO ... (errno numbers differ between OSes)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    def describe(self) -> str:
        """``responsive (etc/profile.d/conda.sh read in 3 ms)``, ``unresponsive (no answer in
        2.0 s)``, ``failing: stale file handle (ESTALE)``, ``missing`` ..."""
        if self.status == OK:
            return f"responsive ({self.file} read in {seconds_text(self.latency)})"
        if self.status == UNRESPONSIVE:
            return f"unresponsive (no answer in {seconds_text(self.timeout)})"
        if self.status == MISSING:
            return "missing"
        if self.status == "unproven":
            return f"not proven to answer ({self.error or 'no file in it to read'})"
        words = error_words(self.errno, self.error)
        if self.file and not is_share_failure(self.errno):
            return f"failing: {words} reading {self.file}"
        return f"failing: {words}"


def _verdict(path: str, rel: str, result: ProbeResult, timeout: float) -> Liveness:
    status: LiveStatus = "error" if result.status == ERROR else result.status
    code = result.errno if isinstance(result.errno, int) else None
    name = errno_mod.errorcode.get(code or 0, "")
    return Liveness(path, status, result.latency, timeout, rel, code, name, result.error)


_NO_TIME = "no time left to read a file: another share did not answer"


def _round(requests: list[tuple[PathOp, str, str]], deadline: float) -> list[ProbeResult] | None:
    """One batch of probes under what is left of the shared deadline; None when nothing is
    left (a later round runs only after another target's probe waited out the deadline, so
    the targets of this round are not proven dead — they are not proven alive either)."""
    if not requests:
        return []
    left = deadline - time.monotonic()
    if left <= 0.05:
        return None
    return run_probes(requests, left)


def _out_of_time(path: str, timeout: float) -> Liveness:
    return Liveness(path, "unproven", 0.0, timeout, error=_NO_TIME)


def _decides(result: ProbeResult) -> bool:
    """Does this answer settle liveness? A read, a timeout or a share failure does; a missing
    or merely unreadable file (EACCES may come from cached attributes) does not."""
    if result.status in (OK, UNRESPONSIVE):
        return True
    return result.status != MISSING and is_share_failure(result.errno)


def probe_liveness_many(
    targets: Sequence[tuple[str, Evidence]], timeout: float
) -> dict[str, Liveness]:
    """Judge several directories at once; the whole call takes at most ``timeout`` seconds.

    At most three rounds of children under one deadline: the candidate files, then (only where
    none of them could be read) a bounded listing, then the file that listing found.
    """
    deadline = time.monotonic() + timeout
    heads: list[tuple[PathOp, str, str]] = [
        ("head", posixpath.join(p, rel), _HEAD_BYTES) for p, ev in targets for rel in ev.files
    ]
    answers = iter(run_probes(heads, timeout) if heads else [])  # the whole timeout
    verdicts: dict[str, Liveness] = {}
    undecided: list[tuple[str, Evidence, Liveness | None]] = []
    for path, ev in targets:
        results = [(rel, next(answers)) for rel in ev.files]
        decisive = next(((rel, r) for rel, r in results if _decides(r)), None)
        if decisive is not None:
            verdicts[path] = _verdict(path, *decisive, timeout)
            continue
        unreadable = next(((rel, r) for rel, r in results if r.status != MISSING), None)
        undecided.append((path, ev, _verdict(path, *unreadable, timeout) if unreadable else None))
    # Round 2: the directory itself (tells "missing" from "holds nothing to read") and the
    # sub-directory the evidence names.
    listings: list[tuple[PathOp, str, str]] = []
    for path, ev, _ in undecided:
        listings.append(("listdir", path, _LISTING_LIMIT))
        if ev.listing not in (None, "."):
            listings.append(("listdir", posixpath.join(path, str(ev.listing)), _LISTING_LIMIT))
    listed_all = _round(listings, deadline)
    if listed_all is None:
        verdicts.update((path, _out_of_time(path, timeout)) for path, _, _ in undecided)
        return verdicts
    listed = iter(listed_all)
    picks: list[tuple[str, str]] = []
    for path, ev, fallback in undecided:
        own = next(listed)
        sub = next(listed) if ev.listing not in (None, ".") else own
        if own.status != OK:
            verdicts[path] = _verdict(path, "", own, timeout)
            continue
        if _decides(sub) and sub.status != OK:
            verdicts[path] = _verdict(path, str(ev.listing), sub, timeout)
            continue
        entries = sub.data.get("entries", []) if ev.listing and sub.status == OK else []
        names = sorted(
            str(name)
            for name, kind in entries
            if kind == "file" and str(name).endswith(ev.suffixes)
        )
        if names:
            base = "" if ev.listing == "." else str(ev.listing)
            picks.append((path, posixpath.join(base, names[0])))
        else:
            verdicts[path] = fallback or Liveness(path, "unproven", own.latency, timeout)
    # Round 3: read the file the listing found.
    reads = _round([("head", posixpath.join(p, rel), _HEAD_BYTES) for p, rel in picks], deadline)
    for n, (path, rel) in enumerate(picks):
        found = reads[n] if reads is not None else None
        verdicts[path] = (
            _verdict(path, rel, found, timeout) if found else _out_of_time(path, timeout)
        )
    return verdicts


def probe_liveness(path: str, evidence: Evidence, timeout: float) -> Liveness:
    """Judge one directory (see :func:`probe_liveness_many`)."""
    return probe_liveness_many([(path, evidence)], timeout)[path]


__all__ = [
    "ENVIRONMENT",
    "HOME",
    "INSTALLATION",
    "PACKAGE_CACHE",
    "Evidence",
    "Liveness",
    "error_words",
    "is_share_failure",
    "probe_liveness",
    "probe_liveness_many",
    "probe_words",
]
