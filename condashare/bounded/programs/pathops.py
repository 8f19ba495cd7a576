"""One read-only operation on a path that may sit on a dead share: ``pathops OP PATH ARG``.

Every operation starts with ``stat`` (its result comes back as ``stat``), then:

- ``stat``: nothing more. A client cache may answer it for a server that died seconds ago.
- ``lstat``: the same for the path itself (a symlink is not followed).
- ``head``: open the file and read its first ARG bytes (``data``, hex). Opening makes the
  client revalidate with the server, so an answer proves the share is alive. Only a regular
  file is opened (without blocking, and checked again once open): a FIFO would wait for a
  writer, a device may never end or act on open. For anything else ``data`` is empty and
  ``stat`` says what it is, so one ``head`` answers what a ``stat`` and a read would.
- ``listdir``: up to ARG ``[name, kind]`` entries (kind dir | link | file | unknown).
- ``envs``: the sorted names of up to ARG sub-directories holding ``conda-meta`` (not hidden).
- ``subdir``: the first ``subdir`` other than noarch named by one of the first ARG
  ``conda-meta/*.json`` records (``subdir``, ``record``), or ``subdir: null``.
- ``appendable``: conda's writability test: open the file for append without creating it or
  writing a byte (``appendable``: true/false, null when it is not a regular file).
"""

from __future__ import annotations

import json
import os
import stat
import sys

from condashare.bounded.programs.reply import answer, fail

TYPE_CHECKING = False  # see the package docstring: typing is slow to import
if TYPE_CHECKING:
    from typing import Any, NoReturn

MAX_RECORD_BYTES = 4 * 1024 * 1024


def listdir_entries(path: str, limit: int) -> list[list[str]]:
    """Up to ``limit`` ``[name, kind]`` entries (kind: dir, also through a link | link | file
    | unknown); the ``listdir`` answer, and what a reader lists on a local disk."""
    out: list[list[str]] = []
    with os.scandir(path) as it:
        for entry in it:
            if len(out) >= limit:
                break
            try:
                kind = "dir" if entry.is_dir() else ("link" if entry.is_symlink() else "file")
            except OSError:
                kind = "unknown"
            out.append([entry.name, kind])
    return out


def _envs(path: str, limit: int) -> list[str]:
    out: list[str] = []
    with os.scandir(path) as it:
        for entry in it:
            if len(out) >= limit:
                break
            if entry.name.startswith("."):
                continue
            if os.path.isdir(os.path.join(entry.path, "conda-meta")):
                out.append(entry.name)
    return sorted(out)


def _subdir(path: str, limit: int) -> dict[str, Any]:
    meta = os.path.join(path, "conda-meta")
    for name in sorted(os.listdir(meta))[:limit]:
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(meta, name), "rb") as fh:
                record = json.loads(fh.read(MAX_RECORD_BYTES))
        except (OSError, ValueError):
            continue
        sub = record.get("subdir") if isinstance(record, dict) else None
        if sub and sub != "noarch":
            return {"subdir": sub, "record": name}
    return {"subdir": None}


def _appendable(path: str, mode: int) -> bool | None:
    if not stat.S_ISREG(mode):
        return None
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
    except OSError:
        return False
    return True


def _head(path: str, info: dict[str, Any], limit: int) -> dict[str, Any]:
    if not stat.S_ISREG(info["mode"]):
        return {"stat": info, "data": ""}
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        st = os.fstat(fd)  # what was opened, which may not be what was stat'ed
        if not stat.S_ISREG(st.st_mode):
            return {"stat": dict(info, mode=st.st_mode, size=st.st_size), "data": ""}
        chunks: list[bytes] = []
        total = 0
        while total < limit:
            chunk = os.read(fd, min(1 << 16, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    return {"stat": info, "data": b"".join(chunks).hex()}


def run(op: str, path: str, arg: str) -> NoReturn:
    try:
        st = os.lstat(path) if op == "lstat" else os.stat(path)
        info = {
            "mode": st.st_mode,
            "size": st.st_size,
            "mtime": st.st_mtime,
            "uid": st.st_uid,
            "dev": st.st_dev,
            "nlink": st.st_nlink,
        }
        if op in ("stat", "lstat"):
            answer(status="ok", stat=info)
        if op == "head":
            answer(status="ok", **_head(path, info, int(arg)))
        if op == "listdir":
            answer(status="ok", stat=info, entries=listdir_entries(path, int(arg)))
        if op == "envs":
            answer(status="ok", stat=info, envs=_envs(path, int(arg)))
        if op == "subdir":
            answer(status="ok", stat=info, **_subdir(path, int(arg)))
        if op == "appendable":
            answer(status="ok", stat=info, appendable=_appendable(path, st.st_mode))
        answer(status="error", errno=0, error="unknown probe operation " + op)
    except OSError as exc:
        fail(exc)


def main() -> None:
    op, path, arg = sys.argv[1:4]
    run(op, path, arg)
