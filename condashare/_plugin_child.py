"""Child-process operations of the conda plugin's interim checks (stdlib only, run as a script).

TO BE REPLACED AT MERGE by the verification engine (``condashare.doctor.integrity``) and the
doctor's locking check; until then ``condashare.conda_plugin`` falls back to these.

Each operation touches a path that may sit on a dead share, so it runs in a child process
(``python -I -S _plugin_child.py OP PATH``) that the parent abandons when it stops answering. The
child prints one JSON object per line and flushes after each, so a long scan of a healthy share
keeps proving it is alive while a hung one goes quiet.

Operations:

- ``scan PREFIX``: quick integrity of an environment against its ``conda-meta/*.json`` records:
  missing files, files whose size differs from the recorded one, unreadable or truncated
  records, and NFS leftovers (``.nfs*`` silly-rename files, ``*.conda_trash``) anywhere below.
- ``lock FILE``: one real ``fcntl.lockf`` of one byte at offset 21, the way conda locks its
  repodata cache, on a file opened for append (nothing is written).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from typing import Any

# conda's own doctor skips these: they are compiled after linking and may legitimately be absent.
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
# How many leftovers to report before summarising; a runaway tree must not flood the parent.
_MAX_ARTEFACTS = 200


def emit(**record: Any) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def is_nfs_leftover(name: str) -> bool:
    """A file deleted while a process still had it open, renamed by the client until closed.

    Linux NFS: ``.nfs`` + 24 hex digits; macOS: ``.nfs.%08x.%04x``; FreeBSD appends ``4.4``;
    libfuse (sshfs and other FUSE shares): ``.fuse_hidden`` + 16 hex digits.
    """
    for prefix in (".nfs", ".fuse_hidden"):
        if name.startswith(prefix):
            digits = name[len(prefix) :].replace(".", "")
            return len(digits) >= 8 and all(c in "0123456789abcdefABCDEF" for c in digits)
    return False


def is_conda_trash(name: str) -> bool:
    """conda renames files it could not delete to ``*.conda_trash`` and removes them later."""
    return name.endswith(".conda_trash")


def _expected_size(entry: dict[str, Any]) -> int | None:
    """The size an installed file must have, or None when it may legitimately differ.

    A text file with a prefix placeholder is rewritten at link time (the prefix has another
    length), so only its hash in the prefix is meaningful; binary placeholders are padded and
    keep their size.
    """
    size = entry.get("size_in_bytes")
    if not isinstance(size, int):
        return None
    if entry.get("prefix_placeholder") and entry.get("file_mode", "text") != "binary":
        return None
    return size


def check_record(prefix: str, record: dict[str, Any]) -> dict[str, Any]:
    """Missing and resized files of one package record."""
    missing: list[str] = []
    resized: list[list[Any]] = []
    paths_data = record.get("paths_data")
    entries = paths_data.get("paths") if isinstance(paths_data, dict) else None
    if not isinstance(entries, list):  # old records: only the file list
        entries = [{"_path": p} for p in record.get("files", []) if isinstance(p, str)]
    checked = 0
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        rel = entry.get("_path")
        if not isinstance(rel, str) or rel.endswith(_SKIPPED_SUFFIXES):
            continue
        checked += 1
        full = os.path.join(prefix, rel)
        kind = entry.get("path_type", "hardlink")
        try:
            st = os.lstat(full)
            if kind == "directory":
                if not stat.S_ISDIR(st.st_mode):
                    missing.append(rel)
                continue
            if kind == "softlink":
                continue
            if stat.S_ISLNK(st.st_mode):  # linked as a symlink into a cache: judge the target
                st = os.stat(full)
        except FileNotFoundError:
            missing.append(rel)
            continue
        except OSError as exc:
            missing.append(f"{rel} ({exc.strerror or exc})")
            continue
        expected = _expected_size(entry)
        if expected is not None and stat.S_ISREG(st.st_mode) and st.st_size != expected:
            resized.append([rel, expected, st.st_size])
    return {"missing": missing, "resized": resized, "checked": checked}


def scan(prefix: str) -> None:
    meta = os.path.join(prefix, "conda-meta")
    try:
        names = sorted(n for n in os.listdir(meta) if n.endswith(".json"))
    except OSError as exc:
        emit(kind="fatal", error=f"{meta}: {exc.strerror or exc}", errno=exc.errno or 0)
        return
    files = 0
    for name in names:
        path = os.path.join(meta, name)
        try:
            with open(path, "rb") as fh:
                record = json.loads(fh.read())
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            emit(kind="bad-record", record=name, error=str(exc))
            continue
        result = check_record(prefix, record)
        files += result["checked"]
        emit(kind="record", record=name[: -len(".json")], **result)
    artefacts = 0
    for root, dirs, filenames in os.walk(prefix):
        for name in (*dirs, *filenames):
            leftover = "nfs" if is_nfs_leftover(name) else "trash" if is_conda_trash(name) else ""
            if not leftover:
                continue
            artefacts += 1
            if artefacts <= _MAX_ARTEFACTS:
                full = os.path.join(root, name)
                try:
                    size = os.lstat(full).st_size
                except OSError:
                    size = -1
                emit(kind="artefact", type=leftover, path=os.path.relpath(full, prefix), size=size)
        emit(kind="progress")
    emit(kind="done", records=len(names), files=files, artefacts=artefacts)


def lock(path: str) -> None:
    import errno as errno_names
    import fcntl

    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except OSError as exc:
        code = exc.errno or 0
        # Not ours to write (or not there yet): conda would not lock here either. Anything else
        # (EIO, ESTALE ...) is the filesystem failing.
        quiet = (errno_names.EACCES, errno_names.EPERM, errno_names.EROFS, errno_names.ENOENT)
        emit(
            kind="lock",
            status="unwritable" if code in quiet else "failed",
            errno=code,
            errname=errno_names.errorcode.get(code, ""),
            error=exc.strerror or str(exc),
        )
        return
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 21)
    except OSError as exc:
        code = exc.errno or 0
        status = "busy" if code in (errno_names.EAGAIN, errno_names.EACCES) else "failed"
        emit(
            kind="lock",
            status=status,
            errno=code,
            errname=errno_names.errorcode.get(code, ""),
            error=exc.strerror or str(exc),
        )
        return
    try:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, 21)
    finally:
        os.close(fd)
    emit(kind="lock", status="ok")


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("scan", "lock"):
        sys.stderr.write("usage: _plugin_child.py scan PREFIX | lock FILE\n")
        return 2
    if argv[1] == "scan":
        scan(argv[2])
    else:
        lock(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
