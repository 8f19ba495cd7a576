"""Every shell's startup block chooses the installation Python chooses (issue 14): match rules
from captured /proc texts and host names, ``CONDASHARE_INSTALLATION`` forcing one,
``CONDASHARE_PLATFORM`` replacing uname, in bash, zsh, dash, tcsh and fish, with hostile
installation names and prefixes. The expected choice is always the Python side's for the same
inputs (the host facts read from the same captured proc directory)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, need, need_shell
from support.shellrun import NOISE, fake_uname, make_installation, toml_str
from test_site_rules import AVX512, DATA, TWO_CLUSTERS, fake_proc

from condashare.host.detect import HostInputs, PlatformError, detect_host, glibc_version
from condashare.host.machine import nvidia_driver
from condashare.shells.dialects import DIALECTS
from condashare.site.file import Site, parse_site
from condashare.site.installations import choose_installation
from condashare.startup import render_block

pytestmark = pytest.mark.shells

SHELLS = ["bash", "zsh", "dash", "tcsh", "fish"]
DIALECT_OF = {"bash": "posix", "zsh": "posix", "dash": "posix", "tcsh": "csh", "fish": "fish"}
HOSTILE_NAME = 'we\'ird $(x) "n" `y`'
HOSTILE_DIR = 'it\'s a $HOME "dir" `z` !1'


def python_choice(site: Site, env: dict[str, str], proc: Path) -> str | None:
    """The prefix condashare's Python side chooses on a Linux x86_64 machine with these facts
    (None: none, or a CONDASHARE_PLATFORM that names no platform)."""
    inputs = HostInputs("Linux", "x86_64", env, glibc=glibc_version(), mounts=[],
                        proc_root=str(proc))  # fmt: skip
    try:
        host = detect_host(inputs)
    except PlatformError:
        return None
    chosen = choose_installation(site, host.platform, host.facts, env).installation
    return None if chosen is None else chosen.prefix


@dataclass(frozen=True)
class Start:
    """How a test starts the shell beyond the defaults: the C library file the block's glibc
    cache follows, the rc file's lines before the block and the commands after it, and a
    command the shell runs under (a private mount namespace)."""

    libc: Path | None = None
    before: str = ""
    after: str = "printenv CONDA_EXE\n"
    wrap: tuple[str, ...] = ()


def block_choice(
    tmp: Path, shell: str, site: Site, proc: Path, extra: dict[str, str], interactive: bool = False,
    how: Start = Start(),
) -> tuple[str | None, str]:  # fmt: skip
    """The prefix the shell's block set up (from CONDA_EXE, which the installation's startup
    file sets), and the shell's stderr without terminal noise."""
    mine = type(DIALECTS[DIALECT_OF[shell]])()
    mine.proc_root = str(proc)
    if how.libc is not None:
        mine.libc_files = (str(how.libc),)
    rc = tmp / f"rc.{DIALECT_OF[shell]}"
    rc.write_bytes(how.before.encode() + render_block(site, mine))
    bindir = fake_uname(tmp / "bin", "Linux", "x86_64")
    env = {"HOME": str(tmp), "PATH": f"{bindir}:/usr/bin:/bin", **extra}
    source = "source" if shell in ("tcsh", "fish") else "."
    script = f"{source} '{rc}'\n{how.after}"
    argv = [*how.wrap, need_shell(shell)]
    if interactive:
        argv.append("-i")
    if shell == "tcsh":
        argv.append("-f")
    if shell == "tcsh" and interactive:
        out = subprocess.run(argv, input=script + "exit\n", capture_output=True, text=True,
                             env=env, timeout=60, cwd=tmp)  # fmt: skip
    else:
        out = subprocess.run([*argv, "-c", script], capture_output=True, text=True, env=env,
                             timeout=60, cwd=tmp, stdin=subprocess.DEVNULL)  # fmt: skip
    lines = [ln for ln in out.stdout.splitlines() if ln.endswith("/bin/conda")]
    err = "\n".join(ln for ln in out.stderr.splitlines() if not any(n in ln for n in NOISE))
    return (lines[-1].removesuffix("/bin/conda") if lines else None), err.strip()


