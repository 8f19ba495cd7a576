"""The bytes of one condashare modulefile (Lua for Lmod, Tcl for Environment Modules).

Every installation of the site is in every file (one ``uname -sm`` case arm each, rendered by
the shell block's own :class:`~condashare.shells.dialects.PosixDialect`), so one directory of
modulefiles in a home shared between Linux and macOS serves each machine with its own
installation. The first comment line is the marker: sync and ``--reverse`` touch no file without
it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from condashare.shared_envs.releases import parse_release
from condashare.shells.code import format_timeout
from condashare.shells.dialects import PosixDialect
from condashare.site.file import Installation, unsafe_path_reason

Format = Literal["lua", "tcl"]
MARKERS = (
    b"-- condashare modules: written by 'condashare modules'",
    b"#%Module1.0\n## condashare modules: written by 'condashare modules'",
)
RELEASE_LINE = re.compile(rb"^(?:--|##) release: ([A-Za-z0-9._+-]+)$", re.MULTILINE)
_SAFE = re.compile(r"^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$")
_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ModuleName:
    """``isis/4.3.0`` for env ``isis4.3.0``; a release without a version is ``name`` alone."""

    release: str
    family: str
    version: str | None

    @property
    def full(self) -> str:
        return f"{self.family}/{self.version}" if self.version else self.family

    def relpath(self, fmt: Format = "lua") -> str:
        """The file below the modulefile directory (Tcl modulefiles have no extension)."""
        return self.full + ".lua" if fmt == "lua" else self.full


def module_name(release: str) -> ModuleName | str:
    """The module name of an env, or why it cannot have one (it is written into Lua and sh)."""
    if not _SAFE.match(release):
        return "has characters other than letters, digits and . _ + -"
    family, version = parse_release(release)
    if not _SAFE.match(family) or (version is not None and not _SAFE.match(version)):
        return "does not split into a usable module name and version"
    return ModuleName(release, family, version)


def owns(data: bytes) -> str | None:
    """The release of a modulefile condashare wrote, None for anybody else's file."""
    if not data.startswith(MARKERS):
        return None
    match = RELEASE_LINE.search(data)
    return match.group(1).decode("ascii") if match else None


def _probe_code(installations: tuple[Installation, ...]) -> str:
    dialect = PosixDialect()
    for inst in installations:
        reason = unsafe_path_reason(inst.prefix) or ("\t" in inst.prefix and "contains a tab")
        if reason:
            raise ValueError(f"installation prefix {inst.prefix!r} {reason}")
    arms = dialect.arms(installations)
    drop = "|".join(dialect.quote(i.prefix.rstrip("/")) + "/*" for i in installations)
    text = (_HERE / "probe.sh").read_text(encoding="utf-8")
    return text.replace("__CONDASHARE_CASES__\n", arms).replace("__CONDASHARE_DROP__", drop)


def _lua_line(text: str) -> str:
    """Text for a Lua double-quoted string (only safe release names and our words reach it)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _tcl_text(text: str) -> str:
    """Text for a Tcl double-quoted string: no substitution of $, [ ] or backslashes."""
    return re.sub(r'([\\"$\[\]{}])', r"\\\1", text).replace("\n", "\\n")


def render(
    name: ModuleName,
    installations: tuple[Installation, ...],
    timeout: float,
    site: str,
    fmt: Format = "lua",
) -> bytes:
    """The modulefile for one release, in Lua or Tcl."""
    probe = _probe_code(installations)
    if fmt == "lua" and "]==]" in probe:
        raise ValueError("an installation prefix contains ']==]'")
    if fmt == "tcl" and any(c in i.prefix for i in installations for c in "{}\\"):
        raise ValueError("an installation prefix contains a brace or a backslash (Tcl)")
    oses = ", ".join(dict.fromkeys(i.os for i in installations))
    whatis = f"shared conda env {name.release} ({oses})"
    help_text = (
        f"Shared conda environment {name.release}, as 'conda activate {name.release}' gives it,\n"
        f"from this machine's installation in the site file {site or '(--prefix)'}.\n"
        "Unload restores the environment. Written by 'condashare modules'."
    )
    if fmt == "lua":
        whatis, help_text = _lua_line(whatis), help_text.replace("]]", "] ]")
    else:
        whatis, help_text = _tcl_text(whatis), _tcl_text(help_text)
    text = (_HERE / f"modulefile.{fmt}").read_text(encoding="utf-8")
    for key, value in (
        ("__CONDASHARE_PROBE__\n", probe),
        ("__CONDASHARE_WHATIS__", whatis),
        ("__CONDASHARE_HELP__", help_text),
        ("__CONDASHARE_RELEASE__", name.release),
        ("__CONDASHARE_TIMEOUT__", format_timeout(timeout)),
    ):
        if key not in text:
            raise RuntimeError(f"modulefile template lacks {key.strip()}")
        text = text.replace(key, value)
    return text.encode("utf-8")
