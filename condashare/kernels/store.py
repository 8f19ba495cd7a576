"""Read and write kernelspec directories without hanging and without following planted links.

A Jupyter data dir is in the home, and the home may be on a share (a shared home is the point
of this feature), so the scan goes through the one reader and the writes through the one
writer's bound (:mod:`condashare.files`): on a share, probes and a child with a deadline.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from condashare.bounded.paths import ERROR, MISSING, OK, UNRESPONSIVE
from condashare.errors import CondashareError
from condashare.files.read import Listing, PathStat, Reader, ReadStatus
from condashare.files.write import EditError, atomic_write, bounded_write, write_backup
from condashare.kernels.spec import FILES, KERNEL_JSON, LAUNCHER, KernelRecord, record_of
from condashare.wording import seconds_text

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


def _silent(reader: Reader) -> str:
    """Why a kernels dir is unresponsive, in the words every unresponsive place uses."""
    return f"no answer in {seconds_text(reader.timeout)}"


def _trusted_owner(uid: int) -> bool:
    return uid in (os.geteuid(), 0)


def _read_limited(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(_MAX_FILE)


def _parse(files: Mapping[str, bytes], error: str) -> tuple[dict[str, Any] | None, str]:
    """kernel.json as a JSON object, or why it cannot be used."""
    if KERNEL_JSON not in files:
        return None, error or "no kernel.json"
    try:
        value = json.loads(files[KERNEL_JSON].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"kernel.json is not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, "kernel.json does not hold a JSON object"
    return value, error


def _kind(listed: str, own: PathStat) -> str:
    """dir, link (a symlink to a directory) or other, from the listing and the entry's lstat."""
    if listed != "dir":
        return "other"
    return "link" if stat.S_ISLNK(own.mode) else "dir"


def _read_specs(kernels_dir: str, listing: Listing, reader: Reader) -> Scan:
    """Each kernelspec directory of a listed ``kernels/``: its files, read through the reader."""
    entries = [(n, k) for n, k in sorted(listing.entries) if not n.startswith(".")]
    paths = {name: os.path.join(kernels_dir, name) for name, _ in entries}
    stats = reader.lstat_many(paths[n] for n, k in entries if k == "dir")
    kinds = {n: _kind(k, stats[paths[n]]) if k == "dir" else "other" for n, k in entries}
    if any(st.status is ReadStatus.UNRESPONSIVE for st in stats.values()):
        return Scan(kernels_dir, UNRESPONSIVE, _silent(reader))
    inside = reader.list_dirs(paths[n] for n, kind in kinds.items() if kind != "other")
    wanted = [
        os.path.join(paths[name], f)
        for name, below in ((n, inside.get(paths[n])) for n in kinds)
        if below is not None and below.ok
        for f, k in below.entries
        if f in FILES and k == "file"
    ]
    reads = reader.read_many(wanted, _MAX_FILE)
    answers = [x.status for x in inside.values()] + [r.status for r in reads.values()]
    if ReadStatus.UNRESPONSIVE in answers:
        return Scan(kernels_dir, UNRESPONSIVE, _silent(reader))
    specs: list[FoundSpec] = []
    for name, kind in kinds.items():
        path = paths[name]
        if kind == "other":
            specs.append(FoundSpec(name, path, kind, False))
            continue
        own = stats[path]
        owned = kind == "dir" and _trusted_owner(own.uid) and not own.mode & stat.S_IWOTH
        below = inside[path]
        if not below.ok:
            specs.append(FoundSpec(name, path, kind, owned, error=below.reason))
            continue
        files: dict[str, bytes] = {}
        extra: list[str] = []
        error = ""
        for f, _ in sorted(below.entries):
            result = reads.get(os.path.join(path, f))
            if result is None or result.status is ReadStatus.REFUSED:
                extra.append(f)  # not one of ours, or not a regular file
            elif result.ok and result.data is not None:
                files[f] = result.data
            elif result.status is not ReadStatus.MISSING:
                error = f"{f}: {result.reason}"
        spec, error = _parse(files, error)
        specs.append(FoundSpec(name, path, kind, owned, files, spec, error, tuple(extra)))
    return Scan(kernels_dir, OK, "", tuple(specs))


def scan_all(kernels_dirs: Sequence[str], reader: Reader) -> list[Scan]:
    """Read several ``kernels/`` dirs through the one reader (bounded on a share)."""
    listings = reader.list_dirs(kernels_dirs, _MAX_SPECS)
    out: list[Scan] = []
    for directory in kernels_dirs:
        listing = listings[directory]
        if listing.status is ReadStatus.MISSING:
            out.append(Scan(directory, MISSING, "does not exist"))
        elif listing.status is ReadStatus.UNRESPONSIVE:
            out.append(Scan(directory, UNRESPONSIVE, _silent(reader)))
        elif not listing.ok:
            out.append(Scan(directory, ERROR, listing.reason))
        else:
            out.append(_read_specs(directory, listing, reader))
    return out


def scan(kernels_dir: str, reader: Reader) -> Scan:
    """Read every kernelspec in ``kernels_dir``; a dead share gives ``unresponsive``."""
    return scan_all([kernels_dir], reader)[0]


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
    requests: Sequence[WriteRequest], backup_dir: str | None, reader: Reader
) -> list[WriteOutcome]:
    """:func:`apply_here` through the one writer's bound: on a share, its directories are
    probed first and the writes run in a child with a deadline, so a dead share cannot hang us."""
    if not requests:
        return []
    places = [r.path for r in requests] + ([backup_dir] if backup_dir else [])
    label = os.path.dirname(requests[0].path)
    try:
        result: list[WriteOutcome] = bounded_write(
            apply_here, (list(requests), backup_dir), places, reader, label
        )
    except EditError as exc:
        return [WriteOutcome(r.name, r.path, r.action, False, exc.message) for r in requests]
    return result
