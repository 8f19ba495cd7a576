"""The short form of the managed block: one guarded line that sources a file condashare keeps.

The full block (~125 lines of shell) goes to one file per dialect in condashare's shared state
dir (:func:`condashare.host.dirs.startup_code_dir`); the user's startup file gets the markers,
the info line and one line that sources it if it is readable, e.g. for sh::

    if \\[ -r "$HOME"'/.local/state/condashare/startup/posix.sh' ]; then \\. "$HOME"'/...'; fi

The line names the file through ``$HOME``, so a home mounted at different paths on Linux and
macOS finds the same file, whose code branches on ``uname`` as the full block does. The guard
touches only the home, where the startup file being read already is, so it adds no new way to
hang; the managed file then probes the share exactly as the full block does. Where the
directory (its mount, or a symlink on its way) may reach a share other than the home's, that no
longer holds, and the block is written in full instead.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from condashare.host.mounts import Mount, may_be_remote, mount_for
from condashare.shells.dialects import DIALECTS
from condashare.shells.records import DialectName, dialect_shells
from condashare.site.file import Site
from condashare.startup.blocks import BEGIN, END, info_line, render_block, split_lines

Form = Literal["short", "full"]
FORMS: tuple[Form, ...] = ("short", "full")
FILE_NAMES: dict[DialectName, str] = {"posix": "posix.sh", "csh": "csh.csh", "fish": "fish.fish"}

# The guarded line per dialect; {f} is the file as one word of that dialect. A backslash (sh)
# or ``builtin`` (fish) keeps a user's alias or function of the same name out of it (tcsh runs
# no builtin whose name is quoted, so csh's ``source`` is plain, as in the full block).
_LINES: dict[DialectName, str] = {
    "posix": "if \\[ -r {f} ]; then \\. {f}; fi",
    "csh": "if ( -r {f} ) source {f}",
    "fish": "if builtin test -r {f}; builtin source {f}; end",
}
_HEADER = (
    "# condashare's startup code for {what}: the line 'condashare init' put in\n"
    "# your startup files sources this file. 'condashare init' rewrites it, 'condashare init\n"
    "# --reverse' removes it: edits here are lost (change the site file or init's options).\n"
)


@dataclass(frozen=True)
class CodeDir:
    """The directory of the managed files, and the home the short line names it through."""

    path: str
    home: str

    @property
    def relative(self) -> str | None:
        """The directory below the home, with a leading ``/``; None when it is elsewhere."""
        top = self.home.rstrip("/")
        if not top or not self.path.startswith(top + "/"):
            return None
        return self.path[len(top) :]

    def file(self, dialect: DialectName) -> str:
        """The managed file of ``dialect`` (absolute)."""
        return posixpath.join(self.path, FILE_NAMES[dialect])

    def refuse_reason(self, mounts: Sequence[Mount]) -> str | None:
        """Why the short form cannot be written here, or None (``mounts``: the mount table)."""
        rel = self.relative
        if rel is None:
            return (
                f"the short form keeps its code in {self.path}, which is not inside your home "
                f"({self.home}): a shell would touch one more place that may hang"
            )
        if self.reaches_another_share(mounts):
            return (
                f"the short form keeps its code in {self.path}, which may be on a share other "
                f"than your home's: a shell would touch one more place that may hang"
            )
        reason = DIALECTS["posix"].refuse_reason(rel)
        return f"{self.path} {reason}" if reason else None

    def reaches_another_share(self, mounts: Sequence[Mount]) -> bool:
        """May the directory (its mount, or a symlink on its way) reach a share other than the
        one holding the home, where the startup file being read already is? A home on a share
        is trusted for what lies below it on the same mount (its symlinks are not followed:
        that would touch the share)."""
        if not may_be_remote(self.path, mounts):
            return False
        if not may_be_remote(self.home, mounts):
            return True  # a local home, and the code dir reaches past it
        return mount_for(self.path, mounts) != mount_for(self.home, mounts)

    def word(self, dialect: DialectName) -> str:
        """The managed file as one word of ``dialect``: ``"$HOME"`` and the quoted rest."""
        rel = self.relative
        if rel is None:
            raise ValueError(f"{self.path} is not inside {self.home}")
        return '"$HOME"' + DIALECTS[dialect].quote(posixpath.join(rel, FILE_NAMES[dialect]))


def source_line(dialect: DialectName, code: CodeDir) -> str:
    """The one line the user's startup file carries."""
    word = code.word(dialect)
    return _LINES[dialect].format(f=word)


def render_short(
    dialect: DialectName,
    code: CodeDir,
    flags: Sequence[bytes] = (),
    command: str = "condashare init",
) -> bytes:
    """The short block, markers included, LF line ends."""
    lines = [BEGIN, info_line(command).encode(), *flags, source_line(dialect, code).encode(), END]
    return b"".join(ln + b"\n" for ln in lines)


def managed_text(
    site: Site,
    dialect: DialectName,
    timeout: float | None = None,
    command: str = "condashare init",
) -> bytes:
    """The managed file's content: a header, then the full block as ``init`` renders it
    (StartupError for a prefix the dialect cannot carry, as for the full form)."""
    header = _HEADER.format(what=dialect_shells(dialect)).encode()
    return header + render_block(site, dialect, timeout, (), command)


def code_lines(block: bytes) -> list[bytes]:
    """The lines of a block that are not comments or blank."""
    out = []
    for line in split_lines(block):
        text = line.strip()
        if text and not text.startswith(b"#"):
            out.append(text)
    return out


def is_short(block: bytes) -> bool:
    """Is this managed block (markers included) the short form? The full block has dozens of
    code lines, the short one exactly one."""
    return len(code_lines(block)) == 1
