"""One walk of a tree and mode changes that cannot be redirected, both in bounded children.

Why slices: an installation of 100k files on NFS takes minutes to walk, and the share may die at
any point. The walk therefore runs as a sequence of short child calls (the function-in-a-child
machinery, :mod:`condashare.bounded.calls`), each doing about a second of work and handing back
what it saw and where to go on; only that crosses the pipe, both ways (a spawned child on macOS
gets its arguments pickled). A child that does not answer within ``timeout`` seconds after its
second is up is abandoned (a process stuck on a dead share cannot be reaped) and the walk
reports "unresponsive" with the directory it was in. Applying a plan works the same way.

Why this chmod: a repair runs as an admin, often root, inside a tree that others may be able to
write (that is what the audit finds). A symlink planted between the audit and the repair must
not turn ``chmod a+r`` into a change outside the tree. Every path is reached from the root one
component at a time with ``O_NOFOLLOW`` (``O_PATH`` on Linux, so no file is really opened and
unreadable ones work too), the final fd must be the inode the audit saw (device and inode) with
the mode the plan was made for, and the mode is changed through that fd. Symlinks are never
changed. Directories are repaired before what they hold, so a directory others could write is
closed before anything inside it is touched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from condashare.admin.frozen import MAX_MARKER_BYTES, Marker, read_marker
from condashare.bounded import calls
from condashare.bounded.errnos import error_words
from condashare.pathtext import within
from condashare.wording import seconds_text

SLICE_SECONDS = 1.0  # work one child does before it hands back
SLICE_ENTRIES = 50_000  # entries one child stats before it hands back
OWNER_SAMPLES = 20  # paths kept per owning account
APPLY_CHUNK = 5_000  # actions handed to one child (it stops earlier when its second is up)

Kind = Literal["file", "dir", "link", "other"]
WalkStatus = Literal["ok", "missing", "not-a-dir", "error", "unresponsive"]


class Entry(NamedTuple):
    """An entry the audit must look at (its mode or type is not what users need)."""

    rel: str  # path relative to the root ("" is the root itself)
    kind: Kind
    mode: int
    uid: int
    gid: int
    dev: int
    ino: int
    nlink: int


@dataclass(frozen=True)
class EnvMeta:
    """A conda env inside the tree (``conda-meta/history`` exists) and its frozen marker."""

    rel: str
    marker: Marker


@dataclass
class Walk:
    """What one walk of a tree saw: flagged entries, owners, symlinks leaving it, envs."""

    root: str
    real_root: str = ""
    status: WalkStatus = "ok"
    detail: str = ""
    root_uid: int = -1
    root_gid: int = -1
    entries: int = 0
    dirs: int = 0
    files: int = 0
    links: int = 0
    flagged: list[Entry] = field(default_factory=list)
    owners: dict[int, int] = field(default_factory=dict)
    owner_samples: dict[int, list[str]] = field(default_factory=dict)
    links_out: list[tuple[str, str]] = field(default_factory=list)
    envs: list[EnvMeta] = field(default_factory=list)
    unlisted: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return self.status == "ok"


def needed_bits(kind: Kind, mode: int) -> int:
    """Read (and search/execute) bits every user needs: r-x on dirs, r on files, x if u+x."""
    if kind == "dir":
        return 0o555
    if kind == "file":
        return 0o444 | (0o111 if mode & stat.S_IXUSR else 0)
    return 0


def _flagged(kind: Kind, perm: int) -> bool:
    """Must the audit look at an entry of this kind and permission bits?"""
    if perm & 0o022 or needed_bits(kind, perm) & ~perm:
        return True
    return kind == "file" and bool(perm & (stat.S_ISUID | stat.S_ISGID))


# The same rule as a table per permission value: the walk asks it for every entry.
_FLAG_FILE = tuple(_flagged("file", perm) for perm in range(0o10000))
_FLAG_DIR = tuple(_flagged("dir", perm) for perm in range(0o10000))
_CHECK_EVERY = 64  # entries between two looks at the clock


def _error_text(exc: OSError) -> str:
    """The words every command uses for the error: ``stale file handle (ESTALE)``."""
    return error_words(exc.errno, exc.strerror or str(exc))


@dataclass
class _Cursor:
    """Where the walk goes on: what one child needs to continue, and nothing else."""

    real_root: str
    root_uid: int
    root_gid: int
    queue: list[str]  # directories (relative) still to read
    partial: tuple[str, frozenset[str]] | None = None  # a dir left half done, names done


def _read_marker_at(path: str) -> Marker:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        return Marker("invalid", problem=f"cannot be read ({_error_text(exc)})")
    try:
        return read_marker(os.read(fd, MAX_MARKER_BYTES))
    finally:
        os.close(fd)


def env_marker(env: str) -> Marker | None:
    """The frozen marker of the env at ``env`` (None: not an env, no ``conda-meta/history``).

    Touches the path: call it in a bounded child when it may be on a share.
    """
    meta = os.path.join(env, "conda-meta")
    try:
        if not stat.S_ISREG(os.lstat(os.path.join(meta, "history")).st_mode):
            return None
    except OSError:
        return None
    try:
        kind = stat.S_IFMT(os.lstat(os.path.join(meta, "frozen")).st_mode)
    except FileNotFoundError:
        return Marker("absent")
    except OSError as exc:
        return Marker("invalid", problem=f"cannot be read ({_error_text(exc)})")
    if kind == stat.S_IFREG:
        return _read_marker_at(os.path.join(meta, "frozen"))
    if kind == stat.S_IFLNK:
        return Marker("not-a-file", problem="a symlink: whoever controls its target decides")
    return Marker("not-a-file", problem="not a regular file: conda ignores it")


def _scan_dir(
    walk: Walk,
    real: str,
    rel: str,
    skip: frozenset[str],
    queue: list[str],
    stop: Callable[[], bool],
) -> frozenset[str] | None:
    """Stat every entry of one directory; returns the names done if ``stop`` cut it short."""
    path = os.path.join(real, rel) if rel else real
    try:
        it = os.scandir(path)
    except OSError as exc:
        walk.unlisted.append((rel, _error_text(exc)))
        return None
    done: list[str] = []
    prefix = rel + "/" if rel else ""
    with it:
        for entry in it:
            name = entry.name
            if skip and name in skip:
                continue
            if len(done) % _CHECK_EVERY == _CHECK_EVERY - 1 and stop():
                return skip | frozenset(done)
            done.append(name)
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                walk.unlisted.append((prefix + name, _error_text(exc)))
                continue
            _record(walk, real, prefix + name, st, queue)
    if os.path.basename(rel) == "conda-meta":
        # looked up by name once the dir is done, since a big one is read in several slices
        marker = env_marker(os.path.dirname(path))
        if marker is not None:
            walk.envs.append(EnvMeta(os.path.dirname(rel), marker))
    return None


def _record(walk: Walk, real: str, rel: str, st: os.stat_result, queue: list[str]) -> None:
    """Count one entry; keep it only when something about it is wrong (the hot path)."""
    mode, uid = st.st_mode, st.st_uid
    walk.entries += 1
    seen = walk.owners.get(uid, 0)
    walk.owners[uid] = seen + 1
    if seen < OWNER_SAMPLES:
        walk.owner_samples.setdefault(uid, []).append(rel)
    fmt, perm = stat.S_IFMT(mode), mode & 0o7777
    kind: Kind
    if fmt == stat.S_IFREG:
        walk.files += 1
        if not _FLAG_FILE[perm]:
            return
        kind = "file"
    elif fmt == stat.S_IFDIR:
        walk.dirs += 1
        queue.append(rel)
        if not _FLAG_DIR[perm]:
            return
        kind = "dir"
    elif fmt == stat.S_IFLNK:
        walk.links += 1
        _link(walk, real, rel)
        return
    else:
        kind = "other"
    walk.flagged.append(Entry(rel, kind, perm, uid, st.st_gid, st.st_dev, st.st_ino, st.st_nlink))


def _link(walk: Walk, real: str, rel: str) -> None:
    """Note a symlink whose target (read, never followed) lies outside the tree."""
    try:
        target = os.readlink(os.path.join(real, rel))
    except OSError:
        return
    base = os.path.dirname(os.path.join(real, rel))
    if not within(os.path.normpath(os.path.join(base, target)), real):
        walk.links_out.append((rel, target))


def _walk_slice(
    root: str, cursor: _Cursor | None, seconds: float, max_entries: int
) -> tuple[Walk, _Cursor | None]:
    """Runs in a child: about ``seconds`` of the walk from ``cursor`` (None: the start).

    Returns what this slice saw and where to go on (None when the walk is done or failed).
    """
    started = time.monotonic()
    walk = Walk(root)
    if cursor is None:
        walk.real_root = real = os.path.realpath(root)
        try:
            st = os.lstat(real)
        except FileNotFoundError:
            walk.status, walk.detail = "missing", "does not exist"
            return walk, None
        except OSError as exc:
            walk.status, walk.detail = "error", _error_text(exc)
            return walk, None
        if not stat.S_ISDIR(st.st_mode):
            walk.status, walk.detail = "not-a-dir", "not a directory"
            return walk, None
        walk.root_uid, walk.root_gid = st.st_uid, st.st_gid
        cursor = _Cursor(real, st.st_uid, st.st_gid, [])
        _record(walk, real, "", st, cursor.queue)
    real = walk.real_root = cursor.real_root
    walk.root_uid, walk.root_gid = cursor.root_uid, cursor.root_gid

    def stop() -> bool:
        return walk.entries >= max_entries or time.monotonic() - started > seconds

    if cursor.partial is not None:
        rel, names = cursor.partial
        cursor.partial = None
        left = _scan_dir(walk, real, rel, names, cursor.queue, stop)
        if left is not None:
            cursor.partial = (rel, left)
            return walk, cursor
    while cursor.queue and not stop():
        rel = cursor.queue.pop()
        left = _scan_dir(walk, real, rel, frozenset(), cursor.queue, stop)
        if left is not None:
            cursor.partial = (rel, left)
            break
    return walk, (cursor if cursor.queue or cursor.partial else None)


def _merge(into: Walk, part: Walk) -> None:
    for name in ("entries", "dirs", "files", "links"):
        setattr(into, name, getattr(into, name) + getattr(part, name))
    into.flagged.extend(part.flagged)
    for uid, count in part.owners.items():
        into.owners[uid] = into.owners.get(uid, 0) + count
        samples = into.owner_samples.setdefault(uid, [])
        samples.extend(part.owner_samples.get(uid, [])[: OWNER_SAMPLES - len(samples)])
    into.links_out.extend(part.links_out)
    into.envs.extend(part.envs)
    into.unlisted.extend(part.unlisted)


def _slice_failed(answer: calls.ChildAnswer, timeout: float) -> tuple[WalkStatus, str]:
    if answer.state == calls.TIMEOUT:
        return "unresponsive", f"no answer within {seconds_text(timeout)}"
    return "error", answer.error or answer.state


def walk_tree(
    root: str,
    timeout: float,
    slice_seconds: float = SLICE_SECONDS,
    slice_entries: int = SLICE_ENTRIES,
) -> Walk:
    """Walk ``root`` (symlinks never followed) in bounded children; never hangs.

    ``timeout`` is how long past its slice a child may stay silent before the share counts as
    unresponsive; the walk then stops and says where it was.
    """
    started = time.monotonic()
    walk: Walk | None = None
    cursor: _Cursor | None = None
    while True:
        answer = calls.call(
            _walk_slice, root, cursor, slice_seconds, slice_entries, timeout=slice_seconds + timeout
        )
        if answer.state != calls.DONE:
            status, detail = _slice_failed(answer, timeout)
            if walk is None:
                walk = Walk(root, status=status, detail=detail)
            else:
                where = "."
                if cursor is not None:
                    where = cursor.partial[0] if cursor.partial else cursor.queue[-1]
                walk.status, walk.detail = status, f"{detail} while reading {where or '.'}"
            break
        part, cursor = answer.value
        if walk is None:
            walk = part
        else:
            _merge(walk, part)
        if cursor is None:
            break
    walk.seconds = time.monotonic() - started
    return walk


# ------------------------------------------------------------------------------------------
# Applying a plan

ActionKind = Literal["chmod", "marker"]
ApplyStatus = Literal["changed", "skipped", "failed", "not-done"]


class Action(NamedTuple):
    """One change: a mode (``old`` -> ``new`` of the inode dev/ino) or a marker to write."""

    kind: ActionKind
    rel: str  # chmod: the entry; marker: the env (``conda-meta/frozen`` is written inside it)
    old: int = 0
    new: int = 0
    dev: int = 0
    ino: int = 0
    data: bytes = b""
    replace: bool = False  # marker: an existing (invalid) marker is expected and replaced


class Outcome(NamedTuple):
    """What became of one action."""

    status: ApplyStatus
    detail: str = ""


_O_PATH: int = getattr(os, "O_PATH", 0)
_NOFOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = (_O_PATH or os.O_RDONLY) | os.O_DIRECTORY | _NOFOLLOW


class _Dirs:
    """Open directory fds from the root down, one component at a time, never following links."""

    def __init__(self, real_root: str) -> None:
        self.root = os.open(real_root, _DIR_FLAGS)
        self.stack: list[tuple[str, int]] = []

    def open(self, parts: list[str]) -> int:
        keep = 0
        while keep < len(self.stack) and keep < len(parts) and self.stack[keep][0] == parts[keep]:
            keep += 1
        for _, fd in self.stack[keep:]:
            os.close(fd)
        del self.stack[keep:]
        for name in parts[keep:]:
            parent = self.stack[-1][1] if self.stack else self.root
            self.stack.append((name, os.open(name, _DIR_FLAGS, dir_fd=parent)))
        return self.stack[-1][1] if self.stack else self.root

    def close(self) -> None:
        for _, fd in self.stack:
            os.close(fd)
        self.stack.clear()
        os.close(self.root)


def _chmod(dirs: _Dirs, action: Action) -> Outcome:
    parts = action.rel.split("/") if action.rel else []
    if not parts:
        fd, owned = dirs.root, False
    else:
        parent = dirs.open(parts[:-1])
        flags = (_O_PATH or (os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)) | _NOFOLLOW
        try:
            fd, owned = os.open(parts[-1], flags, dir_fd=parent), True
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return Outcome("skipped", "became a symlink since the audit: left alone")
            return _chmod_by_name(parent, parts[-1], action, exc)
    try:
        st = os.fstat(fd)
        verdict = _same(st, action)
        if verdict:
            return verdict
        if _O_PATH:
            os.chmod(f"/proc/self/fd/{fd}", action.new)  # the inode fd holds, nothing else
        else:
            os.fchmod(fd, action.new)
    except OSError as exc:
        return Outcome("failed", _error_text(exc))
    finally:
        if owned:
            os.close(fd)
    return Outcome("changed")


def _same(st: os.stat_result, action: Action) -> Outcome | None:
    """None when the inode is the one planned for, in the planned mode; else why to skip."""
    if stat.S_ISLNK(st.st_mode):
        return Outcome("skipped", "became a symlink since the audit: left alone")
    if (st.st_dev, st.st_ino) != (action.dev, action.ino):
        return Outcome("skipped", "replaced since the audit (another file now): left alone")
    if st.st_mode & 0o7777 != action.old:
        return Outcome("skipped", f"mode changed since the audit (now {st.st_mode & 0o7777:04o})")
    return None


def _chmod_by_name(parent: int, name: str, action: Action, first: OSError) -> Outcome:
    """Without O_PATH (macOS) an unreadable file cannot be opened: lchmod by name instead."""
    if first.errno != errno.EACCES or os.chmod not in os.supports_follow_symlinks:
        return Outcome("failed", _error_text(first))
    try:
        verdict = _same(os.stat(name, dir_fd=parent, follow_symlinks=False), action)
        if verdict:
            return verdict
        os.chmod(name, action.new, dir_fd=parent, follow_symlinks=False)
    except OSError as exc:
        return Outcome("failed", _error_text(exc))
    return Outcome("changed")


def _write_marker(dirs: _Dirs, action: Action) -> Outcome:
    parts = [*(action.rel.split("/") if action.rel else []), "conda-meta"]
    try:
        meta = dirs.open(parts)
    except OSError as exc:
        return Outcome("failed", f"conda-meta: {_error_text(exc)}")
    try:
        os.stat("frozen", dir_fd=meta, follow_symlinks=False)
        exists = True
    except FileNotFoundError:
        exists = False
    except OSError as exc:
        return Outcome("failed", _error_text(exc))
    if exists and not action.replace:
        return Outcome("skipped", "a marker appeared since the audit: left alone")
    tmp = f".frozen.condashare-{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=meta)
        try:
            os.write(fd, action.data)
            os.fchmod(fd, 0o644)  # readable by every user whatever the umask
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, "frozen", src_dir_fd=meta, dst_dir_fd=meta)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=meta)
        return Outcome("failed", _error_text(exc))
    return Outcome("changed")


def _apply_slice(real_root: str, actions: list[Action], seconds: float) -> list[Outcome]:
    """Runs in a child: apply ``actions`` in order for about ``seconds``; one outcome each."""
    began = time.monotonic()
    out: list[Outcome] = []
    try:
        dirs = _Dirs(real_root)
    except OSError as exc:
        return [Outcome("failed", f"cannot open the root: {_error_text(exc)}")] * len(actions)
    try:
        for action in actions:
            if out and time.monotonic() - began > seconds:
                break
            try:
                if action.kind == "chmod":
                    out.append(_chmod(dirs, action))
                else:
                    out.append(_write_marker(dirs, action))
            except OSError as exc:  # a directory on the way is gone or became a symlink
                out.append(Outcome("failed", _error_text(exc)))
    finally:
        dirs.close()
    return out


def order_actions(actions: list[Action]) -> list[Action]:
    """Parents before children (a directory is closed before its entries are touched), then
    markers last, once their env's modes are right."""
    return sorted(actions, key=lambda a: (a.kind == "marker", a.rel.split("/") if a.rel else []))


def apply_actions(
    real_root: str, actions: list[Action], timeout: float, slice_seconds: float = SLICE_SECONDS
) -> tuple[list[Outcome], str]:
    """Apply ``actions`` (already ordered) in bounded children; returns one outcome per action
    and, when the share stopped answering, why the rest were not done."""
    outcomes: list[Outcome] = []
    problem = ""
    while len(outcomes) < len(actions):
        chunk = actions[len(outcomes) : len(outcomes) + APPLY_CHUNK]
        answer = calls.call(
            _apply_slice, real_root, chunk, slice_seconds, timeout=slice_seconds + timeout
        )
        if answer.state != calls.DONE:
            _, problem = _slice_failed(answer, timeout)
            break
        got: list[Any] = answer.value
        if not got:
            break
        outcomes.extend(got)
    left = len(actions) - len(outcomes)
    outcomes.extend([Outcome("not-done", problem or "not reached")] * left)
    return outcomes, problem
