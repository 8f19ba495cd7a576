"""Safe edits of user files: plan old bytes -> new bytes, show a diff, apply atomically, back up.

Every command that changes a user's file (startup files, ``.condarc``) goes through here so the
same promises hold everywhere:

- planned first: an :class:`Edit` holds the exact old and new bytes, so ``--dry-run`` can show a
  unified diff and change nothing;
- symlinks (dotfile managers) are followed: the link's final target is rewritten, the link kept
  — but only links nobody else could have planted (:mod:`condashare.files.links`);
- atomic: the new bytes go to a temporary file in the target's directory, are fsynced, get the
  old file's mode and ownership, and are renamed over the target (then the directory is fsynced),
  so a crash at any moment leaves either the old or the new file;
- a timestamped backup of the old bytes is kept before anything is replaced or deleted;
- a file that changed between planning and applying is not overwritten (:class:`EditConflict`);
- read-only, binary and non-UTF-8 files are refused up front with a clear message, and a write
  the system refuses (disk full, read-only filesystem ...) is an :class:`EditWriteFailed` that
  says what was left as it was (:mod:`condashare.files.errors`);
- files are read through :mod:`condashare.files.read` (regular files only, a size cap, bounded on
  a share), and a file on a possibly remote mount is written only after a probe saw its directory
  answer, by a child process with a deadline: a dead home gives :class:`EditUnresponsive`
  (exit 3), never a hang.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from condashare.files.errors import EditConflict as EditConflict
from condashare.files.errors import EditError as EditError
from condashare.files.errors import EditUnresponsive as EditUnresponsive
from condashare.files.errors import EditWriteFailed as EditWriteFailed
from condashare.files.errors import os_words, write_failed
from condashare.files.links import UnsafeLink, resolve_trusted
from condashare.files.read import FileRead, Reader, ReadStatus, read_local
from condashare.wording import seconds_text

T = TypeVar("T")


@dataclass(frozen=True)
class FileState:
    """What is on disk at ``path`` now, with symlinks resolved to the file actually written."""

    path: str  # as the caller named it (may be a symlink)
    target: str  # the regular file behind it (may not exist yet)
    data: bytes | None  # None: the file does not exist
    mode: int | None  # permission bits of the existing file
    uid: int | None
    gid: int | None
    link: bool = False  # ``path`` itself is a symlink (to ``target``)

    @property
    def exists(self) -> bool:
        return self.data is not None

    @property
    def is_link(self) -> bool:
        return self.link


@dataclass(frozen=True)
class Edit:
    """One planned change of one file: ``old`` -> ``new`` (None means absent)."""

    path: str
    target: str
    old: bytes | None
    new: bytes | None
    reason: str = ""
    link: bool = False  # ``path`` is a symlink: ``target`` is what gets written

    @property
    def changed(self) -> bool:
        return self.old != self.new

    @property
    def action(self) -> str:
        """``create``, ``modify``, ``delete`` or ``unchanged``."""
        if not self.changed:
            return "unchanged"
        if self.old is None:
            return "create"
        if self.new is None:
            return "delete"
        return "modify"

    def diff(self) -> str:
        """A unified diff of the change (empty when unchanged); labels name the edited path."""
        return unified_diff(self.old, self.new, self.path)


@dataclass(frozen=True)
class AppliedEdit:
    """An edit that was carried out, and where the old bytes were saved."""

    edit: Edit
    backup: str | None


def _resolve_here(path: str) -> tuple[str, bool]:
    try:
        return resolve_trusted(path)
    except UnsafeLink as exc:
        raise EditError(exc.link, exc.reason) from None


def resolve_link(path: str, reader: Reader | None = None) -> tuple[str, bool]:
    """The file a write to ``path`` should replace (symlinks followed, even dangling ones), and
    whether ``path`` itself is a symlink.

    A link is followed only where nobody else could have planted it
    (:mod:`condashare.files.links`); EditError otherwise. On a possibly remote path the links
    are followed in a child with a deadline (each step is a lookup on the share).
    """
    if reader is None or not reader.is_remote(path):
        return _resolve_here(path)
    return _in_child(_resolve_here, (path,), reader.timeout, path, None, reader)


def resolve_target(path: str, reader: Reader | None = None) -> str:
    """The file a write to ``path`` should replace (see :func:`resolve_link`)."""
    return resolve_link(path, reader)[0]


def state_from_read(path: str, target: str, result: FileRead, link: bool = False) -> FileState:
    """A reader's result as the state an edit starts from; EditError for anything unreadable."""
    if result.status is ReadStatus.MISSING:
        return FileState(path, target, None, None, None, None, link)
    if result.status is ReadStatus.UNRESPONSIVE:
        raise EditUnresponsive(path, result.reason)
    if not result.ok or result.data is None or result.mode is None:
        raise EditError(path, result.reason)
    mode = stat.S_IMODE(result.mode)
    return FileState(path, target, result.data, mode, result.uid, result.gid, link)


