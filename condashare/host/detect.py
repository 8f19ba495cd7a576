"""What machine is this: OS, architecture, Rosetta, distro, glibc, login shell, home.

Every input (uname values, environment, the root of ``/etc``, the mount table) can be passed in,
so the macOS branches run on a Linux test machine. The OS is decided here and nowhere else.
"""

from __future__ import annotations

import os
import platform
import pwd
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from condashare.errors import CondashareError
from condashare.host.mounts import Mount, mount_for, read_mount_table

if TYPE_CHECKING:
    from condashare.host.machine import MachineFacts

OSES = ("linux", "macos")

# Canonical architecture names, with the spellings uname, conda and users use for them.
# The one table of architecture spellings. Each canonical name: what `uname -m` prints for it
# (Linux says aarch64 where macOS says arm64), then other names people, site files and conda
# subdirs (linux-64, linux-32) use.
ARCHITECTURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "x86_64": (("x86_64", "amd64"), ("x64", "64")),
    "arm64": (("arm64", "aarch64"), ()),
    "x86": (("i386", "i486", "i586", "i686", "x86"), ("32",)),
    "ppc64le": (("ppc64le",), ()),
    "s390x": (("s390x",), ()),
    "armv7l": (("armv7l",), ()),
    "riscv64": (("riscv64",), ()),
}
ARCH_ALIASES = {
    name: canonical
    for canonical, (uname, other) in ARCHITECTURES.items()
    for name in (canonical, *uname, *other)
}


def uname_spellings(arch: str) -> tuple[str, ...]:
    """What ``uname -m`` may print on a machine of canonical architecture ``arch``."""
    return ARCHITECTURES[arch][0] if arch in ARCHITECTURES else (arch,)


OS_ALIASES = {"linux": "linux", "macos": "macos", "osx": "macos", "darwin": "macos"}
# The blanks a setting may have around it (CONDASHARE_PLATFORM, CONDASHARE_INSTALLATION): ASCII
# only, so the startup blocks, which strip the same ones with built-ins, read a value alike.
BLANKS = " \t\n\r\v\f"


def env_setting(env: Mapping[str, str], name: str) -> str:
    """A condashare environment setting without surrounding blanks ("" when unset)."""
    return env.get(name, "").strip(BLANKS)


class PlatformError(CondashareError, ValueError):
    """A platform string (``CONDASHARE_PLATFORM``, a site file value) that names no platform."""


def normalize_arch(value: str) -> str:
    """Map ``aarch64``/``arm64``, ``amd64``/``x86_64`` ... to one canonical name."""
    key = value.strip(BLANKS).lower()
    if key not in ARCH_ALIASES:
        known = ", ".join(sorted({v for v in ARCH_ALIASES.values()}))
        raise PlatformError(f"unknown architecture {value!r} (known: {known})")
    return ARCH_ALIASES[key]


def normalize_os(value: str) -> str:
    """Map ``Darwin``/``osx``/``macos`` and ``Linux`` to ``macos`` / ``linux``."""
    key = value.strip(BLANKS).lower()
    if key not in OS_ALIASES:
        raise PlatformError(f"unknown OS {value!r} (expected linux or macos)")
    return OS_ALIASES[key]


@dataclass(frozen=True)
class Platform:
    """An OS and a CPU architecture, e.g. ``macos-arm64``."""

    os: str
    arch: str

    def __str__(self) -> str:
        return f"{self.os}-{self.arch}"

    @property
    def conda_subdir(self) -> str:
        """The conda ``subdir`` (``linux-64``, ``osx-arm64`` ...) of this platform."""
        if self.os == "macos":
            return "osx-64" if self.arch == "x86_64" else f"osx-{self.arch}"
        linux_arch = {"x86_64": "64", "x86": "32", "arm64": "aarch64"}
        return f"linux-{linux_arch.get(self.arch, self.arch)}"


def parse_platform(value: str) -> Platform:
    """Parse ``macos-arm64``, ``linux-x86_64`` or a conda subdir such as ``osx-64``."""
    text = value.strip(BLANKS)
    os_part, sep, arch_part = text.partition("-")
    if not sep or not os_part or not arch_part:
        raise PlatformError(
            f"invalid platform {value!r}: expected OS-ARCH such as linux-x86_64 or macos-arm64"
        )
    return Platform(os=normalize_os(os_part), arch=normalize_arch(arch_part))


@dataclass(frozen=True)
class HostInputs:
    """Raw facts about the machine: tests pass their own, :func:`gather_inputs` reads them."""

    system: str  # uname -s
    machine: str  # uname -m
    env: Mapping[str, str]
    rosetta: bool = False  # sysctl.proc_translated == 1
    os_release_root: str = "/"
    mac_version: str = ""
    glibc: str | None = None
    passwd_shell: str | None = None
    passwd_home: str | None = None
    mounts: Sequence[Mount] | None = None
    proc_root: str = "/proc"  # /proc/cpuinfo, driver/nvidia/version, sys/kernel/hostname
    hostname: str | None = None  # None: the kernel's
    apple_brand: str | None = None  # machdep.cpu.brand_string; None: ask sysctl when needed


