"""The shell code in the templates (top-level ``shell/``), loaded and filled for the blocks.

Templates are real shell files; rendering only drops their comment lines (they document the
template, not the user's startup file) and replaces placeholders with quoted values.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from condashare.host.mounts import LOCAL_FSTYPES


def shell_dir() -> Path:
    """The templates: top-level ``shell/`` in a checkout, ``condashare/shell`` when installed
    (pyproject's wheel force-include)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "shell", package.parent / "shell"):
        if (candidate / "posix.sh").is_file():
            return candidate
    raise FileNotFoundError("condashare's shell templates (shell/posix.sh) are missing")


def template_code(name: str) -> str:
    """A shell/ snippet without its comment lines (they document the file, not the block)."""
    text = (shell_dir() / name).read_text(encoding="utf-8")
    return "".join(ln for ln in text.splitlines(keepends=True) if not ln.lstrip().startswith("#"))


def fill(name: str, text: str, replacements: Mapping[str, str]) -> str:
    """Replace every placeholder of a template; a missing one is a broken install, not input."""
    for key, value in replacements.items():
        if key not in text:
            raise RuntimeError(f"template {name} lacks {key.strip()}")
        text = text.replace(key, value)
    return text


def mountinfo_escape(path: str) -> str:
    r"""Escape a path as the kernel writes it in mountinfo (space ``\040``, backslash ``\134``)."""
    out = []
    for ch in path:
        if ch in " \t\n\\":
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return "".join(out)


def local_fs_pattern() -> str:
    """condashare.host.mounts.LOCAL_FSTYPES as one ``case`` pattern: the shell and Python agree."""
    names = sorted(LOCAL_FSTYPES)
    bad = [n for n in names if not n.replace("_", "").isalnum()]
    if bad:
        raise RuntimeError(f"LOCAL_FSTYPES has names unfit for a shell pattern: {bad}")
    return "|".join(names)


def check_code() -> str:
    """shell/check.sh: the mount-table lookup, with the local filesystems filled in."""
    return fill(
        "check.sh", template_code("check.sh"), {"__CONDASHARE_LOCAL_FS__": local_fs_pattern()}
    )


def awk_code() -> str:
    """shell/read.awk, the probe child's reader, without comments and indentation: it is one
    quoted word in every block, and bash lexes a block's words at every shell start."""
    return "".join(ln.strip() + "\n" for ln in template_code("read.awk").splitlines() if ln.strip())


def race_program() -> str:
    """shell/race.sh as a /bin/sh program: ``sh -c PROGRAM sh SECONDS COMMAND...``."""
    return template_code("race.sh") + '_condashare_race "$@"\nprintf \'%s\\n\' "$_condashare_x"\n'


def format_timeout(seconds: float) -> str:
    """Seconds as the shortest decimal the shells' ``read -t``/``sleep`` take."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "1"
