"""Site-file match rules as the startup blocks evaluate them: glob patterns, built-ins.

The block puts the facts (``shell/rules.sh``) into ``;c=CPU;g=GPU;l=GLIBC;h=HOST`` after
uname's words, and each installation's ``case`` arm is the AND of its rules written as one glob
over that string, in that fixed order: so the first arm that matches is the first installation
whose OS, architecture and rules all hold — the same choice as
:func:`condashare.site.installations.choose_installation`. The CPU level and glibc cost a read
of ``/proc/cpuinfo`` and a fork: they stay ``?`` until an arm whose other rules hold asks for
one (its second and third pattern lists), then the case runs again. Every dialect runs this
in POSIX sh (:mod:`condashare.shells.choice`); only blocks of sites with rules get any of it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from condashare.host.dirs import APP, FACTS_FILE, HOST_NAME_CHARS, HOSTS
from condashare.host.machine import LIBC_FILES, X86_LEVEL_FLAGS, version_tuple
from condashare.site.file import Installation, MatchRules, Site


def site_has_rules(site: Site) -> bool:
    return any(not inst.match.empty for inst in site.installations)


def _digit_range(low: int) -> str:
    return str(low) if low == 9 else f"[{low}-9]"


def at_least_globs(minimum: str) -> list[str]:
    """Globs that match exactly the versions (``2.28``, ``2.31.1``, ``3.0``) >= ``minimum``
    (a major.minor with components below 100)."""
    major, minor = (*version_tuple(minimum), 0)[:2]
    heads: list[str] = []
    if minor < 10:
        heads.append(f"{major}.{_digit_range(minor)}")
        heads.append(f"{major}.[1-9][0-9]")
    else:
        tens, ones = divmod(minor, 10)
        heads.append(f"{major}.{tens}{_digit_range(ones)}")
        if tens < 9:
            heads.append(f"{major}.{_digit_range(tens + 1)}[0-9]")
    heads.append(f"{major}.[1-9][0-9][0-9]")
    out = [g for head in heads for g in (head, head + ".*")]
    if major < 9:
        out.append(f"{_digit_range(major + 1)}.*")
    out.append("[1-9][0-9].*")
    return out


def _cpu_globs(cpu: str) -> list[str]:
    if not cpu:
        return ["*"]
    if cpu.startswith("x86-64-v"):
        level = int(cpu.rsplit("v", 1)[1])
        return [f"[{level}-4]" if level < 4 else "4"]
    generation = int(cpu.split("-m", 1)[1])
    if generation < 10:
        return [f"m{_digit_range(generation)}", "m[1-9][0-9]"]
    tens, ones = divmod(generation, 10)
    return [f"m{tens}{_digit_range(ones)}", f"m{_digit_range(tens + 1)}[0-9]"]


def _host_globs(hosts: tuple[str, ...]) -> list[str]:
    if not hosts:
        return ["*"]
    return [g for pattern in hosts for g in (pattern, pattern + ".*")]  # full name, or short


UNKNOWN = "'?'"  # the CPU level or glibc version while it is not read yet (shell/rules.sh)
Need = Literal["", "c", "l"]


def fact_globs(rules: MatchRules, need: Need = "") -> list[str]:
    """The ``;c=…;g=…;l=…;h=…`` globs one installation's rules accept, as shell pattern text:
    the separators quoted, the globs bare (they come from validated site-file values).
    ``need`` "c": the CPU level is not read yet and every other rule holds or waits (the block
    then reads it); "l": glibc is not read yet, every other rule holds."""
    gpu = "1" if rules.gpu else "*"
    cpu = _cpu_globs(rules.cpu)
    glibc = at_least_globs(rules.glibc) if rules.glibc else ["*"]
    if need == "c":
        cpu = [UNKNOWN]
        glibc = [*glibc, UNKNOWN] if rules.glibc else glibc
    elif need == "l":
        glibc = [UNKNOWN]
    combos = itertools.product(cpu, glibc, _host_globs(rules.hosts))
    return [f'";c="{c}";g="{gpu}";l="{lib}";h="{h}' for c, lib, h in combos]


def arm_patterns(
    inst: Installation, uname_patterns: list[str], quote: Callable[[str], str], need: Need = ""
) -> list[str]:
    """The case patterns of one installation's arm in a block with rules: each uname pattern
    (``Linux x86_64``, ``Darwin *``), quoted, then the glob of its rules (``*`` for none).
    With ``need``: the patterns that ask for that fact first (none if no rule wants it)."""
    if need and not (inst.match.cpu if need == "c" else inst.match.glibc):
        return []
    out = []
    for pattern in uname_patterns:
        head = quote(pattern[:-1]) + "*" if pattern.endswith(" *") else quote(pattern)
        if inst.match.empty:
            out.append(head + '";"*')
        else:
            out.extend(head + glob for glob in fact_globs(inst.match, need))
    return out


@dataclass(frozen=True)
class FactSources:
    """Where a block reads the machine's facts: procfs (tests: a captured copy) and the C
    library files whose mtime vouches for the cached glibc version (tests: their own file)."""

    proc_root: str = "/proc"
    libc_files: tuple[str, ...] = LIBC_FILES


def facts_code(
    template: str, sources: FactSources, quote: Callable[[str], str], select: str
) -> str:
    """``shell/rules.sh`` filled: the facts, the per-host facts cache
    (:func:`condashare.host.dirs.host_facts_file`'s path, built at run time), and the loop
    around the ``select`` code (the case arms) that reads a costly fact when the first arm
    that needs it is reached."""
    levels = " ".join(
        word for number, flags in X86_LEVEL_FLAGS for word in (*sorted(flags), str(number))
    )
    return (
        template.replace("__CONDASHARE_PROC__", quote(sources.proc_root))
        .replace("__CONDASHARE_LEVEL_FLAGS__", levels)
        .replace("__CONDASHARE_CACHE_DIR__", quote(f"{APP}/{HOSTS}"))
        .replace("__CONDASHARE_FACTS_FILE__", quote(FACTS_FILE))
        .replace("__CONDASHARE_HOST_CHARS__", HOST_NAME_CHARS)
        .replace("__CONDASHARE_LIBC__", " ".join(quote(path) for path in sources.libc_files))
        .replace("__CONDASHARE_SELECT__\n", select)
    )
