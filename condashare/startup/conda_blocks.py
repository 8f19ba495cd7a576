"""``conda initialize`` and ``mamba initialize`` blocks in startup files: find, disable, enable.

``init --replace-conda-init`` disables such a block by prefixing each of its lines with a
removable comment; ``--reverse`` strips it again, byte for byte. The doctor reads the same
blocks (both names) to say which installation they hard-code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from condashare.startup.blocks import StartupError, bare, split_lines

CondaBlockName = Literal["conda initialize", "mamba initialize"]
CONDA_BLOCK_NAMES: tuple[CondaBlockName, ...] = ("conda initialize", "mamba initialize")
DISABLED_PREFIX = b"# [condashare-disabled] "
# How findings call each block: after the command that writes it.
BLOCK_LABELS: dict[CondaBlockName, str] = {
    "conda initialize": "`conda init`",
    "mamba initialize": "`mamba shell init`",
}

# A conda root prefix inside such a block: whatever precedes bin/conda (mamba, micromamba),
# condabin/conda or etc/profile.d/conda.<ext> (mamba.<ext>), quoted or not; or the value of
# MAMBA_ROOT_PREFIX.
_PREFIX_RE = re.compile(
    r"""(/[^'"\s]*?)/(?:bin/(?:conda|mamba|micromamba)|condabin/conda"""
    r"""|etc/profile\.d/(?:conda|mamba)\.(?:sh|csh|fish))\b"""
    r"""|MAMBA_ROOT_PREFIX[= ]['"]?(/[^'"\s;]*)"""
)


@dataclass(frozen=True)
class CondaBlock:
    """A ``conda initialize`` style block found in a startup file."""

    path: str
    name: CondaBlockName
    first_line: int  # 1-based
    last_line: int
    prefixes: tuple[str, ...]  # site installation prefixes it mentions
    disabled: bool = False
    text: str = ""  # its lines, decoded

    @property
    def label(self) -> str:
        return BLOCK_LABELS[self.name]

    def roots(self) -> list[str]:
        """The conda root prefixes the block runs (whatever installation it names)."""
        found = (m.group(1) or m.group(2) for m in _PREFIX_RE.finditer(self.text))
        return list(dict.fromkeys(p.rstrip("/") or "/" for p in found if p))


def _markers(name: str) -> tuple[bytes, bytes]:
    return (f"# >>> {name} >>>".encode(), f"# <<< {name} <<<".encode())


def _outermost_pairs(lines: Sequence[bytes], begin: bytes, end: bytes) -> list[tuple[int, int]]:
    """Begin/end marker pairs matched like brackets, keeping only those no other pair encloses.

    Bracket matching makes disabling reversible: what is left active afterwards (ends before
    any begin, begins after the last end) pairs with nothing, and the disabled markers pair
    exactly as the active ones did. (Pairing each end with the latest begin, as before, let an
    outer begin pair with a later end once the inner block was disabled.)
    """
    stack: list[int] = []
    pairs: list[tuple[int, int]] = []
    for i, ln in enumerate(lines):
        line = bare(ln)
        if line == begin:
            stack.append(i)
        elif line == end and stack:
            pairs.append((stack.pop(), i))
    outer: list[tuple[int, int]] = []
    for first, last in sorted(pairs):
        if not outer or first > outer[-1][1]:
            outer.append((first, last))
    return outer


def find_conda_blocks(
    data: bytes | None, path: str = "", prefixes: Sequence[str] = ()
) -> list[CondaBlock]:
    """Complete ``conda/mamba initialize`` blocks (active ones and ones condashare disabled)."""
    if not data:
        return []
    lines = split_lines(data)
    found: list[CondaBlock] = []
    for name in CONDA_BLOCK_NAMES:
        begin, end = _markers(name)
        for disabled in (False, True):
            pre = DISABLED_PREFIX if disabled else b""
            for first, last in _outermost_pairs(lines, pre + begin, pre + end):
                text = b"".join(lines[first : last + 1]).decode("utf-8", "replace")
                mentioned = tuple(p for p in prefixes if p in text)
                found.append(CondaBlock(path, name, first + 1, last + 1, mentioned, disabled, text))
    return sorted(found, key=lambda b: (b.first_line, b.name))


def _line_set(blocks: Sequence[CondaBlock]) -> set[int]:
    """0-based indexes of every line of ``blocks`` (a conda and a mamba block may overlap:
    each line counts once)."""
    return {i for b in blocks for i in range(b.first_line - 1, b.last_line)}


def _enable(data: bytes) -> bytes:
    lines = split_lines(data)
    for i in _line_set([b for b in find_conda_blocks(data) if b.disabled]):
        if lines[i].startswith(DISABLED_PREFIX):
            lines[i] = lines[i][len(DISABLED_PREFIX) :]
    return b"".join(lines)


def disable_conda_blocks(data: bytes | None, path: str = "") -> bytes | None:
    """Prefix every line of each complete active conda/mamba block with a removable comment.

    StartupError (nothing changed) when enabling the result would not give what enabling
    ``data`` gives (what ``--reverse`` restores),
    or would leave an active block: markers tangled that way need a human.
    """
    if not data:
        return data
    lines = split_lines(data)
    active = [b for b in find_conda_blocks(data) if not b.disabled]
    for i in _line_set(active):
        lines[i] = DISABLED_PREFIX + lines[i]
    new = b"".join(lines)
    if not active:
        return new
    if _enable(new) != _enable(data) or any(not b.disabled for b in find_conda_blocks(new)):
        where = ", ".join(f"{b.first_line}-{b.last_line}" for b in active)
        raise StartupError(
            path,
            f"has conda/mamba initialize markers condashare cannot disable reversibly (blocks "
            f"at lines {where} are tangled with other marker lines); edit them by hand, or run "
            "without --replace-conda-init",
        )
    return new


def enable_conda_blocks(data: bytes | None) -> bytes | None:
    """Undo :func:`disable_conda_blocks` byte for byte."""
    if not data:
        return data
    return _enable(data)
