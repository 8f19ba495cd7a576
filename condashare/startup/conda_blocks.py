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

from condashare.startup.blocks import bare, split_lines

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
            start: int | None = None
            for i, ln in enumerate(lines):
                line = bare(ln)
                if line == pre + begin:
                    start = i
                elif line == pre + end and start is not None:
                    text = b"".join(lines[start : i + 1]).decode("utf-8", "replace")
                    mentioned = tuple(p for p in prefixes if p in text)
                    found.append(
                        CondaBlock(path, name, start + 1, i + 1, mentioned, disabled, text)
                    )
                    start = None
    return sorted(found, key=lambda b: b.first_line)


def disable_conda_blocks(data: bytes | None) -> bytes | None:
    """Prefix every line of each complete active conda/mamba block with a removable comment."""
    if not data:
        return data
    lines = split_lines(data)
    for block in find_conda_blocks(data):
        if block.disabled:
            continue
        for i in range(block.first_line - 1, block.last_line):
            lines[i] = DISABLED_PREFIX + lines[i]
    return b"".join(lines)


def enable_conda_blocks(data: bytes | None) -> bytes | None:
    """Undo :func:`disable_conda_blocks` byte for byte."""
    if not data:
        return data
    lines = split_lines(data)
    for block in find_conda_blocks(data):
        if not block.disabled:
            continue
        for i in range(block.first_line - 1, block.last_line):
            if lines[i].startswith(DISABLED_PREFIX):
                lines[i] = lines[i][len(DISABLED_PREFIX) :]
    return b"".join(lines)
