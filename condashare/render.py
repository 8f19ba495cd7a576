"""The one place that prints: human text (with optional colour) or a versioned JSON envelope.

Commands build data in the library and hand it to an :class:`Output`; nothing below the CLI
writes to a stream. JSON goes alone to stdout so ``--json`` output can be piped to ``jq``.

Names from the shared tree, the mount table and other users' files are untrusted: an env dir
named ``evil\\e]0;TITLE\\a`` would set the window title of whoever lists it. Every piece of
text an :class:`Output` writes therefore passes through :func:`shown`, which shows control and
invisible format characters as visible escapes; only the colour codes :meth:`Output.paint` adds
reach the terminal raw. Multi-line text condashare composes (a finding's detail) is split on
``\\n`` by :meth:`Output.block`; the values interpolated into such text are passed through
:func:`shown` where it is built, so they cannot add a line. Commands a user is told to copy
quote their words with :func:`shell_word`. JSON keeps the exact strings.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import re
import shlex
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TextIO

from condashare.findings import Finding, Group
from condashare.wording import plural

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


# Characters shown as escapes instead of being written: controls (C0 with tab and newline, DEL,
# C1 with the one-byte CSI \x9b), format characters (bidi embeddings, overrides and isolates,
# LRM/RLM, zero-width space and joiners, soft hyphen, BOM, tag characters: invisible, or they
# reorder what follows them, so ``rm -rf`` on screen is not what runs), surrogates (a file
# name's undecodable bytes, as os.fsdecode keeps them) and the line/paragraph separators some
# terminals break lines on. Backslashes are kept: paths stay readable and showing is
# idempotent, at the price that a name spelled with a literal ``\x1b`` looks like one holding
# ESC (``--json`` tells them apart). Private-use and unassigned code points are left alone:
# they are drawn as a glyph or a box and cannot move the cursor.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_NON_ASCII = re.compile(r"[^\x00-\x7e]")


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def _escape(char: str) -> str:
    """``\\x1b`` for ASCII controls and undecodable bytes, ``\\u202e`` for other characters.

    ``\\x9b`` (the byte 0x9b on disk) and ``\\u009b`` (the character, bytes c2 9b) stay distinct.
    """
    code = ord(char)
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte the name really holds
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def shown(value: object) -> str:
    """``value`` as text that is safe on a terminal: unsafe characters visibly escaped.

    Used by every :class:`Output` method, and by code composing multi-line text around
    untrusted values (each value or each line), so a value cannot start a line of its own.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # fast path: no control, format or separator character at all
        return text
    return "".join(_escape(ch) if _unsafe(ch) else ch for ch in text)


def _bytes_of(char: str) -> bytes:
    """The bytes a file name holds for ``char`` (an undecodable byte stays that byte)."""
    try:
        return char.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate no file name decodes to
        return char.encode("utf-8", "surrogatepass")