def read_state(path: str, reader: Reader | None = None) -> FileState:
    """Read ``path`` (through symlinks) with the one reader; EditError when it is not a
    regular file, too big, a symlink loop or unreadable, EditUnresponsive on a dead share."""
    reader = reader or Reader.for_this_host()
    target, link = resolve_link(path, reader)
    return state_from_read(path, target, reader.read(target), link)


def _state_here(path: str) -> FileState:
    """read_state without bounds, for code already running where a hang is harmless."""
    target, link = _resolve_here(path)
    return state_from_read(path, target, read_local(target), link)


def check_text(path: str, data: bytes | None) -> str | None:
    """Decode a text file for editing; EditError for binary or non-UTF-8 content."""
    if data is None:
        return None
    if b"\0" in data:
        raise EditError(path, "looks binary (contains NUL bytes); refusing to edit it")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EditError(
            path, f"is not UTF-8 text (byte {exc.start}); refusing to edit it"
        ) from None


def check_writable(state: FileState) -> None:
    """Refuse a file its owner marked read-only (even root must not silently override that)."""
    if state.mode is not None and not state.mode & stat.S_IWUSR:
        raise EditError(state.path, "is read-only (no write permission); refusing to change it")


def plan_edit(
    path: str,
    transform: Callable[[bytes | None], bytes | None],
    reason: str = "",
    state: FileState | None = None,
    reader: Reader | None = None,
) -> Edit:
    """Read ``path`` and compute its new content with ``transform`` (None = delete/absent)."""
    state = state or read_state(path, reader)
    new = transform(state.data)
    edit = Edit(path, state.target, state.data, new, reason, state.link)
    if edit.changed:
        check_writable(state)
    return edit


def unified_diff(old: bytes | None, new: bytes | None, path: str) -> str:
    """Text diff of two versions; ``/dev/null`` stands for an absent file."""
    if old == new:
        return ""

    def lines(data: bytes | None) -> list[str]:
        if data is None:
            return []
        text = data.decode("utf-8", errors="replace")
        out = text.splitlines(keepends=True)
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n\\ No newline at end of file\n"
        return out

    return "".join(
        difflib.unified_diff(
            lines(old),
            lines(new),
            fromfile=path if old is not None else "/dev/null",
            tofile=path if new is not None else "/dev/null",
        )
    )


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(
    target: str, data: bytes, mode: int | None = None, owner: tuple[int, int] | None = None
) -> None:
    """Replace ``target`` by ``data`` atomically: temp file in the same dir, fsync, rename.

    The directory is reached only through trusted symlinks (UnsafeLink otherwise); a link at
    ``target`` itself is replaced, not followed (callers that edit through links resolve first).
    """
    directory, _ = resolve_trusted(os.path.dirname(os.path.abspath(target)))
    target = os.path.join(directory, os.path.basename(target))
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(target) + ".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            if owner is not None:
                with contextlib.suppress(PermissionError):
                    os.fchown(fh.fileno(), owner[0], owner[1])
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def replace_file(
    path: str, data: bytes, default_mode: int = 0o644, reader: Reader | None = None
) -> str:
    """Atomically give ``path`` (through symlinks) the content ``data``; returns the file written.

    For callers that already decided what to write (no plan/diff/backup): mode and owner of an
    existing file are kept, a new file gets ``default_mode`` minus the umask, the parent
    directories are created. Bounded on a share (see :func:`bounded_write`).
    """
    reader = reader or Reader.for_this_host()
    return bounded_write(_replace_here, (path, data, default_mode), [path], reader, path)