def two_clusters(tmp: Path) -> Site:
    site = parse_site(TWO_CLUSTERS.replace("/nfs/cpkgs", str(tmp / "cpkgs")), "site.toml")
    for inst in site.installations:
        make_installation(Path(inst.prefix), inst.name)
    return site


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    ("host", "cpu_extra", "nvidia", "env", "expected"),
    [
        ("gpu07", "", True, {}, "gpu"),
        ("gpu07.cluster.example", "", True, {}, "gpu"),
        ("gpu07", "", False, {}, "linux"),
        ("login1", "", True, {}, "linux"),
        ("node3", AVX512, False, {}, "avx512"),
        # forced: the rules say gpu, the variable says avx512 (whose own rules do not hold)
        ("gpu07", "", True, {"CONDASHARE_INSTALLATION": "avx512"}, "avx512"),
        ("gpu07", "", True, {"CONDASHARE_INSTALLATION": " \tlinux\n"}, "linux"),
        ("gpu07", "", True, {"CONDASHARE_INSTALLATION": "mac"}, "mac"),  # another OS, forced
        ("gpu07", "", True, {"CONDASHARE_INSTALLATION": "nope"}, None),
        ("gpu07", "", True, {"CONDASHARE_INSTALLATION": "   "}, "gpu"),  # blank: not set
        # the platform named instead of uname's: an arm64 Linux has no CPU-level facts
        ("gpu07", "", True, {"CONDASHARE_PLATFORM": "linux-aarch64"}, "linux"),
        ("node3", AVX512, False, {"CONDASHARE_PLATFORM": " Linux - X86_64 "}, "avx512"),
        ("gpu07", "", True, {"CONDASHARE_PLATFORM": "macos-arm64"}, None),  # mac needs M2
        ("gpu07", "", True, {"CONDASHARE_PLATFORM": "windows-x86_64"}, None),
        ("gpu07", "", True, {"CONDASHARE_PLATFORM": "linux"}, None),
        # a broken platform is an error even when an installation is forced
        ("gpu07", "", True, {"CONDASHARE_PLATFORM": "bad", "CONDASHARE_INSTALLATION": "gpu"}, None),
    ],
)
def test_block_chooses_what_python_chooses(tmp_path, shell, host, cpu_extra, nvidia, env,
                                           expected):  # fmt: skip
    site = two_clusters(tmp_path)
    proc = fake_proc(tmp_path / "proc", host, cpu_extra, nvidia)
    want = python_choice(site, env, proc)
    named = {i.name: i.prefix for i in site.installations}
    assert want == (named[expected] if expected else None)  # the cases say what Python says
    got, err = block_choice(tmp_path, shell, site, proc, env)
    assert got == want, err
    assert err == ""  # a shell that is not interactive stays silent


def hostile_site(tmp: Path) -> Site:
    weird = tmp / HOSTILE_DIR / "lin"
    plain, mac = tmp / "plain", tmp / "mac"
    text = (
        f"[[installations]]\nname = {toml_str(HOSTILE_NAME)}\nprefix = {toml_str(str(weird))}\n"
        'os = "linux"\narch = ["x86_64"]\nmatch = { hosts = ["gpu*"] }\n'
        f'[[installations]]\nname = "plain"\nprefix = {toml_str(str(plain))}\nos = "linux"\n'
        f'[[installations]]\nname = "m1"\nprefix = {toml_str(str(mac))}\nos = "macos"\n'
        'arch = ["arm64"]\n'
    )
    site = parse_site(text, "site.toml")
    for inst in site.installations:
        make_installation(Path(inst.prefix), inst.name)
    return site


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    ("host", "env", "expected"),
    [
        ("gpu07", {}, 0),
        ("login1", {}, 1),
        ("login1", {"CONDASHARE_INSTALLATION": HOSTILE_NAME}, 0),
        ("gpu07", {"CONDASHARE_INSTALLATION": "we'ird"}, None),
        ("gpu07", {"CONDASHARE_INSTALLATION": "$(touch pwned)"}, None),
        ("gpu07", {"CONDASHARE_INSTALLATION": "  m1\t"}, 2),
        ("gpu07", {"CONDASHARE_INSTALLATION": "\u00a0plain"}, None),  # only ASCII blanks go
        ("gpu07", {"CONDASHARE_PLATFORM": "osx-arm64"}, 2),
        ("gpu07", {"CONDASHARE_PLATFORM": "Darwin-AArch64"}, 2),
        # a Rosetta shell says x86_64 and gets the arm64 installation; a platform saying
        # macos-x86_64 is taken at its word, as Python takes it
        ("gpu07", {"CONDASHARE_PLATFORM": "macos-x86_64"}, None),
        ("gpu07", {"CONDASHARE_PLATFORM": "`touch pwned`-x86_64"}, None),
    ],
)
def test_hostile_names_prefixes_and_values(tmp_path, shell, host, env, expected):
    site = hostile_site(tmp_path)
    proc = fake_proc(tmp_path / "proc", host)
    want = python_choice(site, env, proc)
    assert want == (None if expected is None else site.installations[expected].prefix)
    got, err = block_choice(tmp_path, shell, site, proc, env)
    assert got == want, err
    assert err == ""
    assert not (tmp_path / "pwned").exists()  # values are matched, never evaluated