def human_bytes(n: float) -> str:
    """A size for people: ``512 B``, ``1.5 KiB``, ``3.2 GiB`` (binary units, as du -h)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def shell_word(value: str) -> str:
    """``value`` as one shell word that is safe to show and to paste.

    A plain value is single-quoted (``shlex.quote``), which every shell reads back exactly. A
    value holding characters :func:`shown` escapes becomes ``$'...'`` with each such character
    spelled as its bytes (``\\x1b``, ``\\xc2\\x9b``; ``\\n`` for a newline): bash, zsh and ksh
    read that back byte for byte in any locale (tcsh only the ASCII escapes); dash reads a
    literal ``$`` and backslashes, fish refuses it. Either way it holds no character that acts
    on the terminal.
    """
    if shown(value) == value:
        return shlex.quote(value)
    body = []
    for ch in value:
        if ch in "\\'":
            body.append("\\" + ch)
        elif ch in _NAMED_ESCAPES:
            body.append(_NAMED_ESCAPES[ch])
        elif _unsafe(ch):
            body.append("".join(f"\\x{b:02x}" for b in _bytes_of(ch)))
        else:
            body.append(ch)
    return "$'" + "".join(body) + "'"


def text_lines(text: str) -> list[str]:
    """The lines of composed text, split on ``\\n`` only.

    ``str.splitlines`` also breaks at \\r, \\f, \\x1c-\\x1e, \\x85 and U+2028/9; here those stay
    in their line, where :func:`shown` escapes them.
    """
    if not text:
        return []
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if not _unsafe(char):
        return char
    code = ord(char)
    if code > 0xFFFF:  # JSON spells astral characters as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_text(document: Any) -> str:
    """``document`` as indented JSON that is exact and still safe to see on a terminal.

    ``json.dumps`` escapes C0 controls only; DEL, C1, format characters and separators are
    written as ``\\uXXXX`` escapes here too (they can only occur inside strings), which every
    parser turns back into the exact character. A surrogate (a file name's undecodable byte)
    becomes ``\\udcXX``: Python's ``json`` and ``os.fsencode`` give the original byte back,
    where writing it raw would fail.
    """
    return _NON_ASCII.sub(_json_escape, json.dumps(document, indent=2, ensure_ascii=False))


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


def _is_path(value: object) -> bool:
    """A ``pathlib`` path. One exists only if something imported pathlib, and this module
    does not (with what it pulls in, ~4 ms of every command's start-up)."""
    pathlib = sys.modules.get("pathlib")
    return pathlib is not None and isinstance(value, pathlib.PurePath)


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, paths, tuples and sets -> plain JSON values (findings: see
    :func:`finding_json`)."""
    if isinstance(value, Finding):
        return finding_json(value)
    if isinstance(value, Group):
        return group_json(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if _is_path(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


class Styled(str):
    """Text to write in a style: the colour codes are condashare's own, the text is shown.

    A ``str``, so code that pastes it into other text still works (without the colour).
    """

    style: str

    def __new__(cls, text: str, style: str) -> Styled:
        styled = super().__new__(cls, text)
        styled.style = style
        return styled


class Output:
    """Writes human text or JSON for one command invocation; every text goes through shown()."""

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

    def paint(self, text: str, style: str) -> Styled:
        """A part of a line in ``style``: pass it to :meth:`line` as a part of its own."""
        return Styled(text, style)

    def _render(self, part: str) -> str:
        text = shown(part)
        if isinstance(part, Styled) and self.color and part.style in _COLORS:
            return f"{_COLORS[part.style]}{text}{_RESET}"
        return text

    def line(self, *parts: str) -> None:
        """One line made of ``parts``; a newline inside a part is shown as ``\\n``."""
        self.out.write("".join(self._render(p) for p in parts) + "\n")

    def block(self, text: str, prefix: str = "", tabs: bool = False) -> None:
        """Multi-line text condashare composed (or a diff), one :meth:`line` per ``\\n``.

        ``tabs`` expands tabs (a diff of the user's own file) instead of showing them as ``\\t``.
        """
        for text_line in text_lines(text):
            self.line(prefix, text_line.expandtabs() if tabs else text_line)

    def heading(self, text: str) -> None:
        self.line(self.paint(text, "bold"))

    def dry_run_footer(self, diffs: list[str], noun: str) -> None:
        """The diffs of a dry run and the line saying nothing was written."""
        if diffs:
            self.line()
            for text in diffs:
                self.block(text, tabs=True)
        self.line()
        self.line(f"dry run: {plural(len(diffs), noun)} would change; nothing was written")

    def field(self, label: str, value: object, width: int = 18, indent: int = 2) -> None:
        self.line(f"{' ' * indent}{label + ':':<{width}} {shown(value)}")

    def status(self, severity: str, text: str, indent: int = 0) -> None:
        """``[✓] text`` / ``[!] text`` / ``[✗] text`` (ASCII when not a capable terminal)."""
        glyph = self.glyphs.get(severity, "?")
        self.line(" " * indent, self.paint("[" + glyph + "]", severity), " ", text)

    def findings(self, lines: Sequence[FindingLine]) -> None:
        """A listing made by :func:`finding_lines`: status marks, bold labels, dim notes."""
        for item in lines:
            pad = " " * item.indent
            if item.mark:
                self.status(item.mark, item.text, indent=item.indent)
            elif item.label:
                self.line(pad, self.paint(item.label, "bold"), item.text)
            elif item.dim:
                self.line(pad, self.paint(item.text, "dim"))
            else:
                self.line(pad, item.text)

    def warn(self, text: str) -> None:
        """A message for the person, on stderr (never mixed into JSON on stdout)."""
        self.err.write(shown(text) + "\n")

    def json(self, command: str, data: Any, exit_code: int) -> None:
        envelope = {
            "schema_version": JSON_SCHEMA_VERSION,
            "tool": "condashare",
            "command": command,
            "exit_code": exit_code,
            "data": to_jsonable(data),
        }
        self.out.write(json_text(envelope) + "\n")


# ------------------------------------------------------------------------------ findings


@dataclass(frozen=True)
class FindingLine:
    """One line of a findings listing, before it is drawn: a terminal (:meth:`Output.findings`)
    draws ``mark`` as ``[!]``, the conda plugin as conda's own marks."""

    indent: int
    text: str
    mark: str = ""  # a severity value: the line starts with its status mark
    label: str = ""  # drawn bold before the text ("fix: ")
    dim: bool = False


Details = Literal["none", "problems", "all"]


def _fix_lines(finding: Finding, indent: int, label: str) -> list[FindingLine]:
    first, *rest = text_lines(finding.fix) or [""]
    lines = [FindingLine(indent, first, label=label)]
    lines.extend(FindingLine(indent + len(label), line) for line in rest)
    return lines


def _detail_lines(finding: Finding, indent: int, limit: int | None) -> list[FindingLine]:
    detail = text_lines(finding.detail)
    if limit is not None and len(detail) > limit:
        hidden = len(detail) - limit
        detail = [*detail[:limit], f"... {hidden} more (use -v)"]
    return [FindingLine(indent, line) for line in detail]


def finding_lines(
    groups: Sequence[Group],
    *,
    indent: int = 0,
    body_indent: int | None = None,
    details: Details = "all",
    detail_lines: int | None = None,
    show_fix: Callable[[Finding], bool] = lambda f: f.severity.is_problem,
    fix_label: str = "fix: ",
    after: Callable[[Finding], list[str]] | None = None,
) -> list[FindingLine]:
    """The one text form of findings (doctor, verify, admin and the conda plugin).

    Each root: its mark and title, its detail at ``body_indent`` (default: 4 deeper; ``details``
    none, only for problems, or all; cut to ``detail_lines``), its fix where ``show_fix``
    says, then ``after``'s extra lines.
    Its consequences follow, indented, with their titles (and details when ``details`` is
    "all") but no fixes of their own: the root's fix is the one that helps, and a
    consequence's own advice ("speed up your startup files") would blame the wrong thing.
    """
    sub = indent + 4 if body_indent is None else body_indent
    lines: list[FindingLine] = []
    for group in groups:
        root = group.root
        lines.append(FindingLine(indent, root.title, mark=root.severity.value))
        if details == "all" or (details == "problems" and root.severity.is_problem):
            lines.extend(_detail_lines(root, sub, detail_lines))
        if root.fix and show_fix(root):
            lines.extend(_fix_lines(root, sub, fix_label))
        for extra in after(root) if after else ():
            lines.append(FindingLine(sub, extra))
        if group.consequences:
            n = len(group.consequences)
            lines.append(
                FindingLine(sub, f"because of this, {plural(n, 'more finding')}:", dim=True)
            )
            for consequence in group.consequences:
                lines.append(FindingLine(sub, consequence.title, mark=consequence.severity.value))
                if details == "all":
                    lines.extend(_detail_lines(consequence, sub + 4, detail_lines))
    return lines


def finding_json(finding: Finding) -> dict[str, Any]:
    """A finding in the JSON envelope: its fields, and the fix as a list of commands."""
    document = {f.name: to_jsonable(getattr(finding, f.name)) for f in dataclasses.fields(finding)}
    document["fix_commands"] = finding.fix_commands
    return document


def group_json(group: Group) -> dict[str, Any]:
    """A root cause in the JSON envelope: the finding, with what follows from it inside."""
    return {
        **finding_json(group.root),
        "consequences": [finding_json(f) for f in group.consequences],
    }
