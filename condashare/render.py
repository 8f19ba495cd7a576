"""The one place that prints: human text (with optional colour) or a versioned JSON envelope.

Commands build data in the library and hand it to an :class:`Output`; nothing below the CLI
writes to a stream. JSON goes alone to stdout so ``--json`` output can be piped to ``jq``.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import sys
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, TextIO

JSON_SCHEMA_VERSION = 1

_COLORS = {
    "ok": "\033[32m",
    "info": "\033[36m",
    "warning": "\033[33m",
    "error": "\033[31m",
    "bold": "\033[1m",
    "dim": "\033[2m",
}
_RESET = "\033[0m"
_GLYPHS_UNICODE = {"ok": "✓", "info": "i", "warning": "!", "error": "✗", "skipped": "-"}
_GLYPHS_ASCII = {"ok": "ok", "info": "i", "warning": "!", "error": "x", "skipped": "-"}


def use_color(mode: str, stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """``--color auto|always|never``; auto means a terminal and no ``NO_COLOR``."""
    env = os.environ if env is None else env
    if mode == "always":
        return True
    if mode == "never" or env.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)()) and env.get("TERM") != "dumb"


def _can_encode(stream: TextIO, text: str) -> bool:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, paths, tuples and sets -> plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


class Output:
    """Writes human text or JSON for one command invocation."""

    def __init__(
        self,
        color: str = "auto",
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.out = stdout or sys.stdout
        self.err = stderr or sys.stderr
        env = os.environ if env is None else env
        self.color = use_color(color, self.out, env)
        fancy = self.color or (
            bool(getattr(self.out, "isatty", lambda: False)()) and not env.get("NO_COLOR")
        )
        self.glyphs = _GLYPHS_UNICODE if fancy and _can_encode(self.out, "✓✗") else _GLYPHS_ASCII

    def paint(self, text: str, style: str) -> str:
        if not self.color or style not in _COLORS:
            return text
        return f"{_COLORS[style]}{text}{_RESET}"

    def line(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def heading(self, text: str) -> None:
        self.line(self.paint(text, "bold"))

    def field(self, label: str, value: object, width: int = 18, indent: int = 2) -> None:
        self.line(f"{' ' * indent}{label + ':':<{width}} {value}")

    def status(self, severity: str, text: str, indent: int = 0) -> None:
        """``[✓] text`` / ``[!] text`` / ``[✗] text`` (ASCII when not a capable terminal)."""
        glyph = self.glyphs.get(severity, "?")
        self.line(f"{' ' * indent}{self.paint('[' + glyph + ']', severity)} {text}")

    def warn(self, text: str) -> None:
        """A message for the person, on stderr (never mixed into JSON on stdout)."""
        self.err.write(text + "\n")

    def json(self, command: str, data: Any, exit_code: int) -> None:
        envelope = {
            "schema_version": JSON_SCHEMA_VERSION,
            "tool": "condashare",
            "command": command,
            "exit_code": exit_code,
            "data": to_jsonable(data),
        }
        self.out.write(json.dumps(envelope, indent=2, ensure_ascii=False, sort_keys=False) + "\n")