@pytest.mark.parametrize("shell", SHELLS)
def test_interactive_shells_say_why_conda_is_not_set_up(tmp_path, shell):
    site = hostile_site(tmp_path)
    proc = fake_proc(tmp_path / "proc", "gpu07")
    env = {"CONDASHARE_INSTALLATION": "nope"}
    got, err = block_choice(tmp_path, shell, site, proc, env, interactive=True)
    assert got is None
    assert "condashare: CONDASHARE_INSTALLATION=nope: no such installation" in err
    assert '(we\'ird $(x) "n" `y`, plain, m1); conda is not set up in this shell' in err
    bad = {"CONDASHARE_PLATFORM": "vms-\x1b[31mvax"}
    got, err = block_choice(tmp_path, shell, site, proc, bad, interactive=True)
    assert got is None
    assert "CONDASHARE_PLATFORM=(a value with unusual characters) is not a platform" in err
    assert "\x1b" not in err  # the escape sequence never reaches the terminal
    intel = {"CONDASHARE_PLATFORM": "macos-x86_64"}
    got, err = block_choice(tmp_path, shell, site, proc, intel, interactive=True)
    assert got is None and "condashare: no shared conda installation for Darwin x86_64" in err


GLIBC_SITE = """
[[installations]]
name = "new"
prefix = "{root}/new"
os = "linux"
match = {{ hosts = ["gpu*"], glibc = "2.28" }}
[[installations]]
name = "v4"
prefix = "{root}/v4"
os = "linux"
match = {{ cpu = "x86-64-v4" }}
[[installations]]
name = "old"
prefix = "{root}/old"
os = "linux"
"""


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    ("host", "glibc", "expected", "asked"),
    [
        ("gpu07", "2.36", "new", True),
        ("gpu07", "2.17", "old", True),
        ("login1", "2.36", "old", False),  # the only glibc rule is in an arm the host fails
    ],
)
def test_glibc_is_asked_only_when_an_arm_that_needs_it_is_reached(
    tmp_path, shell, host, glibc, expected, asked
):
    """getconf (a fork) runs only for the first installation whose other rules hold and that
    has a glibc rule; its answer decides as Python's glibc version does."""
    site = parse_site(GLIBC_SITE.format(root=tmp_path), "site.toml")
    for inst in site.installations:
        make_installation(Path(inst.prefix), inst.name)
    proc = fake_proc(tmp_path / "proc", host)
    asked_file = tmp_path / "getconf-ran"
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    getconf = bindir / "getconf"
    getconf.write_text(f"#!/bin/sh\n: > '{asked_file}'\necho 'glibc {glibc}'\n")
    getconf.chmod(0o755)
    inputs = HostInputs("Linux", "x86_64", {}, glibc=glibc, mounts=[], proc_root=str(proc))
    host_facts = detect_host(inputs)
    chosen = choose_installation(site, host_facts.platform, host_facts.facts, {}).installation
    assert chosen is not None and chosen.name == expected
    got, err = block_choice(tmp_path, shell, site, proc, {})
    assert got == chosen.prefix, err
    assert asked_file.exists() == asked


