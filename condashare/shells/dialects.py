"""The three dialects the blocks are written in (sh, csh, fish): quoting, ``case`` arms, and the
template each one fills (``shell/posix.sh``, ``shell/csh.csh``, ``shell/fish.fish``).

The block knows every installation of the site file and picks one at shell start from ``uname
-sm``, so one home shared by Linux and macOS machines works on both.
"""

from __future__ import annotations

from collections.abc import Iterable

from condashare.shells.code import (
    awk_code,
    check_code,
    fill,
    format_timeout,
    mountinfo_escape,
    race_program,
    template_code,
)
from condashare.shells.records import DialectName
from condashare.site import shellrules
from condashare.site.file import Installation, Site, unsafe_path_reason

_OS_UNAME = {"linux": "Linux", "macos": "Darwin"}
# uname -m spellings of each canonical architecture (Linux says aarch64, macOS arm64).
_ARCH_UNAME = {
    "x86_64": ("x86_64", "amd64"),
    "arm64": ("arm64", "aarch64"),
    "x86": ("i386", "i486", "i586", "i686", "x86"),
    "ppc64le": ("ppc64le",),
    "s390x": ("s390x",),
    "armv7l": ("armv7l",),
    "riscv64": ("riscv64",),
}


def uname_patterns(inst: Installation) -> list[str]:
    """``uname -sm`` outputs this installation accepts; ``*`` stands for any architecture."""
    os_word = _OS_UNAME[inst.os]
    if not inst.arch:
        return [f"{os_word} *"]
    out: list[str] = []
    for arch in inst.arch:
        for spelling in _ARCH_UNAME.get(arch, (arch,)):
            out.append(f"{os_word} {spelling}")
    return list(dict.fromkeys(out))


def rosetta_patterns(inst: Installation) -> list[str]:
    """An arm64-only macOS installation also serves ``Darwin x86_64``: a shell translated by
    Rosetta on Apple silicon reports x86_64 but can run the arm64 installation (host.py makes
    the same choice). These arms come after all exact ones, so an x86_64 installation wins."""
    if inst.os == "macos" and "arm64" in inst.arch and "x86_64" not in inst.arch:
        return ["Darwin x86_64"]
    return []


def helper_code(dialect: DialectName) -> str:
    """shell/helper.sh as a stand-alone /bin/sh program for csh and fish (inputs from the
    environment), with the check, the reader and the race in place. csh gets a private copy
    of conda.csh to source (shell/copy_csh.sh); fish takes the content itself."""
    csh = dialect == "csh"
    return fill(
        "helper.sh",
        template_code("helper.sh"),
        {
            "__CONDASHARE_AWK__": POSIX.quote(awk_code()),
            "__CONDASHARE_CHECK__\n": check_code(),
            "__CONDASHARE_RACE__\n": template_code("race.sh"),
            "__CONDASHARE_READER__\n": template_code("copy_csh.sh") if csh else "",
            "__CONDASHARE_READ_CMD__": (
                '_condashare_copy "$_condashare_f"'
                if csh
                else 'awk "$_condashare_aw" "$_condashare_f"'
            ),
            "__CONDASHARE_VERDICT__\n": template_code("verdict.sh"),
        },
    )


class Dialect:
    """One family of shells: its template, its quoting, its file to source."""

    name: DialectName = "posix"
    template = ""
    conda_file = ""

    def quote(self, value: str) -> str:
        raise NotImplementedError

    def pattern(self, pattern: str) -> str:
        """A ``uname -sm`` pattern as a case label: quoted, but a trailing ``*`` a wildcard."""
        if pattern.endswith(" *"):
            return self.quote(pattern[:-1]) + "*"
        return self.quote(pattern)

    def arm(self, inst: Installation, patterns: list[str] | None = None) -> str:
        raise NotImplementedError

    def arms(self, installations: Iterable[Installation]) -> str:
        """Every installation's arm, then the Rosetta arms (after all exact ones)."""
        insts = list(installations)
        text = "".join(self.arm(inst) for inst in insts)
        return text + "".join(
            self.arm(inst, rosetta_patterns(inst)) for inst in insts if rosetta_patterns(inst)
        )

    def code(self) -> dict[str, str]:
        """The shared shell code this dialect's template takes, by placeholder."""
        return {"__CONDASHARE_CHECK__": self.quote(helper_code(self.name))}

    def refuse_reason(self, value: str) -> str | None:
        return unsafe_path_reason(value)

    def render(self, site: Site, timeout: float | None = None) -> str:
        """The block body (no markers) for every installation of ``site``; the caller has
        refused prefixes :meth:`refuse_reason` rejects."""
        seconds = site.probe_timeout if timeout is None else timeout
        replacements = {
            "__CONDASHARE_CASES__\n": self.arms(site.installations),
            "__CONDASHARE_TIMEOUT__": self.quote(format_timeout(seconds)),
            **self.code(),
        }
        return fill(self.template, template_code(self.template), replacements)


