"""The CEP 22 marker ``PREFIX/conda-meta/frozen``: what conda accepts in it, and what we write.

conda (25.5+, ``PrefixData.is_frozen``/``assert_not_frozen``) treats an env as frozen when
``conda-meta/frozen`` is a file (a symlink to a file counts, a directory does not) and refuses to
install into, update or remove it without ``--override-frozen``. A non-empty marker is parsed as
JSON and its ``message`` is shown in the refusal; text that is not a JSON object makes conda
fail with a traceback instead of the refusal, so such a marker is reported and rewritten with
the text kept as the message.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Literal

FROZEN_FILE = os.path.join("conda-meta", "frozen")
MAX_MARKER_BYTES = 64 * 1024

MarkerState = Literal["absent", "valid", "invalid", "not-a-file"]


@dataclass(frozen=True)
class Marker:
    """What an env's marker is: absent, valid (with its message), invalid, or not a file."""

    state: MarkerState
    message: str = ""
    problem: str = ""

    @property
    def frozen(self) -> bool:
        """Does conda consider the env frozen?"""
        return self.state in ("valid", "invalid")


def marker_bytes(message: str | None) -> bytes:
    """The marker to write: empty (conda's own refusal text) or ``{"message": ...}``."""
    if not message:
        return b""
    return (json.dumps({"message": message}, ensure_ascii=False, indent=2) + "\n").encode()


def read_marker(data: bytes) -> Marker:
    """Classify a marker file's content as conda will read it."""
    if not data.strip():
        return Marker("valid")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Marker("invalid", problem="not UTF-8 text")
    try:
        doc = json.loads(text)
    except ValueError:
        return Marker("invalid", text.strip(), "not JSON: conda stops with a traceback")
    if not isinstance(doc, dict):
        return Marker("invalid", problem="JSON but not an object: conda stops with a traceback")
    message = doc.get("message", "")
    if not isinstance(message, str):
        return Marker("invalid", problem='"message" is not a string')
    return Marker("valid", message)


def repaired_message(marker: Marker, wanted: str | None) -> str | None:
    """The message to write when repairing or replacing ``marker``: the admin's, else the old."""
    if wanted:
        return wanted
    return marker.message or None