NVIDIA_TEXTS = [
    ((DATA / "nvidia-version-384.txt").read_text(), True),
    ((DATA / "nvidia-version-565-open.txt").read_text(), True),
    ("NVRM version: NVIDIA UNIX x86_64 Kernel Module\t470.239.06  Wed Feb 28 2024", True),
    ("GCC version:  gcc 12\nNVRM version: NVIDIA UNIX x86_64 Kernel Module  535.1\n", True),
    # readable, but no driver version: no GPU
    ("", False),
    ("NVRM version: NVIDIA UNIX x86_64 Kernel Module\n", False),
    ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  n/a  Thu Oct 26 2017\n", False),
    ("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  565  Release Build\n", False),
    ("NVRM version: NVIDIA UNIX Kernel Module for  565.57.01\n", False),
    ("GCC version:  gcc version 13.3.0 (Ubuntu 13.3.0-6ubuntu2~24.04)\n", False),
]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("text", "loaded"), NVIDIA_TEXTS, ids=range(len(NVIDIA_TEXTS)))
def test_gpu_rule_needs_the_driver_version_in_python_and_in_the_block(tmp_path, shell, text,
                                                                       loaded):  # fmt: skip
    """The GPU installation is chosen on gpu07 only when the version file names a driver
    version, by Python's regex and by the block's built-in read alike."""
    site = two_clusters(tmp_path)
    proc = fake_proc(tmp_path / "proc", "gpu07", nvidia=True)
    (proc / "driver" / "nvidia" / "version").write_text(text)
    assert (nvidia_driver(text) is not None) == loaded
    want = python_choice(site, {}, proc)
    assert want == site.installations[0 if loaded else 2].prefix  # gpu, else linux
    got, err = block_choice(tmp_path, shell, site, proc, {})
    assert (got, err) == (want, "")


@pytest.mark.parametrize("shell", ["bash", "dash", "zsh"])
@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [("CONDASHARE_INSTALLATION", "avx512", "avx512"), ("CONDASHARE_PLATFORM", "linux-aarch64",
                                                        "linux")],
)  # fmt: skip
def test_an_override_set_without_export_reaches_condashare_info(tmp_path, shell, variable, value,
                                                                 expected):  # fmt: skip
    """A user's rc file sets the variable as a shell variable before the block: the block obeys
    it and exports it, so `condashare info` run from that shell chooses the same installation
    (here the choice does not depend on this machine's own facts, which info reads)."""
    site = two_clusters(tmp_path)
    site_file = tmp_path / "site.toml"
    site_file.write_text(TWO_CLUSTERS.replace("/nfs/cpkgs", str(tmp_path / "cpkgs")))
    proc = fake_proc(tmp_path / "proc", "gpu07", nvidia=True)
    after = (
        f"printenv {variable} > seen\n"
        f"'{sys.executable}' -m condashare info --site '{site_file}' --json > info.json\n"
        "printenv CONDA_EXE\n"
    )
    how = Start(before=f"{variable}={value}\n", after=after)
    got, err = block_choice(tmp_path, shell, site, proc, {"PYTHONPATH": str(REPO)}, how=how)
    named = {inst.name: inst.prefix for inst in site.installations}
    assert (got, err) == (named[expected], "")
    assert (tmp_path / "seen").read_text() == value + "\n"
    doc = json.loads((tmp_path / "info.json").read_text())
    assert doc["data"]["choice"]["installation"]["name"] == expected


KERNEL_SITE = """
[[installations]]
name = "from-proc"
prefix = "{root}/arm"
os = "linux"
arch = ["aarch64"]
[[installations]]
name = "from-uname"
prefix = "{root}/ppc"
os = "linux"
arch = ["ppc64le"]
"""


def tripwire_uname(bindir: Path, ran: Path) -> str:
    """A ``uname`` that records it ran and answers Linux ppc64le: the rc line putting it first."""
    fake_uname(bindir, "Linux", "ppc64le")
    real = bindir / "uname"
    real.rename(bindir / "uname-answer")
    real.write_text(f"#!/bin/sh\n: > '{ran}'\nexec '{bindir}/uname-answer' \"$@\"\n")
    real.chmod(0o755)
    return f"PATH='{bindir}':$PATH\n"