def _replace_here(path: str, data: bytes, default_mode: int) -> str:
    target, _ = _resolve_here(path)
    try:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        try:
            st = os.stat(target)
            mode: int | None = stat.S_IMODE(st.st_mode)
            owner: tuple[int, int] | None = (st.st_uid, st.st_gid)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode, owner = default_mode & ~umask, None
        atomic_write(target, data, mode, owner)
    except UnsafeLink as exc:
        raise EditError(exc.link, exc.reason) from None
    except OSError as exc:
        raise write_failed(path, exc, "write it", "it is unchanged") from None
    return target


def backup_name(target: str, backup_dir: str, now: float | None = None) -> str:
    """``<backup_dir>/<escaped target path>.<UTC timestamp>`` (unique per target and second)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    flat = target.strip("/").replace("%", "%25").replace("/", "%2F") or "root"
    base = os.path.join(backup_dir, f"{flat}.{stamp}")
    candidate, n = base, 1
    while os.path.lexists(candidate):
        n += 1
        candidate = f"{base}.{n}"
    return candidate


def write_backup(state_data: bytes, target: str, backup_dir: str, mode: int | None) -> str:
    os.makedirs(backup_dir, mode=0o700, exist_ok=True)
    name = backup_name(target, backup_dir)
    atomic_write(name, state_data, mode=0o600 if mode is None else (mode & 0o700) or 0o600)
    return name


def apply_edit(
    edit: Edit, backup_dir: str | None = None, reader: Reader | None = None
) -> AppliedEdit:
    """Carry out ``edit`` if the file still holds ``edit.old``; back up what is replaced.

    Bounded on a share (see :func:`bounded_write`): a dead home raises EditUnresponsive.
    """
    if not edit.changed:
        return AppliedEdit(edit, None)
    places = [edit.target] + ([backup_dir] if backup_dir else [])
    reader = reader or Reader.for_this_host()
    return bounded_write(_apply_here, (edit, backup_dir), places, reader, edit.path)


def _apply_here(edit: Edit, backup_dir: str | None) -> AppliedEdit:
    current = _state_here(edit.path)
    if current.target != edit.target or current.data != edit.old:
        raise EditConflict(edit.path, "changed since the edit was planned; run the command again")
    check_writable(current)
    backup = None
    if current.data is not None and backup_dir is not None:
        try:
            backup = write_backup(current.data, current.target, backup_dir, current.mode)
        except UnsafeLink as exc:
            raise EditError(exc.link, exc.reason + "; nothing was changed") from None
        except OSError as exc:
            doing = f"keep a backup in {backup_dir}"
            raise write_failed(edit.path, exc, doing, "nothing was changed") from None
    if edit.new is None:
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(current.target)
        except OSError as exc:
            raise write_failed(edit.path, exc, "delete it", "it is unchanged") from None
        _fsync_dir(os.path.dirname(current.target))
        return AppliedEdit(edit, backup)
    parent = os.path.dirname(current.target)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise write_failed(edit.path, exc, f"create {parent}", "nothing was written") from None
    owner = (
        (current.uid, current.gid) if current.uid is not None and current.gid is not None else None
    )
    try:
        atomic_write(current.target, edit.new, current.mode, owner)
    except UnsafeLink as exc:
        raise EditError(exc.link, exc.reason) from None
    except OSError as exc:
        kept = "it is unchanged" if current.data is not None else "it was not created"
        raise write_failed(edit.path, exc, "write it", kept) from None
    return AppliedEdit(edit, backup)


def apply_edits(
    edits: Sequence[Edit], backup_dir: str | None = None, reader: Reader | None = None
) -> list[AppliedEdit]:
    """Apply several edits in order (each one atomic on its own)."""
    return [apply_edit(e, backup_dir, reader) for e in edits if e.changed]


def write_timeout(reader: Reader) -> float:
    """How long a write on a share may take: writes and two fsyncs, so more than one probe."""
    return max(5.0, 3 * reader.timeout)


def bounded_write(
    fn: Callable[..., T],
    args: tuple[Any, ...],
    places: Sequence[str],
    reader: Reader,
    label: str,
) -> T:
    """Run ``fn(*args)``, which writes at ``places`` (files or directories), without hanging.

    All places local: it runs here. Otherwise the directories on the way are first probed (a
    listing must reach the server; nothing is written when one does not answer), then it runs
    in a child process with a deadline (so ``fn`` is a module-level function and ``args`` plain
    data: a spawned child gets them pickled). A child that overruns is abandoned: since every
    write is atomic, each file it touched is either as before or completely new, and the error
    says so. ``label`` names the file in messages.
    """
    if not any(reader.is_remote(p) for p in places):
        try:
            return fn(*args)
        except EditError:
            raise
        except OSError as exc:  # a writer that did not say what it was doing
            kept = "each write is atomic: nothing half-written"
            raise write_failed(label, exc, "write", kept) from None
    for place in dict.fromkeys(os.path.dirname(p) or "." for p in places):
        answer = reader.check_dir(place)
        if answer.status is ReadStatus.UNRESPONSIVE:
            raise EditUnresponsive(label, answer.reason + "; nothing was written")
    seconds = write_timeout(reader)
    after = (
        f"the share stopped answering while it was being written (no answer within "
        f"{seconds_text(seconds)}); each write is atomic, so the file is either unchanged or "
        "completely written (it may complete when the share answers again): run the command "
        "again then"
    )
    return _in_child(fn, args, seconds, label, after, reader)


def _tagged(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Runs in the child: the outcome of ``fn`` as plain data (exception types survive)."""
    try:
        return ("ok", fn(*args))
    except UnsafeLink as exc:
        return ("edit", "EditError", exc.link, exc.reason)
    except EditError as exc:
        return ("edit", type(exc).__name__, exc.path, exc.message)
    except OSError as exc:
        return ("os", exc.errno, exc.strerror, exc.filename)


