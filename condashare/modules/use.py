"""``condashare modules --use``: a managed ``module use DIR`` block in the user's startup file.

A block of its own (``# >>> condashare modules >>>``), separate from ``condashare init``'s, so
either can be added or removed without the other. The line runs only when the shell has a
``module`` command (a machine without a module system starts as before), and it goes through
:mod:`condashare.files.write` (diff, backup, atomic, bounded on a share) like every other edit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from condashare.shells.dialects import PosixDialect

BEGIN = b"# >>> condashare modules >>>"
END = b"# <<< condashare modules <<<"
SHELLS = ("bash", "zsh", "tcsh", "fish")


@dataclass(frozen=True)
class UseTarget:
    """Which file of which shell gets the block."""

    shell: str
    path: str


def target_for(shell_path: str, home: str, env: Mapping[str, str]) -> UseTarget | str:
    """The startup file of the user's shell (``$SHELL``), or why there is none to edit."""
    shell = os.path.basename(shell_path or "")
    if shell == "bash":
        return UseTarget(shell, os.path.join(home, ".bashrc"))
    if shell == "zsh":
        return UseTarget(shell, os.path.join(env.get("ZDOTDIR") or home, ".zshrc"))
    if shell in ("tcsh", "csh"):
        return UseTarget("tcsh", os.path.join(home, ".tcshrc"))
    if shell == "fish":
        # config.fish runs after every conf.d snippet, so after a module system set up there
        return UseTarget(shell, os.path.join(home, ".config", "fish", "config.fish"))
    return f"no startup file known for the shell {shell or '(none: $SHELL is empty)'}"


def _quote_csh(text: str) -> str:
    """A csh word: single quotes, with ! escaped (history expansion happens inside them too)."""
    return "'" + text.replace("'", "'\\''").replace("!", "\\!") + "'"


def _quote_fish(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def block(shell: str, directory: str, home: str) -> bytes:
    """The lines for ``shell``: add ``directory`` to the module path if ``module`` exists."""
    home = home.rstrip("/")
    rel = directory[len(home) + 1 :] if home and directory.startswith(home + "/") else None
    if shell in ("bash", "zsh"):
        q = PosixDialect().quote
        word = '"$HOME"/' + q(rel) if rel is not None else q(directory)
        line = f"command -v module >/dev/null 2>&1 && module use {word}"
    elif shell == "tcsh":
        word = '"$HOME"/' + _quote_csh(rel) if rel is not None else _quote_csh(directory)
        # (the one-line `if (...) cmd` form cannot run an alias, and module is one)
        line = f'if ( "`alias module`" != "" ) then\n  module use {word}\nendif'
    else:
        word = '"$HOME"/' + _quote_fish(rel) if rel is not None else _quote_fish(directory)
        line = f"functions -q module; and module use {word}"
    note = (
        "# Managed by 'condashare modules --use': the modulefiles of the shared releases. "
        "Remove it with 'condashare modules --reverse'."
    )
    return b"\n".join([BEGIN, note.encode(), line.encode("utf-8"), END]) + b"\n"


def splice(old: bytes | None, new_block: bytes | None) -> bytes | None:
    """``old`` with its block replaced by ``new_block`` (appended if absent; None removes it).

    A file holding a begin marker without its end marker is refused (ValueError): the user's
    lines after it would be lost.
    """
    text = old or b""
    start = text.find(BEGIN + b"\n")
    if start >= 0 and (start == 0 or text[start - 1 : start] == b"\n"):
        end = text.find(END + b"\n", start)
        if end < 0:
            raise ValueError("has '# >>> condashare modules >>>' without its end line")
        before, after = text[:start], text[end + len(END) + 1 :]
        if new_block is not None:
            return before + new_block + after
        if before.endswith(b"\n\n") and not after:
            before = before[:-1]  # the blank line put before the block when it was appended
        return (before + after) or None  # a file that held only the block was ours: it goes
    if new_block is None:
        return old
    if text and not text.endswith(b"\n"):
        text += b"\n"
    return text + (b"\n" if text else b"") + new_block
