"""The managed block in a startup file: render it, find it, insert it, remove it.

Text rules (all on bytes, so CRLF files and files without a final newline survive exactly):
the block is written with LF line ends between ``# >>> condashare >>>`` and
``# <<< condashare <<<``; running again replaces it in place; flag lines inside the block record
what else ``init`` did (created the file, added a line break before the block) so ``--reverse``
undoes exactly that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from condashare.errors import CondashareError
from condashare.shells.dialects import DIALECTS, Dialect
from condashare.shells.records import DialectName
from condashare.site.file import Site
from condashare.startup.shelltext import continues, heredoc_bodies, interactive_guard

BEGIN = b"# >>> condashare >>>"
END = b"# <<< condashare <<<"
FLAG_CREATED = b"# condashare: created this file"
FLAG_NEWLINE = b"# condashare: added the line break before this block"
FLAG_BLANK = b"# condashare: added the blank line before this block"
FLAGS = (FLAG_CREATED, FLAG_NEWLINE, FLAG_BLANK)
FLAG_DIR = b"# condashare: created the directory "  # + its path; one line per directory


class StartupError(CondashareError):
    """A startup file cannot be edited safely (half block, two blocks ...); nothing changed."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


def info_line(command: str) -> str:
    """The comment that tells whoever reads the file which command manages the block."""
    return (
        f"# Managed by '{command}' from the site file's installations: to change it run "
        f"'{command}' again, to remove it run '{command} --reverse'."
    )


def render_block(
    site: Site,
    dialect: DialectName | Dialect,
    timeout: float | None = None,
    flags: Sequence[bytes] = (),
    command: str = "condashare init",
) -> bytes:
    """The complete managed block, markers included, LF line ends. StartupError for a prefix
    the dialect cannot carry (line breaks, control characters)."""
    d = DIALECTS[dialect] if isinstance(dialect, str) else dialect
    for inst in site.installations:
        reason = d.refuse_reason(inst.prefix)
        if reason:
            raise StartupError(site.path or "--prefix", f"prefix {inst.prefix!r} {reason}")
    body = d.render(site, timeout)
    info = info_line(command).encode()
    head = BEGIN + b"\n" + info + b"\n" + b"".join(f + b"\n" for f in flags)
    return head + body.encode("utf-8") + END + b"\n"


def split_lines(data: bytes) -> list[bytes]:
    """Split on LF only, keeping line ends (``bytes.splitlines`` also splits on \\r, \\f ...)."""
    if not data:
        return []
    parts = data.split(b"\n")
    out = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def bare(line: bytes) -> bytes:
    """A line without its LF or CRLF end."""
    return line.rstrip(b"\n").rstrip(b"\r")


@dataclass(frozen=True)
class BlockSpan:
    """Where the managed block sits: line indexes of its markers, and its flags."""

    begin: int
    end: int
    flags: tuple[bytes, ...]


def marker_lines(data: bytes) -> tuple[list[int], list[int]]:
    """Line indexes of every begin and every end marker of the managed block."""
    lines = split_lines(data)
    skip = heredoc_bodies(lines)  # marker lines in a here-document are the user's text
    begins = [i for i, ln in enumerate(lines) if bare(ln) == BEGIN and i not in skip]
    ends = [i for i, ln in enumerate(lines) if bare(ln) == END and i not in skip]
    return begins, ends


def find_block(data: bytes, path: str = "") -> BlockSpan | None:
    """Locate the one managed block; StartupError for half, nested or repeated markers."""
    begins, ends = marker_lines(data)
    if not begins and not ends:
        return None
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        where = ", ".join(str(i + 1) for i in sorted(begins + ends))
        raise StartupError(
            path,
            f"has an incomplete or repeated condashare block (marker lines {where}); "
            "fix the file by hand (keep one '# >>> condashare >>>' ... '# <<< condashare <<<' "
            "pair or none), then run again",
        )
    b, e = begins[0], ends[0]
    lines = split_lines(data)
    flags = tuple(
        bare(ln) for ln in lines[b + 1 : e] if bare(ln) in FLAGS or bare(ln).startswith(FLAG_DIR)
    )
    return BlockSpan(b, e, flags)


def created_dirs(span: BlockSpan) -> list[str]:
    """The directories ``init`` created for this file (innermost first), from the flags."""
    return [
        f[len(FLAG_DIR) :].decode("utf-8", "replace") for f in span.flags if f.startswith(FLAG_DIR)
    ]


def block_text(data: bytes) -> bytes | None:
    """The managed block, markers included, when there is exactly one; else None."""
    try:
        span = find_block(data)
    except StartupError:
        return None
    if span is None:
        return None
    return b"".join(split_lines(data)[span.begin : span.end + 1])


def install_block(
    old: bytes | None,
    make_block: Callable[[Sequence[bytes]], bytes],
    path: str = "",
    *,
    before_guard: bool = False,
    new_dirs: Sequence[str] = (),
) -> bytes:
    """New file content with the managed block added, or replaced in place.

    A new block goes at the end, after a line break and, if the last line ends in a
    backslash, a blank line (else the shell would join the block's first line to it). With
    ``before_guard`` (a user's sh-dialect file), in a file with an early ``return`` for
    non-interactive shells (Debian's stock ``.bashrc``) it goes before that guard, so ``ssh
    host cmd`` gets conda too, and a block found after such a guard moves there.
    ``new_dirs``: the directories a new file needs created, recorded so ``--reverse`` removes
    them again.
    """
    data = old or b""
    span = find_block(data, path)
    lines = split_lines(data)
    guard = interactive_guard(lines) if before_guard else None
    if span is not None and (guard is None or span.begin < guard):
        block = make_block(span.flags)
        return b"".join(lines[: span.begin]) + block + b"".join(lines[span.end + 1 :])
    if span is not None:  # after the guard: take it out, put it before the guard
        kept = [f for f in span.flags if f == FLAG_CREATED or f.startswith(FLAG_DIR)]
        data = remove_block(data, path) or b""
        lines = split_lines(data)
        guard = interactive_guard(lines)
        if guard is not None:
            return b"".join(lines[:guard]) + make_block(kept) + b"".join(lines[guard:])
    if guard is not None:
        return b"".join(lines[:guard]) + make_block([]) + b"".join(lines[guard:])
    flags: list[bytes] = []
    sep = b""
    if old is None:
        flags.append(FLAG_CREATED)
        flags += [FLAG_DIR + d.encode() for d in new_dirs if not set(d) & {"\n", "\r"}]
    elif data and not data.endswith(b"\n"):
        flags.append(FLAG_NEWLINE)
        sep = b"\n"
    if lines and continues(lines[-1]):
        flags.append(FLAG_BLANK)
        sep += b"\n"
    return data + sep + make_block(flags)


def remove_block(old: bytes | None, path: str = "") -> bytes | None:
    """The file content with the managed block (and what it added) removed; None = delete."""
    if old is None:
        return None
    span = find_block(old, path)
    if span is None:
        return old
    lines = split_lines(old)
    before = b"".join(lines[: span.begin])
    after = b"".join(lines[span.end + 1 :])
    added = b"\n" * sum(f in span.flags for f in (FLAG_NEWLINE, FLAG_BLANK))
    if added and before.endswith(added):
        before = before[: -len(added)]
    new = before + after
    if FLAG_CREATED in span.flags and not new:
        return None
    return new
