"""Pick the shared installation for a host, and confirm an installation's platform from its files.

A site file can be wrong (an admin copies the Linux entry and forgets to change the prefix), so
the installation's own ``bin/python`` header (ELF or Mach-O, and its CPU type) or, failing that,
the ``subdir`` of a ``conda-meta`` record is the evidence. Both are read through the probe, so a
dead share makes the answer "unresponsive" instead of a hang.
"""

from __future__ import annotations

import fnmatch
import os
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from condashare.bounded.liveness import probe_words
from condashare.bounded.paths import MISSING, OK, PathOp, ProbeResult, run_probes
from condashare.host.detect import (
    Platform,
    PlatformError,
    env_setting,
    glibc_version,
    normalize_arch,
)
from condashare.host.machine import MachineFacts, gather_facts, version_tuple
from condashare.site.file import Installation, MatchRules, Site


@dataclass(frozen=True)
class Verdict:
    """Whether one installation fits this machine, and why (or why not)."""

    installation: Installation
    fits: bool
    why: str


@dataclass(frozen=True)
class Choice:
    """The installation picked for a platform, why, and every installation that matched."""

    installation: Installation | None
    reason: str
    matches: tuple[Installation, ...]
    verdicts: tuple[Verdict, ...] = ()


FORCE_VARIABLE = "CONDASHARE_INSTALLATION"


def _host_matches(patterns: tuple[str, ...], hostname: str) -> str | None:
    short = hostname.split(".", 1)[0]
    for pattern in patterns:
        if fnmatch.fnmatchcase(hostname, pattern) or fnmatch.fnmatchcase(short, pattern):
            return pattern
    return None


def _cpu_fits(wanted: str, have: str | None) -> bool:
    if have is None:
        return False
    family = wanted.rsplit("-", 1)[0] if wanted.startswith("x86-64") else "apple"
    if not have.startswith(family):
        return False
    return version_tuple(have) >= version_tuple(wanted)


def check_rules(rules: MatchRules, facts: MachineFacts) -> tuple[bool, str]:
    """(all rules hold, the words for each rule): the first failing rule is named."""
    said: list[str] = []
    if rules.hosts:
        hit = _host_matches(rules.hosts, facts.hostname)
        if hit is None:
            return False, f"host {facts.hostname} matches none of {', '.join(rules.hosts)}"
        said.append(f"host {facts.hostname} matches {hit}")
    if rules.cpu:
        if not _cpu_fits(rules.cpu, facts.cpu_level):
            have = facts.cpu_level or "of unknown level"
            return False, f"needs CPU {rules.cpu} or later, this one is {have}"
        said.append(f"CPU {facts.cpu_level} >= {rules.cpu}")
    if rules.gpu:
        if facts.nvidia is None:
            return False, "needs an NVIDIA GPU: no driver loaded (/proc/driver/nvidia/version)"
        said.append(f"NVIDIA driver {facts.nvidia}")
    if rules.glibc:
        if facts.glibc is None or version_tuple(facts.glibc) < version_tuple(rules.glibc):
            return False, f"needs glibc {rules.glibc} or later, this machine has {facts.glibc}"
        said.append(f"glibc {facts.glibc} >= {rules.glibc}")
    return True, "; ".join(said)