def _in_child(
    fn: Callable[..., T],
    args: tuple[Any, ...],
    timeout: float,
    label: str,
    after_timeout: str | None,
    reader: Reader,
) -> T:
    """``fn(*args)`` in an abandonable child; EditUnresponsive when it overruns (with
    ``after_timeout`` as the reason, or the reader's "not answering" one when None)."""
    from condashare.bounded import calls

    answer = calls.call(_tagged, fn, args, timeout=timeout)
    if answer.state == calls.TIMEOUT:
        reason = reader.unanswered(label).reason
        raise EditUnresponsive(label, after_timeout or reason)
    if answer.state != calls.DONE:
        raise EditError(label, f"could not be written: {answer.error}")
    tag, *rest = answer.value
    if tag == "edit":
        kinds = (EditConflict, EditUnresponsive, EditWriteFailed)
        cls = next((k for k in kinds if k.__name__ == rest[0]), EditError)
        raise cls(rest[1], rest[2])
    if tag == "os":
        error = OSError(rest[0], rest[1], rest[2])
        raise write_failed(label, error, "write", "each write is atomic: nothing half-written")
    value: T = rest[0]
    return value


def _create_lock(lock_path: str) -> None:
    try:
        directory, _ = resolve_trusted(os.path.dirname(os.path.abspath(lock_path)))
        os.makedirs(directory, exist_ok=True)
        os.close(os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600))
    except UnsafeLink as exc:
        raise EditError(exc.link, exc.reason) from None
    except OSError as exc:
        words = os_words(exc)
        raise EditWriteFailed(lock_path, f"cannot create the lock file: {words}") from None


@contextlib.contextmanager
def exclusive_lock(
    lock_path: str, timeout: float = 30.0, reader: Reader | None = None
) -> Iterator[None]:
    """Serialise concurrent runs (two ``init`` at once) with an flock on ``lock_path``.

    The lock's directory and file are created through :func:`bounded_write`, so a dead home
    raises EditUnresponsive here before anything else is touched.
    """
    reader = reader or Reader.for_this_host()
    bounded_write(_create_lock, (lock_path,), [lock_path], reader, lock_path)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EditError(lock_path, "another condashare run holds this lock") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
