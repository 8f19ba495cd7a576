"""What a shell sees in the user's text around the block: here-document bodies (marker lines
there are the user's data, not a block), a last line continued by a backslash (the next line
would be joined to it), and an early ``return`` for non-interactive shells (a block after it
never runs for ``ssh host cmd``). Line-based on purpose: no shell is parsed here, and every
rule errs towards leaving the user's text alone."""

from __future__ import annotations

import re
from collections.abc import Sequence

# <<WORD, <<-WORD, << 'WORD', <<"WORD", <<\WORD (not <<<, a here-string)
_HEREDOC = re.compile(
    rb"""(?<!<)<<(?!<)(-?)[ \t]*(?:'([^'\n]+)'|"([^"\n]+)"|\\?([A-Za-z0-9_.-]+))"""
)
# Stock Debian/Ubuntu/Arch .bashrc guards, at the start of a line (not inside a function):
#   [ -z "$PS1" ] && return      [[ $- != *i* ]] && return      [[ $- == *i* ]] || return
_ONE_LINE_GUARD = re.compile(rb"""^\[\[?[^\n]*(?:\$-|PS1)[^\n]*\]\]?\s*(?:&&|\|\|)\s*return\b""")
#   case $- in  *i*) ;;  *) return;;  esac
_CASE_GUARD = re.compile(rb"""^case\s+"?\$-"?\s+in\b""")
_CASE_RETURN = re.compile(rb"""^\s*\*\)\s*return\b""")


def _bare(line: bytes) -> bytes:
    return line.rstrip(b"\n").rstrip(b"\r")


def heredoc_bodies(lines: Sequence[bytes]) -> set[int]:
    """Indexes of lines inside here-documents that end (an unterminated one is ignored: the
    rule must never hide a block condashare wrote after it)."""
    inside: set[int] = set()
    i = 0
    while i < len(lines):
        line = _bare(lines[i])
        i += 1
        if line.lstrip().startswith(b"#"):
            continue
        for match in _HEREDOC.finditer(line):
            word = match.group(2) or match.group(3) or match.group(4)
            strip_tabs = bool(match.group(1))
            end = next(
                (
                    j
                    for j in range(i, len(lines))
                    if (_bare(lines[j]).lstrip(b"\t") if strip_tabs else _bare(lines[j])) == word
                ),
                None,
            )
            if end is None:
                continue
            inside.update(range(i, end))
            i = end + 1
    return inside


def continues(line: bytes) -> bool:
    """Does this line end in a backslash that joins the next line to it?"""
    text = _bare(line)
    return (len(text) - len(text.rstrip(b"\\"))) % 2 == 1


def interactive_guard(lines: Sequence[bytes]) -> int | None:
    """The first line of an early ``return`` for non-interactive shells, with the comment
    lines right above it (they explain it), or None."""
    skip = heredoc_bodies(lines)
    for i, raw in enumerate(lines):
        if i in skip:
            continue
        line = _bare(raw)
        found = bool(_ONE_LINE_GUARD.match(line))
        if not found and _CASE_GUARD.match(line):
            following = [_bare(ln) for ln in lines[i + 1 : i + 6]]
            found = any(_CASE_RETURN.match(ln) for ln in following)
        if not found:
            continue
        if i and continues(lines[i - 1]):
            return None  # joined to the line above: leave it alone
        start = i
        while start and _bare(lines[start - 1]).startswith(b"#"):
            if _bare(lines[start - 1]).startswith((b"# >>> ", b"# <<< ")):
                break  # a block's marker (condashare's, conda's): not this guard's comment
            start -= 1
        if start and continues(lines[start - 1]):
            return None
        return start
    return None