def choose_installation(
    site: Site,
    platform: Platform,
    facts: MachineFacts | Callable[[], MachineFacts] | None = None,
    env: Mapping[str, str] | None = None,
) -> Choice:
    """First installation whose OS and architecture list accept ``platform`` and whose match
    rules (if any) hold for this machine; ``CONDASHARE_INSTALLATION=name`` forces one."""
    env = os.environ if env is None else env
    forced = env_setting(env, FORCE_VARIABLE)
    if forced:
        named = [i for i in site.installations if i.name == forced]
        if not named:
            names = ", ".join(i.name for i in site.installations)
            return Choice(None, f"{FORCE_VARIABLE}={forced}: no such installation ({names})", ())
        verdict = Verdict(named[0], True, f"forced by {FORCE_VARIABLE}")
        return Choice(named[0], f"forced by {FORCE_VARIABLE}={forced}", tuple(named), (verdict,))
    if any(not i.match.empty for i in site.installations):
        if facts is None:
            facts = gather_facts(platform.os, platform.arch, glibc_version())
        elif callable(facts):
            facts = facts()
    else:
        facts = None
    verdicts: list[Verdict] = []
    for inst in site.installations:
        if not inst.accepts(platform.os, platform.arch):
            arch = "/".join(inst.arch) or "any arch"
            verdicts.append(Verdict(inst, False, f"for {inst.os} ({arch}), not {platform}"))
            continue
        if inst.match.empty or facts is None:
            verdicts.append(Verdict(inst, True, "no match rules"))
            continue
        fits, why = check_rules(inst.match, facts)
        verdicts.append(Verdict(inst, fits, why))
    matches = tuple(v.installation for v in verdicts if v.fits)
    if not matches:
        offered = ", ".join(
            f"{i.name} ({i.os}{'-' + '/'.join(i.arch) if i.arch else ''})"
            for i in site.installations
        )
        reason = f"no installation in the site file is for {platform} (has: {offered})"
        if any(not v.fits and v.installation.accepts(platform.os, platform.arch)
               for v in verdicts):  # fmt: skip
            reason = f"no installation's match rules hold for this {platform} machine"
        return Choice(None, reason, (), tuple(verdicts))
    chosen = matches[0]
    arch_part = f" and arch {platform.arch}" if chosen.arch else " (any arch)"
    reason = f"first installation for OS {platform.os}{arch_part}"
    if not chosen.match.empty and facts is not None:
        reason += f" whose match rules hold ({next(v.why for v in verdicts if v.fits)})"
    if len(matches) > 1:
        others = ", ".join(i.name for i in matches[1:])
        reason += f"; also matching, not chosen: {others}"
    return Choice(chosen, reason, matches, tuple(verdicts))


_ELF_MACHINES = {
    0x03: "x86",
    0x3E: "x86_64",
    0xB7: "arm64",
    0x28: "armv7l",
    0x15: "ppc64le",
    0x16: "s390x",
    0xF3: "riscv64",
}
_MACHO_CPUS = {0x01000007: "x86_64", 0x0100000C: "arm64", 0x7: "x86", 0xC: "armv7l"}


@dataclass(frozen=True)
class BinaryPlatform:
    """What an executable header says: OS family and the architectures it contains."""

    os: str  # linux (ELF) or macos (Mach-O)
    archs: tuple[str, ...]
    format: str  # ELF, Mach-O, Mach-O universal; "conda-meta subdir" for a record's answer
    subdir: str = ""  # that record's own subdir (linux-64), which is what a user can look up


