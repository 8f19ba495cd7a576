"""The three dialects the blocks are written in (sh, csh, fish): quoting, ``case`` arms, and the
template each one fills (``shell/posix.sh``, ``shell/csh.csh``, ``shell/fish.fish``).

The block knows every installation of the site file and picks one at shell start
(:mod:`condashare.shells.choice`: ``uname -sm`` or ``CONDASHARE_PLATFORM``, the match rules,
``CONDASHARE_INSTALLATION``), so one home shared by Linux and macOS machines works on both.
"""

from __future__ import annotations

from collections.abc import Iterable

from condashare.host.machine import LIBC_FILES
from condashare.shells.choice import choose_code, rosetta_patterns, sh_arm, uname_patterns
from condashare.shells.code import (
    awk_code,
    check_code,
    fill,
    format_timeout,
    race_program,
    template_code,
)
from condashare.shells.records import DialectName
from condashare.site.file import Installation, Site, unsafe_path_reason
from condashare.site.shellrules import FactSources


def helper_code(dialect: DialectName, site: Site, sources: FactSources) -> str:
    """shell/helper.sh as a stand-alone /bin/sh program for csh and fish (inputs from the
    environment), with the choice, the check, the reader and the race in place. csh gets a
    private copy of conda.csh to source (shell/copy_csh.sh); fish takes the content itself."""
    csh = dialect == "csh"
    return fill(
        "helper.sh",
        template_code("helper.sh"),
        {
            "__CONDASHARE_CHOOSE__\n": choose_code(site, POSIX.quote, sources, numbered=True),
            "__CONDASHARE_CONDA_FILE__": DIALECTS[dialect].conda_file,
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
    proc_root = "/proc"  # where the match rules read the machine's facts (tests: captured)
    libc_files = LIBC_FILES  # whose mtime vouches for the block's cached glibc (tests: theirs)

    @property
    def sources(self) -> FactSources:
        return FactSources(self.proc_root, self.libc_files)

    def quote(self, value: str) -> str:
        raise NotImplementedError

    def code(self, site: Site) -> dict[str, str]:
        """What this dialect's template takes for ``site``, by placeholder."""
        raise NotImplementedError

    def refuse_reason(self, value: str) -> str | None:
        return unsafe_path_reason(value)

    def render(self, site: Site, timeout: float | None = None) -> str:
        """The block body (no markers) for every installation of ``site``; the caller has
        refused prefixes :meth:`refuse_reason` rejects."""
        seconds = site.probe_timeout if timeout is None else timeout
        replacements = {
            "__CONDASHARE_TIMEOUT__": self.quote(format_timeout(seconds)),
            **self.code(site),
        }
        return fill(self.template, template_code(self.template), replacements)


class PosixDialect(Dialect):
    """sh, dash, bash and zsh."""

    name: DialectName = "posix"
    template = "posix.sh"
    conda_file = "etc/profile.d/conda.sh"

    def quote(self, value: str) -> str:
        return "'" + value.replace("'", "'\\''") + "'"

    def arms(self, installations: Iterable[Installation]) -> str:
        """``uname -sm`` case arms setting ``_condashare_p``/``_pe``, Rosetta arms last (the
        modulefiles' and kernels' probe, which know no match rules)."""
        insts = list(installations)
        text = "".join(sh_arm(i, uname_patterns(i), self.quote, False) for i in insts)
        return text + "".join(
            sh_arm(i, rosetta_patterns(i), self.quote, False) for i in insts if rosetta_patterns(i)
        )

    def code(self, site: Site) -> dict[str, str]:
        # Inserted as is, not re-indented: the code has line breaks inside strings.
        return {
            "__CONDASHARE_CHOOSE__\n": choose_code(site, self.quote, self.sources, False),
            "__CONDASHARE_CHECK__\n": check_code(),
            "__CONDASHARE_AWK__": self.quote(awk_code()),
            "__CONDASHARE_RACE_PROGRAM__": self.quote(race_program()),
            "__CONDASHARE_VERDICT__\n": template_code("verdict.sh"),
            "__CONDASHARE_PROC__": self.quote(self.sources.proc_root),
        }


class HelperDialect(Dialect):
    """A dialect whose block runs the choice and the check in the /bin/sh helper and knows the
    chosen prefix by the number the helper answers."""

    def number_arm(self, number: int, prefix: str) -> str:
        raise NotImplementedError

    def code(self, site: Site) -> dict[str, str]:
        arms = "".join(
            self.number_arm(i, inst.prefix) for i, inst in enumerate(site.installations, 1)
        )
        helper = helper_code(self.name, site, self.sources)
        return {"__CONDASHARE_CASES__\n": arms, "__CONDASHARE_CHECK__": self.quote(helper)}


class CshDialect(HelperDialect):
    """tcsh and csh."""

    name: DialectName = "csh"
    template = "csh.csh"
    conda_file = "etc/profile.d/conda.csh"

    def quote(self, value: str) -> str:
        # Single quotes keep everything literal except ``!`` (history) and a line break,
        # which need a backslash; a quote is closed, escaped and reopened.
        body = value.replace("'", "'\\''").replace("!", "\\!").replace("\n", "\\\n")
        return "'" + body + "'"

    def number_arm(self, number: int, prefix: str) -> str:
        label = f"    case {number}:\n"
        return f"{label}      set _condashare_p = {self.quote(prefix)}\n      breaksw\n"


class FishDialect(HelperDialect):
    """fish."""

    name: DialectName = "fish"
    template = "fish.fish"
    conda_file = "etc/fish/conf.d/conda.fish"

    def quote(self, value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def number_arm(self, number: int, prefix: str) -> str:
        return f"    case {number}\n      set _condashare_p {self.quote(prefix)}\n"


POSIX = PosixDialect()
DIALECTS: dict[DialectName, Dialect] = {"posix": POSIX, "csh": CshDialect(), "fish": FishDialect()}
