"""How every startup block chooses its installation: ``shell/choose.sh``, POSIX sh, filled here.

The sh block runs it in the shell; the csh and fish blocks run it in the ``/bin/sh`` helper they
start anyway (no second process), which answers with the chosen installation's number. So
every shell makes :func:`condashare.site.installations.choose_installation`'s choice: OS and
architecture from ``uname -sm`` or ``CONDASHARE_PLATFORM``, the match rules
(:mod:`condashare.site.shellrules`), ``CONDASHARE_INSTALLATION`` forcing one. The two variables
are matched against literal patterns made from :mod:`condashare.host.detect`'s tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from condashare.host.detect import ARCH_ALIASES, BLANKS, OS_ALIASES, uname_spellings
from condashare.render import shown
from condashare.shells.code import fill, mountinfo_escape, template_code
from condashare.site import shellrules
from condashare.site.file import Installation, Site

Quote = Callable[[str], str]
OS_UNAME = {"linux": "Linux", "macos": "Darwin"}


def uname_patterns(inst: Installation) -> list[str]:
    """``uname -sm`` outputs this installation accepts; ``*`` stands for any architecture."""
    os_word = OS_UNAME[inst.os]
    if not inst.arch:
        return [f"{os_word} *"]
    out: list[str] = []
    for arch in inst.arch:
        for spelling in uname_spellings(arch):  # the one table: host.detect
            out.append(f"{os_word} {spelling}")
    return list(dict.fromkeys(out))


def rosetta_patterns(inst: Installation) -> list[str]:
    """An arm64-only macOS installation also serves ``Darwin x86_64``: a shell translated by
    Rosetta on Apple silicon reports x86_64 but can run the arm64 installation (host.py makes
    the same choice). These arms come after all exact ones, so an x86_64 installation wins;
    they do not apply when ``CONDASHARE_PLATFORM`` says macos-x86_64 (Python's choice then
    knows no Rosetta either)."""
    if inst.os == "macos" and "arm64" in inst.arch and "x86_64" not in inst.arch:
        return ["Darwin x86_64"]
    return []


def any_case(word: str) -> str:
    """``osx`` -> ``[oO][sS][xX]``: the word in any ASCII case, as a bare case pattern (the
    words of host.detect's tables are lower-case letters, digits and ``_``)."""
    if not word.replace("_", "").isalnum() or not word.isascii():
        raise RuntimeError(f"{word!r} is unfit for a bare shell pattern")
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in word)


def strip_code(variables: Iterable[str]) -> str:
    """sh that drops the blanks host.detect.BLANKS names around each variable's value (the
    blanks are made by printf, and only when the value starts or ends with a non-graphic
    character, so a plain value costs no child)."""
    escapes = {" ": " ", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\v": "\\v", "\f": "\\f"}
    blanks = "".join(escapes[ch] for ch in BLANKS)
    out = []
    for var in variables:
        out.append(
            f"case ${var} in [![:graph:]]* | *[![:graph:]])\n"
            f"  _condashare_ws=$($_condashare_bi printf '{blanks}x')\n"
            "  _condashare_ws=${_condashare_ws%x}\n"
            f"  while :; do case ${var} in [$_condashare_ws]*) {var}=${{{var}#?}} ;;\n"
            f"    *[$_condashare_ws]) {var}=${{{var}%?}} ;; *) break ;; esac; done\n"
            "  $_condashare_bi unset _condashare_ws ;;\n"
            "esac\n"
        )
    return "".join(out)


def spelling_arms(aliases: Mapping[str, str], word: Callable[[str], str], var: str) -> str:
    """Case arms that set ``var`` to ``word(canonical)`` for every spelling of each canonical
    name (any ASCII case, as host.detect lower-cases before it looks a value up)."""
    groups: dict[str, list[str]] = {}
    for spelling, canonical in aliases.items():
        groups.setdefault(canonical, []).append(any_case(spelling))
    return "".join(
        f"    {'|'.join(pats)}) {var}={word(canonical)} ;;\n" for canonical, pats in groups.items()
    )


def sh_arm(
    inst: Installation, patterns: list[str], quote: Quote, rules: bool, number: int = 0
) -> str:
    """One installation's case arm over ``uname -sm`` (and the facts, in a site with rules,
    with the arms that ask for a fact not read yet); ``number`` > 0 also names it for the csh
    and fish blocks."""
    asks = ""
    if rules:  # match rules (condashare.site.shellrules) extend each pattern
        pats = "|".join(shellrules.arm_patterns(inst, patterns, quote))
        for need in ("c", "l"):
            wanting = shellrules.arm_patterns(inst, patterns, quote, need)
            if wanting:
                asks += f"    {'|'.join(wanting)}) _condashare_k={need} ;;\n"
    else:
        pats = "|".join(quote(p[:-1]) + "*" if p.endswith(" *") else quote(p) for p in patterns)
    named = f"\n      _condashare_i={number}" if number else ""
    return (
        f"    {pats})\n"
        f"      _condashare_p={quote(inst.prefix)}{named}\n"
        f"      _condashare_pe={quote(mountinfo_escape(inst.prefix))} ;;\n"
    ) + asks


def choose_code(site: Site, quote: Quote, sources: shellrules.FactSources, numbered: bool) -> str:
    """shell/choose.sh filled for ``site`` (``numbered``: for the csh and fish helper)."""
    rules = shellrules.site_has_rules(site)
    insts = list(enumerate(site.installations, 1))

    def num(i: int) -> int:
        return i if numbered else 0

    cases = "".join(sh_arm(inst, uname_patterns(inst), quote, rules, num(i)) for i, inst in insts)
    rosetta = "".join(
        sh_arm(inst, rosetta_patterns(inst), quote, rules, num(i))
        for i, inst in insts
        if rosetta_patterns(inst)
    )
    if rosetta:
        rosetta = (
            '  if $_condashare_bi [ -z "$_condashare_p${_condashare_k-}" ] && '
            '$_condashare_bi [ -z "$_condashare_o" ]; then\n'
            '  case "$_condashare_u$_condashare_m" in\n' + rosetta + "  esac\n  fi\n"
        )
    select = f'  case "$_condashare_u$_condashare_m" in\n{cases}  esac\n{rosetta}'
    if rules:
        select = shellrules.facts_code(template_code("rules.sh"), sources, quote, select)
    names = "".join(
        f"    {quote(inst.name)})\n"
        f"      _condashare_p={quote(inst.prefix)}\n"
        f"      _condashare_i={num(i)}\n"
        f"      _condashare_pe={quote(mountinfo_escape(inst.prefix))} ;;\n"
        for i, inst in insts
    )
    listed = ", ".join(shown(inst.name) for inst in site.installations)
    return fill(
        "choose.sh",
        template_code("choose.sh"),
        {
            "__CONDASHARE_STRIP_N__\n": strip_code(["_condashare_n"]),
            "__CONDASHARE_STRIP_OA__\n": strip_code(["_condashare_o", "_condashare_a"]),
            "__CONDASHARE_OSES__\n": spelling_arms(
                OS_ALIASES, OS_UNAME.__getitem__, "_condashare_o"
            ),
            "__CONDASHARE_ARCHES__\n": spelling_arms(
                ARCH_ALIASES, lambda arch: uname_spellings(arch)[0], "_condashare_a"
            ),
            "__CONDASHARE_NAMES__\n": names,
            "__CONDASHARE_NAME_LIST__": '"' + quote(listed) + '"',
            "__CONDASHARE_SELECT__\n": select,
        },
    )