def parse_executable_header(data: bytes) -> BinaryPlatform | None:
    """Decode an ELF or (universal) Mach-O header; None for anything else."""
    if data[:4] == b"\x7fELF" and len(data) >= 20:
        endian = "<" if data[5] == 1 else ">"
        (machine,) = struct.unpack_from(endian + "H", data, 18)
        return BinaryPlatform(
            "linux", (_ELF_MACHINES.get(machine, f"elf-machine-{machine}"),), "ELF"
        )
    if len(data) >= 8 and data[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe"):
        (cpu,) = struct.unpack_from("<I", data, 4)
        return BinaryPlatform("macos", (_MACHO_CPUS.get(cpu, f"cpu-{cpu:#x}"),), "Mach-O")
    if len(data) >= 8 and data[:4] in (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf"):
        entry = 20 if data[3] == 0xBE else 32
        (count,) = struct.unpack_from(">I", data, 4)
        if not 0 < count < 16:
            return None  # a Java class file shares this magic; a fat binary has few slices
        archs = []
        for i in range(count):
            offset = 8 + i * entry
            if offset + 4 > len(data):
                break
            (cpu,) = struct.unpack_from(">I", data, offset)
            archs.append(_MACHO_CPUS.get(cpu, f"cpu-{cpu:#x}"))
        return BinaryPlatform("macos", tuple(archs), "Mach-O universal")
    return None


def platform_from_subdir(subdir: str) -> BinaryPlatform | None:
    """``linux-64`` -> linux/x86_64, ``osx-arm64`` -> macos/arm64 ..."""
    os_part, _, arch_part = subdir.partition("-")
    os_name = {"linux": "linux", "osx": "macos"}.get(os_part)
    if os_name is None:
        return None
    try:
        arch = normalize_arch(arch_part)  # 64 -> x86_64, aarch64 -> arm64 ...
    except PlatformError:
        arch = arch_part
    return BinaryPlatform(os_name, (arch,), "conda-meta subdir", subdir)


@dataclass(frozen=True)
class InstallationEvidence:
    """What an installation's own files say about its platform.

    ``found`` is the best evidence: ``bin/python``'s header, else a conda-meta record's
    ``subdir``. ``subdir`` keeps the record's answer as well (None when none was readable), so
    a universal Mach-O python can be narrowed to the one architecture its packages are for.
    """

    prefix: str
    probe: ProbeResult
    found: BinaryPlatform | None
    source: str  # "bin/python" or a conda-meta record name, "" when nothing was readable
    subdir: BinaryPlatform | None = None
    subdir_source: str = ""

    def matches(self, platform: Platform) -> bool | None:
        """True/False when the files tell; None when they could not be read or say nothing."""
        if self.found is None:
            return None
        return self.found.os == platform.os and platform.arch in self.found.archs

    def describe(self) -> str:
        if self.found is None:
            if self.probe.status == OK:
                return "no bin/python header or conda-meta record tells its platform"
            return f"{self.probe.path}: {probe_words(self.probe)}"
        archs = "+".join(self.found.archs)
        if self.found.subdir:  # conda's name, not ours: "linux-x86_64" is no conda subdir
            return (
                f"packages for {self.found.os}-{archs} "
                f"(subdir {self.found.subdir} in {self.source})"
            )
        return f"{self.found.format} {self.found.os}-{archs} (from {self.source})"


def _evidence(prefix: str, head: ProbeResult, meta: ProbeResult) -> InstallationEvidence:
    subdir = meta.data.get("subdir") if meta.status == OK else None
    from_meta = platform_from_subdir(subdir) if isinstance(subdir, str) else None
    meta_source = f"conda-meta/{meta.data.get('record')}" if from_meta else ""
    if head.status == OK:
        found = parse_executable_header(bytes.fromhex(str(head.data.get("data", ""))))
        if found is not None:
            return InstallationEvidence(prefix, head, found, "bin/python", from_meta, meta_source)
    elif head.status != MISSING:
        return InstallationEvidence(prefix, head, None, "")
    if from_meta is not None:
        return InstallationEvidence(prefix, meta, from_meta, meta_source, from_meta, meta_source)
    return InstallationEvidence(prefix, meta if meta.status != OK else head, None, "")


def identify_installations(prefixes: list[str], timeout: float) -> list[InstallationEvidence]:
    """Read each prefix's ``bin/python`` header and a conda-meta record through probes, all at
    once under one deadline (so n installations on a dead share cost one timeout, not n)."""
    requests: list[tuple[PathOp, str, str]] = []
    for prefix in prefixes:
        requests.append(("head", os.path.join(prefix, "bin", "python"), "4096"))
        requests.append(("subdir", prefix, "200"))
    results = run_probes(requests, timeout)
    return [_evidence(p, results[2 * i], results[2 * i + 1]) for i, p in enumerate(prefixes)]


def identify_installation(prefix: str, timeout: float) -> InstallationEvidence:
    """Read ``bin/python``'s header (or a conda-meta record) through the probe."""
    return identify_installations([prefix], timeout)[0]
