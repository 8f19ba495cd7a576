"""Read and write kernelspec directories without hanging and without following planted links.

A Jupyter data dir is in the home, and the home may be on a share (a shared home is the point
of this feature), so the scan and the writes run in an abandonable child (fork) with a deadline.
Writes are atomic (temp file in the same directory, fsync, rename: a rename replaces a link, it
never writes through it) and keep a backup of what they replace. No path component is followed
if it is a symlink owned by someone other than this user or root, and no directory owned by
another user is written into: in a shared ``/tmp``-like directory another user could otherwise
point our writes at any file we own.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from condashare.bounded import calls
from condashare.bounded.paths import ERROR, MISSING, OK, UNRESPONSIVE
from condashare.errors import CondashareError
from condashare.files.write import atomic_write, write_backup
from condashare.kernels.spec import FILES, KERNEL_JSON, LAUNCHER, KernelRecord, record_of

_MAX_FILE = 1 << 20
_MAX_SPECS = 2000
_MODES = {KERNEL_JSON: 0o644, LAUNCHER: 0o755}


@dataclass(frozen=True)
class FoundSpec:
    """One kernelspec directory as found: its files, parsed kernel.json, and who owns it."""

    name: str
    path: str
    kind: str  # dir | link (a symlink to a directory) | other
    owned: bool  # a real directory of this user's (or root's), so its files are trustworthy
    files: dict[str, bytes] = field(default_factory=dict)  # kernel.json, launch.sh when present
    spec: dict[str, Any] | None = None  # parsed kernel.json
    error: str = ""  # why kernel.json could not be used
    extra: tuple[str, ...] = ()  # other entries in the directory

    @property
    def record(self) -> KernelRecord | None:
        """The condashare record, only for a directory that is really ours."""
        if self.kind != "dir" or not self.owned:
            return None
        return record_of(self.spec)

    @property
    def ours(self) -> bool:
        return self.record is not None


@dataclass(frozen=True)
class Scan:
    """A ``kernels/`` directory: ok, missing, unresponsive or error, and what it holds."""

    kernels_dir: str
    status: str
    detail: str = ""
    specs: tuple[FoundSpec, ...] = ()

    def get(self, name: str) -> FoundSpec | None:
        return next((s for s in self.specs if s.name == name), None)


def _trusted_owner(uid: int) -> bool:
    return uid in (os.geteuid(), 0)


def _read_limited(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(_MAX_FILE)


def _read_spec(entry: os.DirEntry[str]) -> FoundSpec:
    try:
        st = os.lstat(entry.path)
    except OSError as exc:
        return FoundSpec(entry.name, entry.path, "other", False, error=exc.strerror or str(exc))
    if stat.S_ISLNK(st.st_mode):
        kind = "link" if os.path.isdir(entry.path) else "other"
    else:
        kind = "dir" if stat.S_ISDIR(st.st_mode) else "other"
    if kind == "other":
        return FoundSpec(entry.name, entry.path, kind, False)
    owned = kind == "dir" and _trusted_owner(st.st_uid) and not st.st_mode & stat.S_IWOTH
    files: dict[str, bytes] = {}
    extra: list[str] = []
    error = ""
    try:
        names = sorted(os.listdir(entry.path))
    except OSError as exc:
        return FoundSpec(entry.name, entry.path, kind, owned, error=exc.strerror or str(exc))
    for name in names:
        if name not in FILES:
            extra.append(name)
            continue
        full = os.path.join(entry.path, name)
        try:
            if not stat.S_ISREG(os.lstat(full).st_mode):
                extra.append(name)
                continue
            files[name] = _read_limited(full)
        except OSError as exc:
            error = f"{name}: {exc.strerror or exc}"
    spec: dict[str, Any] | None = None
    if KERNEL_JSON in files:
        try:
            value = json.loads(files[KERNEL_JSON].decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            error = f"kernel.json is not valid JSON: {exc}"
        else:
            if isinstance(value, dict):
                spec = value
            else:
                error = "kernel.json does not hold a JSON object"
    elif not error:
        error = "no kernel.json"
    return FoundSpec(entry.name, entry.path, kind, owned, files, spec, error, tuple(extra))


def scan_here(kernels_dir: str) -> Scan:
    """Read ``kernels_dir`` in this process (call through :func:`scan` for a bounded read)."""
    try:
        with os.scandir(kernels_dir) as it:
            first = [e for _, e in zip(range(_MAX_SPECS), it, strict=False)]
            entries = sorted(first, key=lambda e: e.name)
            specs = tuple(_read_spec(e) for e in entries if not e.name.startswith("."))
    except FileNotFoundError:
        return Scan(kernels_dir, MISSING, "does not exist")
    except NotADirectoryError:
        return Scan(kernels_dir, ERROR, "is not a directory")
    except OSError as exc:
        return Scan(kernels_dir, ERROR, exc.strerror or str(exc))
    return Scan(kernels_dir, OK, "", specs)


def scan_all(kernels_dirs: Sequence[str], timeout: float) -> list[Scan]:
    """Read several ``kernels/`` dirs at once, each in a child, all under one deadline."""
    deadline = time.monotonic() + timeout
    tasks = {d: calls.start(scan_here, d, deadline=deadline) for d in dict.fromkeys(kernels_dirs)}
    answers = calls.collect(tasks)
    out: list[Scan] = []
    for directory in kernels_dirs:
        answer = answers[directory]
        if answer.state == calls.DONE:
            out.append(answer.value)
        elif answer.state == calls.TIMEOUT:
            out.append(Scan(directory, UNRESPONSIVE, f"no answer in {timeout:g} s"))
        else:
            out.append(Scan(directory, ERROR, answer.error))
    return out


def scan(kernels_dir: str, timeout: float) -> Scan:
    """Read every kernelspec in ``kernels_dir`` in a child; a dead share gives ``unresponsive``."""
    return scan_all([kernels_dir], timeout)[0]


class UnsafePath(CondashareError):
    """A path condashare must not write through (a link or directory of another user)."""


def check_chain(path: str, strict_from: str) -> None:
    """Refuse ``path`` when a component is another user's symlink, or, at ``strict_from`` and
    below (the data dir, whose contents we trust), a directory of another user's.

    Ancestors above ``strict_from`` may belong to anyone (``/home``, an NFS export shown as
    ``nobody``); a symlink there is followed only when this user or root made it.
    """
    current = "/"
    strict = strict_from.rstrip("/") or "/"
    for part in [p for p in path.split("/") if p]:
        current = os.path.join(current, part)
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return
        if _trusted_owner(st.st_uid):
            continue
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePath(
                f"{current} is a symlink owned by another user (uid {st.st_uid}); "
                "refusing to follow it"
            )
        if current == strict or current.startswith(strict + "/"):
            raise UnsafePath(
                f"{current} belongs to another user (uid {st.st_uid}); refusing to write there"
            )


def ensure_dir(path: str, strict_from: str) -> None:
    """Create ``path`` and its missing parents (0755 minus umask), checked before and after."""
    check_chain(path, strict_from)
    missing: list[str] = []
    current = path
    while not os.path.lexists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o755)
    check_chain(path, strict_from)
    if not os.path.isdir(path):
        raise UnsafePath(f"{path} is not a directory")


@dataclass(frozen=True)
class WriteRequest:
    """Make ``path`` hold ``new`` (empty: remove our files), if it still holds ``old``."""

    name: str
    path: str
    action: str  # create | update | remove
    old: Mapping[str, bytes]
    new: Mapping[str, bytes]
    data_dir: str  # the Jupyter data dir: it and everything below must be this user's


@dataclass(frozen=True)
class WriteOutcome:
    """What happened to one kernelspec."""

    name: str
    path: str
    action: str
    done: bool
    error: str = ""
    note: str = ""
    backups: tuple[str, ...] = ()


def _current(path: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name in FILES:
        full = os.path.join(path, name)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISREG(os.lstat(full).st_mode):
                out[name] = _read_limited(full)
    return out


def _own_dir(path: str) -> None:
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or not _trusted_owner(st.st_uid):
        raise UnsafePath(f"{path} is not a directory of yours; left alone")
    if st.st_mode & stat.S_IWOTH:
        raise UnsafePath(f"{path} is writable by every user; left alone")


def _apply_one(req: WriteRequest, backup_dir: str | None) -> WriteOutcome:
    backups: list[str] = []
    check_chain(req.path, req.data_dir)
    if req.action == "create":
        ensure_dir(os.path.dirname(req.path), req.data_dir)
        try:
            os.mkdir(req.path, 0o755)
            os.chmod(req.path, 0o755)
        except FileExistsError:
            pass
    _own_dir(req.path)
    if _current(req.path) != dict(req.old):
        return WriteOutcome(
            req.name, req.path, req.action, False, "changed since it was planned; run again"
        )
    for name, data in req.old.items():
        if backup_dir is not None and req.new.get(name) != data:
            backups.append(write_backup(data, os.path.join(req.path, name), backup_dir, 0o600))
    if req.action == "remove":
        for name in req.old:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(req.path, name))
        try:
            os.rmdir(req.path)
        except OSError:
            left = ", ".join(sorted(os.listdir(req.path)))
            note = f"kept the directory: it also holds {left}"
            return WriteOutcome(req.name, req.path, req.action, True, "", note, tuple(backups))
        return WriteOutcome(req.name, req.path, req.action, True, backups=tuple(backups))
    # The launcher first: a kernel.json never names a launcher that is not there yet.
    for name in sorted(req.new, key=lambda n: n != LAUNCHER):
        if req.old.get(name) != req.new[name]:
            atomic_write(os.path.join(req.path, name), req.new[name], _MODES.get(name, 0o644))
    return WriteOutcome(req.name, req.path, req.action, True, backups=tuple(backups))


def apply_here(requests: Sequence[WriteRequest], backup_dir: str | None) -> list[WriteOutcome]:
    """Carry out ``requests`` in this process; each failure is reported, the others go on."""
    out: list[WriteOutcome] = []
    for req in requests:
        try:
            out.append(_apply_one(req, backup_dir))
        except UnsafePath as exc:
            out.append(WriteOutcome(req.name, req.path, req.action, False, str(exc)))
        except OSError as exc:
            where = exc.filename or req.path
            msg = f"{where}: {exc.strerror or exc}"
            out.append(WriteOutcome(req.name, req.path, req.action, False, msg))
    return out


def apply(
    requests: Sequence[WriteRequest], backup_dir: str | None, timeout: float
) -> list[WriteOutcome]:
    """:func:`apply_here` in an abandonable child: a share that dies mid-way cannot hang us."""
    if not requests:
        return []
    answer = calls.call(apply_here, list(requests), backup_dir, timeout=timeout)
    if answer.state == calls.DONE:
        result: list[WriteOutcome] = answer.value
        return result
    why = (
        f"the directory did not answer within {timeout:g} s; some files may be written, "
        "run the command again"
        if answer.state == calls.TIMEOUT
        else answer.error
    )
    return [WriteOutcome(r.name, r.path, r.action, False, why) for r in requests]