class PosixDialect(Dialect):
    """sh, dash, bash and zsh."""

    name: DialectName = "posix"
    template = "posix.sh"
    conda_file = "etc/profile.d/conda.sh"

    def quote(self, value: str) -> str:
        return "'" + value.replace("'", "'\\''") + "'"

    proc_root = "/proc"  # where the rules fragment reads the machine's facts (tests: captured)
    _site: Site | None = None
    _rules = False

    def render(self, site: Site, timeout: float | None = None) -> str:
        self._site, self._rules = site, shellrules.site_has_rules(site)  # for arms and code()
        return super().render(site, timeout)

    def arm(self, inst: Installation, patterns: list[str] | None = None) -> str:
        chosen = patterns or uname_patterns(inst)
        if self._rules:  # match rules (condashare.site.shellrules) extend each pattern
            pats = "|".join(shellrules.arm_patterns(inst, chosen, self.quote))
        else:
            pats = "|".join(self.pattern(p) for p in chosen)
        return (
            f"    {pats})\n"
            f"      _condashare_p={self.quote(inst.prefix)}\n"
            f"      _condashare_pe={self.quote(mountinfo_escape(inst.prefix))} ;;\n"
        )

    def code(self) -> dict[str, str]:
        # Inserted as is, not re-indented: the code has line breaks inside strings.
        return {
            "__CONDASHARE_CHECK__\n": check_code(),
            "__CONDASHARE_AWK__": self.quote(awk_code()),
            "__CONDASHARE_RACE_PROGRAM__": self.quote(race_program()),
            "__CONDASHARE_VERDICT__\n": template_code("verdict.sh"),
            "__CONDASHARE_RULES__\n": (
                shellrules.facts_code(
                    self._site, template_code("rules.sh"), self.proc_root, self.quote
                )
                if self._rules and self._site is not None
                else "  _condashare_m=\n"
            ),
        }


class CshDialect(Dialect):
    """tcsh and csh."""

    name: DialectName = "csh"
    template = "csh.csh"
    conda_file = "etc/profile.d/conda.csh"

    def quote(self, value: str) -> str:
        # Single quotes keep everything literal except ``!`` (history) and a line break,
        # which need a backslash; a quote is closed, escaped and reopened.
        body = value.replace("'", "'\\''").replace("!", "\\!").replace("\n", "\\\n")
        return "'" + body + "'"

    def arm(self, inst: Installation, patterns: list[str] | None = None) -> str:
        labels = "".join(f"    case {self.pattern(p)}:\n" for p in patterns or uname_patterns(inst))
        return (
            f"{labels}"
            f"      set _condashare_p = {self.quote(inst.prefix)}\n"
            f"      setenv _CONDASHARE_PE {self.quote(mountinfo_escape(inst.prefix))}\n"
            "      breaksw\n"
        )


class FishDialect(Dialect):
    """fish."""

    name: DialectName = "fish"
    template = "fish.fish"
    conda_file = "etc/fish/conf.d/conda.fish"

    def quote(self, value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def pattern(self, pattern: str) -> str:
        return self.quote(pattern)  # fish's case treats * in a quoted word as a wildcard

    def arm(self, inst: Installation, patterns: list[str] | None = None) -> str:
        pats = " ".join(self.pattern(p) for p in patterns or uname_patterns(inst))
        return (
            f"    case {pats}\n"
            f"      set _condashare_p {self.quote(inst.prefix)}\n"
            f"      set _CONDASHARE_PE {self.quote(mountinfo_escape(inst.prefix))}\n"
        )


POSIX = PosixDialect()
DIALECTS: dict[DialectName, Dialect] = {"posix": POSIX, "csh": CshDialect(), "fish": FishDialect()}
