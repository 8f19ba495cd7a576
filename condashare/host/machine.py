"""What a site file's match rules ask about a machine: its name, CPU level, GPU driver, glibc.

Clusters on one home differ in more than OS and architecture (an Intel login node, AMD+GPU
compute nodes), so an installation may say which machines it is for. The facts come from the
kernel (``/proc/cpuinfo``, ``/proc/driver/nvidia/version``, ``/proc/sys/kernel/hostname``: procfs
is local, reading it cannot hang) and are parsed from text, so tests feed captured files and a
``proc_root``. The same rules are evaluated by the startup block with shell built-ins.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from condashare.host.detect import sysctl_value

# x86-64 micro-architecture levels (the psABI's v2/v3/v4) as the Linux flag names spell them:
# LZCNT is "abm"; OSXSAVE shows as "xsave" (the kernel enabled it).
X86_LEVEL_FLAGS: tuple[tuple[int, frozenset[str]], ...] = (
    (2, frozenset({"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"})),
    (3, frozenset({"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"})),
    (4, frozenset({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"})),
)
_APPLE = re.compile(r"\bApple M(\d+)\b")
# A line saying "Kernel Module" then the version (the proprietary module: "... x86_64 Kernel
# Module  384.98 ...", the open one: "... Open Kernel Module for x86_64  565.57.01 ..."); the
# startup block matches the same text line by line (shell/rules.sh).
_NVIDIA = re.compile(r"Kernel Module(?: for \S+)?[ \t]+([0-9]+(?:\.[0-9]+)+)")
# The C library whose mtime the startup block's glibc cache carries (shell/rules.sh): the first
# that exists. /lib64: RHEL, Fedora, SUSE (x86_64, aarch64, ppc64le); Debian and Ubuntu's
# multiarch dirs; /usr/lib: Arch. None found: the block asks getconf every time.
LIBC_FILES = (
    "/lib64/libc.so.6",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/aarch64-linux-gnu/libc.so.6",
    "/usr/lib/libc.so.6",
)


def cpuinfo_flags(text: str) -> frozenset[str]:
    """The CPU flags of the first processor in ``/proc/cpuinfo`` text (x86 ``flags``)."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def x86_level(flags: frozenset[str]) -> int:
    """1 (baseline x86-64) to 4: the highest level whose flags, and every lower level's, are
    all present."""
    level = 1
    for number, needed in X86_LEVEL_FLAGS:
        if not needed <= flags:
            break
        level = number
    return level


def apple_generation(brand: str) -> int | None:
    """``Apple M2 Pro`` -> 2 (``machdep.cpu.brand_string`` on Apple silicon)."""
    found = _APPLE.search(brand)
    return int(found.group(1)) if found else None


def nvidia_driver(text: str) -> str | None:
    """The driver version from ``/proc/driver/nvidia/version`` (proprietary or open module)."""
    found = _NVIDIA.search(text)
    return found.group(1) if found else None


def version_tuple(value: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", value))


@dataclass(frozen=True)
class MachineFacts:
    """The facts match rules test; ``None`` where this machine cannot tell."""

    hostname: str
    cpu_level: str | None  # "x86-64-v3", "apple-m2", None (another CPU, or unknown)
    nvidia: str | None  # the NVIDIA driver version when the driver is loaded
    glibc: str | None

    def describe(self) -> str:
        gpu = f"NVIDIA driver {self.nvidia}" if self.nvidia else "no NVIDIA driver"
        return (
            f"host {self.hostname}, CPU {self.cpu_level or 'level unknown'}, {gpu}, "
            f"glibc {self.glibc or 'none'}"
        )


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(1 << 20)
    except OSError:
        return ""


def gather_facts(
    os_name: str,
    arch: str,
    glibc: str | None,
    proc_root: str = "/proc",
    hostname: str | None = None,
    apple_brand: str | None = None,
) -> MachineFacts:
    """This machine's facts (or those of the captured files under ``proc_root``)."""
    name = hostname
    if name is None:
        name = _read(os.path.join(proc_root, "sys", "kernel", "hostname")).strip()
        name = name or os.uname().nodename
    level = None
    if os_name == "linux" and arch == "x86_64":
        flags = cpuinfo_flags(_read(os.path.join(proc_root, "cpuinfo")))
        level = f"x86-64-v{x86_level(flags)}" if flags else None
    elif os_name == "macos" and arch == "arm64":
        brand = apple_brand if apple_brand is not None else sysctl_value("machdep.cpu.brand_string")
        generation = apple_generation(brand)
        level = f"apple-m{generation}" if generation else None
    nvidia = None
    if os_name == "linux":
        nvidia = nvidia_driver(_read(os.path.join(proc_root, "driver", "nvidia", "version")))
    return MachineFacts(name, level, nvidia, glibc)
