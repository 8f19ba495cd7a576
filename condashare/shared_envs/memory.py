"""What ``off`` removed, kept in condashare's state dir so ``on`` can give the bytes back.

One JSON file (``shared-off.json``, version 1) in the state dir, which a shared home's two OSes
both see. Per file written (keyed by the real file, symlinks followed): the bytes before, a hash
of the bytes after (so a later ``on`` knows whether the user edited the file since), and each
removed item with its own lines (comments, ``#!`` tags), so that an edited file can get them
back where they were. And per file ``on`` added to (``added``): the bytes before (none: it
created the file), the hash after and the values added, so that ``off`` right after ``on`` gives
the original bytes back (the user's own default dirs ``on`` wrote first included). Read through
the one reader: a state file that cannot be read is an error, never "nothing remembered" (that
would make ``on`` forget what ``off`` removed).
"""

from __future__ import annotations

import base64
import json
import posixpath
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from condashare.files.read import MAX_STATE_BYTES, Reader
from condashare.files.write import replace_file

STATE_FILE = "shared-off.json"
STATE_VERSION = 1
R = TypeVar("R")


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
    undid: OnRecord | None = None  # the ``on`` this ``off`` undid (``on`` again restores it)

    @property
    def values(self) -> list[str]:
        return [item.value for item in self.removed]


Memory = dict[str, OffRecord]  # real file -> record

ABSENT = ""  # after_sha256 of a file ``off`` deleted (``on`` had created it)


@dataclass(frozen=True)
class OnRecord:
    """What ``on`` added to one file (when it was not undoing an ``off``)."""

    path: str
    before: bytes | None  # None: the file did not exist
    after_sha256: str
    added: tuple[str, ...]


Added = dict[str, OnRecord]


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
        _on_record(target, undid) if isinstance(undid := raw.get("undid"), dict) else None,
    )


def _document(state_dir: str, reader: Reader | None) -> dict[str, object]:
    """The state file's JSON object ({} when absent or not valid). UserFileError when the
    state file is refused or its share does not answer."""
    reader = reader or Reader.for_this_host()
    raw = reader.require(state_path(state_dir), MAX_STATE_BYTES)
    if raw is None:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError
        return {}
    return data if isinstance(data, dict) else {}


def _on_record(target: str, raw: Mapping[str, object]) -> OnRecord:
    before = raw.get("before_b64")
    added = raw.get("added")
    return OnRecord(
        str(raw.get("path", target)),
        None if before is None else base64.b64decode(str(before)),
        str(raw["after_sha256"]),
        tuple(str(v) for v in added) if isinstance(added, list) else (),
    )


def load_memory(state_dir: str, reader: Reader | None = None) -> Memory:
    """What ``off`` remembered; empty when there is no (valid) record."""
    return load_all(state_dir, reader)[0]


def load_all(state_dir: str, reader: Reader | None = None) -> tuple[Memory, Added]:
    """What ``off`` removed and what ``on`` added, per real file."""
    data = _document(state_dir, reader)
    return _section(data.get("files"), _record), _section(data.get("added"), _on_record)


def _section(raw: object, parse: Callable[[str, Mapping[str, object]], R]) -> dict[str, R]:
    out: dict[str, R] = {}
    for target, record in (raw if isinstance(raw, dict) else {}).items():
        if isinstance(record, dict):
            try:
                out[str(target)] = parse(str(target), record)
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
        "undid": None if record.undid is None else _on_raw(record.undid),
    }


def _on_raw(record: OnRecord) -> dict[str, object]:
    before = record.before
    return {
        "path": record.path,
        "before_b64": None if before is None else base64.b64encode(before).decode(),
        "after_sha256": record.after_sha256,
        "added": list(record.added),
    }


def save_memory(
    state_dir: str,
    memory: Mapping[str, OffRecord],
    added: Mapping[str, OnRecord],
    reader: Reader | None = None,
) -> None:
    """Write both memories atomically (mode 0600: they hold copies of the user's files)."""
    doc = {
        "version": STATE_VERSION,
        "files": {k: _raw(v) for k, v in memory.items()},
        "added": {k: _on_raw(v) for k, v in added.items()},
    }
    replace_file(state_path(state_dir), json.dumps(doc, indent=2).encode(), 0o600, reader)


def now() -> float:
    return time.time()
