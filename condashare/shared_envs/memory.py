"""What ``off`` removed, kept in condashare's state dir so ``on`` can give the bytes back.

One JSON file (``shared-off.json``, version 1) in the state dir, which a shared home's two OSes
both see. Per file written (keyed by the real file, symlinks followed): the bytes before,
a hash of the bytes after (so a later ``on`` knows whether the user edited the file since), and
each removed item with its own lines (comments, ``#!`` tags), so that an edited file can get
them back where they were. Read through the one reader: a state file that cannot be read is an
error, never "nothing remembered" (that would make ``on`` forget what ``off`` removed).
"""

from __future__ import annotations

import base64
import json
import posixpath
import time
from collections.abc import Mapping
from dataclasses import dataclass

from condashare.files.read import MAX_STATE_BYTES, Reader
from condashare.files.write import replace_file

STATE_FILE = "shared-off.json"
STATE_VERSION = 1


@dataclass(frozen=True)
class RemovedItem:
    """One list item ``off`` took out: which key, where it was, and its lines as written."""

    key: str  # envs_dirs | pkgs_dirs (as spelled in the file)
    index: int
    value: str
    flag: str | None  # top | bottom | final, from a ``#!`` tag
    lines: str  # the item's own text, comments included


@dataclass(frozen=True)
class OffRecord:
    """What ``off`` did to one file."""

    path: str  # the file as found on conda's search path (may be a symlink to the key)
    before: bytes
    after_sha256: str
    removed: tuple[RemovedItem, ...]
    time: float

    @property
    def values(self) -> list[str]:
        return [item.value for item in self.removed]


Memory = dict[str, OffRecord]  # real file -> record


def state_path(state_dir: str) -> str:
    return posixpath.join(state_dir, STATE_FILE)


def _item(raw: Mapping[str, object]) -> RemovedItem:
    flag = raw.get("flag")
    return RemovedItem(
        str(raw["key"]),
        int(str(raw["index"])),
        str(raw["value"]),
        None if flag is None else str(flag),
        str(raw.get("lines") or ""),
    )


def _record(target: str, raw: Mapping[str, object]) -> OffRecord:
    removed = raw.get("removed")
    items = [_item(r) for r in removed if isinstance(r, dict)] if isinstance(removed, list) else []
    return OffRecord(
        str(raw.get("path", target)),
        base64.b64decode(str(raw.get("before_b64", ""))),
        str(raw.get("after_sha256", "")),
        tuple(items),
        float(str(raw.get("time", 0))),
    )


def load_memory(state_dir: str, reader: Reader | None = None) -> Memory:
    """What ``off`` remembered; empty when there is no (valid) record. UserFileError when the
    state file is refused or its share does not answer."""
    reader = reader or Reader.for_this_host()
    raw = reader.require(state_path(state_dir), MAX_STATE_BYTES)
    if raw is None:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    out: Memory = {}
    for target, record in files.items():
        if isinstance(record, dict):
            try:
                out[str(target)] = _record(str(target), record)
            except (KeyError, ValueError, TypeError):  # a record this version cannot use
                continue
    return out


def _raw(record: OffRecord) -> dict[str, object]:
    return {
        "path": record.path,
        "before_b64": base64.b64encode(record.before).decode(),
        "after_sha256": record.after_sha256,
        "removed": [
            {"key": i.key, "index": i.index, "value": i.value, "flag": i.flag, "lines": i.lines}
            for i in record.removed
        ],
        "time": record.time,
    }


def save_memory(
    state_dir: str, memory: Mapping[str, OffRecord], reader: Reader | None = None
) -> None:
    """Write the memory atomically (mode 0600: it holds copies of the user's files)."""
    doc = {"version": STATE_VERSION, "files": {k: _raw(v) for k, v in memory.items()}}
    replace_file(state_path(state_dir), json.dumps(doc, indent=2).encode(), 0o600, reader)


def now() -> float:
    return time.time()