@pytest.mark.parametrize(
    ("shell", "hosttype", "arch_file", "expected"),
    [
        # bash built for the kernel's architecture: /proc/sys/kernel says Linux aarch64
        ("bash", "aarch64", True, "from-proc"),
        # bash built for another machine (as under qemu-user): its uname decides
        ("bash", "x86_64", True, "from-uname"),
        # a kernel before 6.1 has no sys/kernel/arch: uname decides
        ("bash", "aarch64", False, "from-uname"),
        # zsh asks the uname first on PATH when it is not the system's; dash always asks
        ("zsh", "aarch64", True, "from-uname"),
        ("dash", "aarch64", True, "from-uname"),
    ],
)
def test_bash_takes_the_platform_from_proc_only_when_it_is_its_own(
    tmp_path, shell, hosttype, arch_file, expected
):
    """No uname process in bash where /proc/sys/kernel names its own architecture; uname's
    answer everywhere else."""
    site = parse_site(KERNEL_SITE.format(root=tmp_path), "site.toml")
    for inst in site.installations:
        make_installation(Path(inst.prefix), inst.name)
    proc = fake_proc(tmp_path / "proc", "node1")
    (proc / "sys/kernel/ostype").write_text("Linux\n")
    if arch_file:
        (proc / "sys/kernel/arch").write_text("aarch64\n")
    ran = tmp_path / "uname-ran"
    before = tripwire_uname(tmp_path / "tripwire", ran)
    got, err = block_choice(tmp_path, shell, site, proc, {"HOSTTYPE": hosttype},
                            how=Start(before=before))  # fmt: skip
    named = {i.name: i.prefix for i in site.installations}
    assert got == named[expected], err
    assert ran.exists() == (expected == "from-uname")


def traced_start(tmp_path: Path, shell: str, before: str = "") -> list[str]:
    """The block for this machine as users get it (the real /proc and uname, PATH=/usr/bin:/bin)
    sourced by ``shell`` under strace, which must set conda up: every program that started."""
    strace = shutil.which("strace")
    need(strace is not None, "strace is not installed")
    machine = os.uname().machine
    prefix = tmp_path / "here"
    make_installation(prefix, "here")
    site = parse_site(f'[[installations]]\nname = "here"\nprefix = {toml_str(str(prefix))}\n'
                      f'os = "linux"\narch = [{toml_str(machine)}]\n', "site.toml")  # fmt: skip
    rc = tmp_path / "rc.sh"
    rc.write_bytes(before.encode() + render_block(site, "posix"))
    trace = tmp_path / "trace"
    out = subprocess.run(
        [str(strace), "-f", "-qq", "-e", "trace=execve", "-o", str(trace), need_shell(shell),
         "-c", f". '{rc}'\nprintenv CONDA_EXE"],
        capture_output=True, text=True, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert out.stdout.strip() == f"{prefix}/bin/conda", out.stderr
    started = re.findall(r'execve\("([^"]*)"', trace.read_text())
    return [os.path.basename(path) for path in started]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_bash_and_zsh_start_no_uname_on_this_machine(tmp_path, shell):
    """bash (from /proc/sys/kernel, Linux 6.1 and later) and zsh (its $CPUTYPE and $OSTYPE, the
    system's uname first on PATH) set conda up without a uname process; dash still asks it."""
    if shell == "bash" and not Path("/proc/sys/kernel/arch").exists():
        pytest.skip("this kernel has no /proc/sys/kernel/arch (before Linux 6.1)")
    assert "uname" not in traced_start(tmp_path, shell)
    assert "uname" in traced_start(tmp_path / "dash", "dash")


def test_zsh_asks_uname_when_cputype_is_not_its_own(tmp_path):
    """A startup file that set CPUTYPE (not the machine zsh was built for): uname answers."""
    assert "uname" in traced_start(tmp_path, "zsh", before="CPUTYPE=pentium4\n")