@dataclass(frozen=True)
class Host:
    """The machine condashare runs on, as the rest of the library needs it."""

    platform: Platform
    platform_source: str  # "detected" or "CONDASHARE_PLATFORM"
    machine: str
    rosetta: bool
    distro_id: str
    distro_version: str
    distro_name: str
    glibc: str | None
    login_shell: str | None
    home: str
    home_mount: Mount | None
    notes: tuple[str, ...] = field(default=())
    proc_root: str = "/proc"
    hostname: str | None = None
    apple_brand: str | None = None

    def facts(self) -> MachineFacts:
        """What site-file match rules test (read when asked: only rules need it)."""
        from condashare.host.machine import gather_facts

        return gather_facts(
            self.os, self.arch, self.glibc, self.proc_root, self.hostname, self.apple_brand
        )

    @property
    def os(self) -> str:
        return self.platform.os

    @property
    def arch(self) -> str:
        return self.platform.arch


def sysctl_value(name: str) -> str:
    """``sysctl -n NAME`` on macOS ("" when it cannot tell)."""
    try:
        return subprocess.run(
            ["/usr/sbin/sysctl", "-n", name],
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _detect_rosetta() -> bool:
    """True when this process is an x86_64 binary translated by Rosetta 2 on Apple silicon."""
    return sysctl_value("sysctl.proc_translated") == "1"


def glibc_version() -> str | None:
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError, AttributeError):
        return None
    if value and value.startswith("glibc "):
        return value.split(" ", 1)[1]
    return None


def gather_inputs(env: Mapping[str, str] | None = None) -> HostInputs:
    """Read the real machine's facts (never touches a network filesystem)."""
    uname = os.uname()
    system = uname.sysname
    try:
        entry = pwd.getpwuid(os.getuid())
        passwd_shell: str | None = entry.pw_shell
        passwd_home: str | None = entry.pw_dir
    except KeyError:
        passwd_shell = passwd_home = None
    return HostInputs(
        system=system,
        machine=uname.machine,
        env=dict(os.environ if env is None else env),
        rosetta=_detect_rosetta() if system == "Darwin" else False,
        mac_version=platform.mac_ver()[0] if system == "Darwin" else "",
        glibc=glibc_version() if system == "Linux" else None,
        passwd_shell=passwd_shell,
        passwd_home=passwd_home,
    )


def _distro_facts(inputs: HostInputs, os_name: str) -> tuple[str, str, str]:
    if os_name == "macos":
        return "macos", inputs.mac_version, f"macOS {inputs.mac_version}".strip()
    import distro  # imported lazily: only `info`-like commands need it

    dist = distro.LinuxDistribution(
        include_lsb=False,
        include_uname=False,
        include_oslevel=False,
        root_dir=inputs.os_release_root if inputs.os_release_root != "/" else None,
    )
    return dist.id(), dist.version(), dist.name(pretty=True)


def detect_host(inputs: HostInputs | None = None) -> Host:
    """Describe the host; ``CONDASHARE_PLATFORM`` overrides OS and arch (PlatformError if bad)."""
    inputs = inputs or gather_inputs()
    notes: list[str] = []
    override = env_setting(inputs.env, "CONDASHARE_PLATFORM")
    if override:
        try:
            plat = parse_platform(override)
        except PlatformError as exc:
            raise PlatformError(f"CONDASHARE_PLATFORM: {exc}") from None
        source = "CONDASHARE_PLATFORM"
    else:
        os_name = normalize_os(inputs.system)
        machine = inputs.machine
        if os_name == "macos" and inputs.rosetta:
            # Under Rosetta uname -m says x86_64, but the hardware (and the right install) is arm64.
            notes.append("running under Rosetta 2 translation: the CPU is Apple silicon (arm64)")
            machine = "arm64"
        plat = Platform(os=os_name, arch=normalize_arch(machine))
        source = "detected"
    distro_id, distro_version, distro_name = _distro_facts(inputs, plat.os)
    home = inputs.env.get("HOME") or inputs.passwd_home or "/"
    mounts = inputs.mounts if inputs.mounts is not None else read_mount_table()
    return Host(
        platform=plat,
        platform_source=source,
        machine=inputs.machine,
        rosetta=inputs.rosetta,
        distro_id=distro_id,
        distro_version=distro_version,
        distro_name=distro_name,
        glibc=inputs.glibc if plat.os == "linux" else None,
        login_shell=inputs.env.get("SHELL") or inputs.passwd_shell,
        home=home,
        home_mount=mount_for(home, mounts),
        notes=tuple(notes),
        proc_root=inputs.proc_root,
        hostname=inputs.hostname,
        apple_brand=inputs.apple_brand,
    )


def shell_name(shell_path: str | None) -> str | None:
    """``/usr/bin/zsh`` -> ``zsh``; ``-bash`` (login argv0) -> ``bash``."""
    if not shell_path:
        return None
    return Path(shell_path).name.lstrip("-") or None
