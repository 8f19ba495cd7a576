"""The one reader of user files: regular files only, a size cap, bounded on a share.

Startup files, condarc files, the site file and condashare's own state are all read here, so the
same rules hold for every command:

- **Regular files only.** Opening a FIFO for reading waits for a writer that never comes; a device
  such as ``/dev/zero`` never ends; a directory or socket is no file to read. The kind is taken
  from ``stat`` before anything is opened, the open uses ``O_NONBLOCK`` (a FIFO swapped in after
  the stat still cannot block it) and the open descriptor is checked again with ``fstat``.
- **A size cap.** These files are small; one of many megabytes is a mistake (or a link to a log)
  and is refused from its size, never read to the end. At most cap + 1 bytes are ever read.
- **A symlink loop** is reported as one, not as "cannot read".
- **Bounded on a share.** A path that may be remote (:func:`condashare.host.mounts.may_be_remote`)
  is touched only by abandonable probe children (:mod:`condashare.bounded.paths`), one ``head``
  per file: it stats, opens only a regular file (so a FIFO is refused before any open) and
  reads at most cap + 1 bytes — the read is what proves the server answers, since a client
  answers stat from its cache. A share that did not answer once is not asked again by the same
  :class:`Reader` (each try costs the timeout).

Results are data (:class:`FileRead`); :class:`UserFileError` carries one to a command that cannot
go on without the file (exit 2 for a refused file, 3 for a share that does not answer).
"""

from __future__ import annotations

import enum
import errno
import os
import posixpath
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from condashare.bounded.paths import UNRESPONSIVE, PathOp, ProbeResult, run_probes
from condashare.bounded.programs.pathops import listdir_entries
from condashare.errors import CondashareError, ExitCode
from condashare.host.mounts import Mount, may_be_remote, mount_for, read_mount_table
from condashare.pathtext import within
from condashare.wording import plural, seconds_text

DEFAULT_TIMEOUT = 2.0  # seconds, the site file's default probe_timeout
MAX_FILE_BYTES = 1 << 20  # startup files, condarc files, the site file
MAX_STATE_BYTES = 16 << 20  # condashare's own state (it keeps whole condarc files)
MAX_LISTING = 10000  # directory entries a probe lists when answering "does it exist?"

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)


class ReadStatus(str, enum.Enum):
    """How reading one user file ended."""

    OK = "ok"
    MISSING = "missing"  # the file (or a directory on the way) does not exist
    UNRESPONSIVE = "unresponsive"  # its share did not answer in time
    REFUSED = "refused"  # not a regular file, too big, or a symlink loop
    ERROR = "error"  # any other failure (permission denied ...)


@dataclass(frozen=True)
class FileRead:
    """One user file as read: its bytes, or why there are none (``reason`` is for people)."""

    path: str
    status: ReadStatus
    reason: str = ""
    data: bytes | None = None
    mode: int | None = None  # st_mode (type and permission bits) when known
    uid: int | None = None
    gid: int | None = None  # None when read through a probe (it does not report the group)
    remote: bool = False

    @property
    def ok(self) -> bool:
        return self.status is ReadStatus.OK

    @property
    def message(self) -> str:
        """``<path>: <reason>``, the form every command prints."""
        return f"{self.path}: {self.reason}"


class UserFileError(CondashareError):
    """A command cannot go on without this file; the message names the file and why."""

    def __init__(self, result: FileRead) -> None:
        self.result = result
        # 3 (could not finish) when the share did not answer, else 2 (fix the file)
        dead = result.status is ReadStatus.UNRESPONSIVE
        super().__init__(result.message, ExitCode.INCOMPLETE if dead else ExitCode.USAGE)


def kind_of(mode: int) -> str:
    """``a FIFO (named pipe)``, ``a directory`` ... for messages."""
    kinds = (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def human_size(n: int) -> str:
    if n < 1024:
        return plural(n, "byte")
    if n < 1 << 20:
        return f"{n / 1024:.0f} KiB"
    return f"{n / (1 << 20):.0f} MiB" if n % (1 << 20) == 0 else f"{n / (1 << 20):.1f} MiB"


def refusal(mode: int, size: int, max_bytes: int) -> str | None:
    """Why a file of this kind and size is not read, or None when it may be."""
    if not stat.S_ISREG(mode):
        return f"is {kind_of(mode)}, not a regular file; condashare reads only regular files"
    if size > max_bytes:
        return (
            f"is {human_size(size)}, more than the {human_size(max_bytes)} condashare reads from "
            "a file like this; refusing it"
        )
    return None


def _too_big(max_bytes: int) -> str:
    return f"is larger than the {human_size(max_bytes)} condashare reads from a file like this"


def _from_errno(path: str, number: int | None, text: str, remote: bool = False) -> FileRead:
    if number == errno.ENOENT:
        return FileRead(path, ReadStatus.MISSING, "does not exist", remote=remote)
    if number == errno.ELOOP:
        reason = "is a symlink loop (too many levels of symbolic links)"
        return FileRead(path, ReadStatus.REFUSED, reason, remote=remote)
    if number == errno.EISDIR:
        reason = "is a directory, not a regular file; condashare reads only regular files"
        return FileRead(path, ReadStatus.REFUSED, reason, remote=remote)
    return FileRead(path, ReadStatus.ERROR, f"cannot read: {text}", remote=remote)


def _probe_failed(path: str, res: ProbeResult) -> FileRead:
    """A probe's failure (not "did not answer") as a reader's result."""
    number = errno.ENOENT if res.status == "missing" else res.errno
    return _from_errno(path, number, res.error or res.describe(), remote=True)


def read_local(path: str, max_bytes: int = MAX_FILE_BYTES) -> FileRead:
    """Read a file on a local filesystem under the rules above (no share may be on the way)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return _from_errno(path, exc.errno, exc.strerror or str(exc))
    why = refusal(st.st_mode, st.st_size, max_bytes)
    if why:
        return FileRead(path, ReadStatus.REFUSED, why, mode=st.st_mode, uid=st.st_uid)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        return _from_errno(path, exc.errno, exc.strerror or str(exc))
    try:
        st = os.fstat(fd)  # what was opened, which may not be what was stat'ed
        why = refusal(st.st_mode, 0, max_bytes)
        if why:
            return FileRead(path, ReadStatus.REFUSED, why, mode=st.st_mode, uid=st.st_uid)
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 16, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        return _from_errno(path, exc.errno, exc.strerror or str(exc))
    finally:
        os.close(fd)
    if total > max_bytes:  # it grew after the stat, or stat lied (procfs and the like)
        return FileRead(path, ReadStatus.REFUSED, _too_big(max_bytes), mode=st.st_mode)
    return FileRead(
        path, ReadStatus.OK, "", b"".join(chunks), st.st_mode, st.st_uid, st.st_gid, False
    )


@dataclass(frozen=True)
class Listing:
    """One directory as listed: its entries, or why there are none (``reason`` is for people)."""

    path: str
    status: ReadStatus
    reason: str = ""
    entries: tuple[tuple[str, str], ...] = ()  # (name, kind: dir | link | file | unknown)

    @property
    def ok(self) -> bool:
        return self.status is ReadStatus.OK


def list_local(path: str, limit: int = MAX_LISTING) -> Listing:
    """List a directory on a local filesystem (no share may be on the way)."""
    try:
        entries = listdir_entries(path, limit)
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            return Listing(path, ReadStatus.REFUSED, "is not a directory")
        found = _from_errno(path, exc.errno, exc.strerror or str(exc))
        return Listing(path, found.status, found.reason)
    return Listing(path, ReadStatus.OK, "", tuple((n, k) for n, k in entries))


@dataclass(frozen=True)
class PathStat:
    """A path's own ``lstat`` (a symlink is not followed), or why there is none."""

    path: str
    status: ReadStatus
    reason: str = ""
    mode: int = 0
    uid: int = -1


@dataclass
class Reader:
    """Reads user files for one command run, and remembers which shares did not answer.

    ``mounts`` is the mount table the run consulted; ``timeout`` bounds each touch of a share;
    ``home`` lets messages say "your home ... is not answering" for files in it.
    """

    mounts: Sequence[Mount]
    timeout: float = DEFAULT_TIMEOUT
    home: str | None = None
    _dead: dict[str, str] = field(default_factory=dict, repr=False)  # share -> first reason

    @classmethod
    def for_this_host(cls, timeout: float = DEFAULT_TIMEOUT, home: str | None = None) -> Reader:
        """A reader that consults the mount table as it is now."""
        return cls(tuple(read_mount_table()), timeout, home)

    def is_remote(self, path: str) -> bool:
        """May touching ``path`` reach a share (its mount, or a symlink on the way)?"""
        return may_be_remote(path, self.mounts)

    def split(self, paths: Iterable[str]) -> tuple[list[str], list[str]]:
        """``paths`` (once each) as (local, possibly remote): the first may be touched here."""
        local: list[str] = []
        remote: list[str] = []
        for path in dict.fromkeys(paths):
            (remote if self.is_remote(path) else local).append(path)
        return local, remote

    # ------------------------------------------------------------------ reading

    def read(self, path: str, max_bytes: int = MAX_FILE_BYTES) -> FileRead:
        """Read one file (see the module docstring for the rules)."""
        return self.read_many([path], max_bytes)[path]

    def read_many(
        self, paths: Iterable[str], max_bytes: int = MAX_FILE_BYTES
    ) -> dict[str, FileRead]:
        """Read several files; those on shares are probed together (one timeout, not n)."""
        local, remote = self.split(paths)
        out = {path: read_local(path, max_bytes) for path in local}
        if remote:
            out.update(self._read_remote(remote, max_bytes))
        return out

    def require(self, path: str, max_bytes: int = MAX_FILE_BYTES) -> bytes | None:
        """The file's bytes, None when it does not exist; UserFileError for anything else."""
        result = self.read(path, max_bytes)
        if result.status is ReadStatus.MISSING:
            return None
        if not result.ok or result.data is None:
            raise UserFileError(result)
        return result.data

    def _read_remote(self, paths: list[str], max_bytes: int) -> dict[str, FileRead]:
        out: dict[str, FileRead] = {}
        # One round: ``head`` stats, opens only a regular file and reads; the read is what
        # proves the server answers (a client answers stat from its cache).
        heads = self.probe_many("head", self._alive(paths, out), str(max_bytes + 1))
        for path, res in heads.items():
            verdict = self._verdict(path, res, max_bytes)
            if verdict is not None:
                out[path] = verdict
                continue
            data = bytes.fromhex(str(res.data.get("data", "")))
            info = res.data.get("stat", {})
            mode = int(info.get("mode", 0))
            if len(data) > max_bytes:
                out[path] = FileRead(
                    path, ReadStatus.REFUSED, _too_big(max_bytes), mode=mode, remote=True
                )
                continue
            uid = info.get("uid")
            out[path] = FileRead(
                path, ReadStatus.OK, "", data, mode, None if uid is None else int(uid), None, True
            )
        return out

    def _verdict(self, path: str, res: ProbeResult, max_bytes: int) -> FileRead | None:
        """A probe's answer as a final result, or None when the file may be read."""
        if res.status == UNRESPONSIVE:
            return self.unanswered(path)
        if res.status != "ok":
            return _probe_failed(path, res)
        info = res.data.get("stat", {})
        mode = int(info.get("mode", 0))
        why = refusal(mode, int(info.get("size", 0)), max_bytes)
        if why:
            return FileRead(path, ReadStatus.REFUSED, why, mode=mode, remote=True)
        return None

    # ------------------------------------------------------------------ shares

    def _share_key(self, path: str) -> str:
        """Which share a path belongs to, for "did not answer earlier" (a path reached through
        a symlink from a local mount is its own key: we do not know which share it is on)."""
        mount = mount_for(path, self.mounts)
        if mount is not None and mount.possibly_remote:
            return mount.mountpoint
        return path

    def unanswered(self, path: str) -> FileRead:
        """The result for a path whose share did not answer (and remember that it did not)."""
        key = self._share_key(path)
        if key not in self._dead:
            mount = mount_for(path, self.mounts)
            if mount is not None and key == mount.mountpoint:
                where = f"{mount.source} (mounted at {mount.mountpoint})"
            else:
                where = "a network share (reached through a symlink)"
            wait = f"no answer within {seconds_text(self.timeout)}"
            home = (self.home or "").rstrip("/")
            if home and within(path, home):
                self._dead[key] = f"your home {home} is on {where}, which is not answering ({wait})"
            else:
                self._dead[key] = f"is on {where}, which is not answering ({wait})"
        return FileRead(path, ReadStatus.UNRESPONSIVE, self._dead[key], remote=True)

    def answered_before(self, path: str) -> bool:
        """False when the share holding ``path`` already failed to answer in this run."""
        return self._share_key(path) not in self._dead

    def _alive(self, paths: Iterable[str], out: dict[str, FileRead]) -> list[str]:
        """Paths whose share has not failed yet; the others get their result in ``out``."""
        alive = []
        for path in paths:
            if self.answered_before(path):
                alive.append(path)
            else:
                out[path] = self.unanswered(path)
        return alive

    def probe_many(
        self, op: PathOp, paths: Sequence[str], arg: str = "0"
    ) -> dict[str, ProbeResult]:
        """Run one probe operation on several paths at once, skipping shares that failed.

        A share that did not answer earlier gets an ``unresponsive`` result without a new try.
        """
        results: dict[str, ProbeResult] = {}
        asked = []
        for path in dict.fromkeys(paths):
            if self.answered_before(path):
                asked.append(path)
            else:
                results[path] = ProbeResult(path, UNRESPONSIVE, 0.0, None, "did not answer earlier")
        answers = run_probes([(op, path, arg) for path in asked], self.timeout) if asked else []
        for path, res in zip(asked, answers, strict=True):
            if res.status == UNRESPONSIVE:
                self.unanswered(path)
            results[path] = res
        return results

    def probe(self, op: PathOp, path: str, arg: str = "0") -> ProbeResult:
        """One probe operation (``stat``, ``listdir``, ``appendable`` ...) under the same rules."""
        return self.probe_many(op, [path], arg)[path]

    # ------------------------------------------------------------------ existence, directories

    def exists_many(self, paths: Iterable[str]) -> dict[str, bool]:
        """``os.path.lexists`` for each path (a dangling link exists); UserFileError when a
        share does not answer. On a share, one listing per directory answers for all its files."""
        out: dict[str, bool] = {}
        by_dir: dict[str, list[str]] = {}
        for path in dict.fromkeys(paths):
            if self.is_remote(path):
                by_dir.setdefault(posixpath.dirname(path), []).append(path)
            else:
                out[path] = os.path.lexists(path)
        listings = self.probe_many("listdir", list(by_dir), str(MAX_LISTING))
        for directory, members in by_dir.items():
            res = listings[directory]
            if res.status == UNRESPONSIVE:
                raise UserFileError(self.unanswered(members[0]))
            entries = res.data.get("entries", []) if res.status == "ok" else []
            names = {str(entry[0]) for entry in entries}
            for path in members:
                found = posixpath.basename(path) in names
                if not found and len(entries) >= MAX_LISTING:  # a huge directory: ask directly
                    single = self.probe("stat", path)
                    if single.status == UNRESPONSIVE:
                        raise UserFileError(self.unanswered(path))
                    found = single.status == "ok"
                out[path] = found
        return out

    def list_dirs(self, paths: Iterable[str], limit: int = MAX_LISTING) -> dict[str, Listing]:
        """List several directories; those on shares are listed by probes (one timeout, not n),
        and a listing reaches the server (a client may answer a stat from its cache)."""
        local, remote = self.split(paths)
        out = {path: list_local(path, limit) for path in local}
        for path, res in self.probe_many("listdir", remote, str(limit)).items():
            if res.status == "ok":
                entries = tuple((str(e[0]), str(e[1])) for e in res.data.get("entries", []))
                out[path] = Listing(path, ReadStatus.OK, "", entries)
            elif res.status == UNRESPONSIVE:
                out[path] = Listing(path, ReadStatus.UNRESPONSIVE, self.unanswered(path).reason)
            elif res.errno == errno.ENOTDIR:
                out[path] = Listing(path, ReadStatus.REFUSED, "is not a directory")
            else:
                found = _probe_failed(path, res)
                out[path] = Listing(path, found.status, found.reason)
        return out

    def lstat_many(self, paths: Iterable[str]) -> dict[str, PathStat]:
        """``os.lstat`` of several paths (bounded on a share, one timeout for all)."""
        out: dict[str, PathStat] = {}
        local, remote = self.split(paths)
        for path in local:
            try:
                st = os.lstat(path)
            except OSError as exc:
                found = _from_errno(path, exc.errno, exc.strerror or str(exc))
                out[path] = PathStat(path, found.status, found.reason)
            else:
                out[path] = PathStat(path, ReadStatus.OK, "", st.st_mode, st.st_uid)
        for path, res in self.probe_many("lstat", remote).items():
            if res.status == "ok":
                info = res.data.get("stat", {})
                mode, uid = int(info.get("mode", 0)), int(info.get("uid", -1))
                out[path] = PathStat(path, ReadStatus.OK, "", mode, uid)
            elif res.status == UNRESPONSIVE:
                out[path] = PathStat(path, ReadStatus.UNRESPONSIVE, self.unanswered(path).reason)
            else:
                found = _probe_failed(path, res)
                out[path] = PathStat(path, found.status, found.reason)
        return out

    def exists(self, path: str) -> bool:
        return self.exists_many([path])[path]

    def check_dir(self, directory: str) -> FileRead:
        """Does the directory that holds (or will hold) files answer? For writers, before they
        write: the nearest existing directory on the way is listed by a probe (a listing
        reaches the server; a stat may be answered from a cache). Local directories: ok."""
        current = posixpath.normpath(directory)
        if not self.is_remote(current):
            return FileRead(current, ReadStatus.OK)
        while True:
            res = self.probe("listdir", current, "1")
            if res.status == UNRESPONSIVE:
                return self.unanswered(directory)
            if res.status == "ok":
                return FileRead(current, ReadStatus.OK, remote=True)
            parent = posixpath.dirname(current)
            if res.status != "missing" or parent == current:
                return _from_errno(directory, res.errno, res.error or res.describe(), True)
            current = parent


__all__ = [
    "MAX_FILE_BYTES",
    "MAX_STATE_BYTES",
    "FileRead",
    "Listing",
    "PathStat",
    "ReadStatus",
    "Reader",
    "UserFileError",
    "list_local",
    "read_local",
]
