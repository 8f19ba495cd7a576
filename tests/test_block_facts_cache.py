"""The startup block's per-host facts cache (issue 14): a warm shell start whose rules need the
CPU level and glibc forks nothing. Real shells; the facts from a captured proc directory; the C
library is a test file whose mtime the test sets; getconf, mkdir and touch are wrappers first
on PATH that log that they ran (the evidence that a start forked, or did not)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import need
from support.shellrun import make_installation
from test_block_choice import SHELLS, Start, block_choice
from test_site_rules import EPYC, fake_proc

from condashare.host.detect import HostInputs, detect_host
from condashare.host.dirs import host_facts_file
from condashare.site.file import parse_site
from condashare.site.installations import choose_installation

pytestmark = pytest.mark.shells

SITE = """
[[installations]]
name = "fast"
prefix = "{root}/fast"
os = "linux"
match = {{ cpu = "x86-64-v3", glibc = "2.28" }}
[[installations]]
name = "plain"
prefix = "{root}/plain"
os = "linux"
"""
BOOT = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
LIBC_TIME = 1_700_000_000  # the test C library's mtime (a package's build time, whole seconds)
STRICT = {
    "bash": "set -eu\n",
    "dash": "set -eu\n",
    "zsh": "set -u\nsetopt KSH_ARRAYS SH_WORD_SPLIT GLOB_SUBST NO_MULTIOS ERR_EXIT NO_CLOBBER\n",
}


@dataclass
class Machine:
    """One Linux x86_64 host: its proc files, C library, PATH wrappers and home."""

    tmp: Path
    host: str = "node1"

    def __post_init__(self) -> None:
        self.site = parse_site(SITE.format(root=self.tmp), "site.toml")
        for inst in self.site.installations:
            make_installation(Path(inst.prefix), inst.name)
        self.proc = fake_proc(self.tmp / "proc", self.host)
        (self.proc / "sys" / "kernel" / "random").mkdir()
        self.boot(BOOT)
        self.libc = self.tmp / "lib" / "libc.so.6"
        self.libc.parent.mkdir()
        self.libc.write_bytes(b"\x7fELF")
        self.set_libc_time(LIBC_TIME)
        self.glibc("2.36")
        self.log = self.tmp / "ran"
        bindir = self.tmp / "bin"
        bindir.mkdir()
        (bindir / "getconf").write_text(
            f"#!/bin/sh\necho getconf >> '{self.log}'\necho \"glibc $(cat '{self.tmp}/glibc')\"\n"
        )
        for prog in ("mkdir", "touch"):
            real = shutil.which(prog)
            (bindir / prog).write_text(
                f"#!/bin/sh\necho {prog} >> '{self.log}'\nexec {real} \"$@\"\n"
            )
        for prog in bindir.iterdir():
            prog.chmod(0o755)

    def boot(self, boot_id: str) -> None:
        (self.proc / "sys" / "kernel" / "random" / "boot_id").write_text(boot_id + "\n")

    def glibc(self, version: str) -> None:
        """What getconf answers from now on (and Python's glibc in :meth:`python`)."""
        (self.tmp / "glibc").write_text(version)
        self.version = version

    def cpu_v2(self) -> None:
        (self.proc / "cpuinfo").write_text(EPYC.replace(" avx2 ", " "))

    def set_libc_time(self, when: int) -> None:
        os.utime(self.libc, (when, when))

    @property
    def facts(self) -> Path:
        return Path(host_facts_file({"HOME": str(self.tmp)}, self.host))

    def python(self) -> str:
        """The installation condashare's Python side chooses with these facts."""
        inputs = HostInputs("Linux", "x86_64", {}, glibc=self.version, mounts=[],
                            proc_root=str(self.proc))  # fmt: skip
        host = detect_host(inputs)
        chosen = choose_installation(self.site, host.platform, host.facts, {}).installation
        assert chosen is not None
        return chosen.name

    def start(
        self, shell: str, env: dict[str, str] | None = None, how: Start | None = None
    ) -> tuple[str | None, list[str], str]:
        """A shell start: the installation it set up, the programs the block ran, stderr."""
        self.log.unlink(missing_ok=True)
        how = Start(self.libc) if how is None else Start(self.libc, how.before, how.after, how.wrap)
        got, err = block_choice(self.tmp, shell, self.site, self.proc, env or {}, how=how)
        ran = self.log.read_text().split() if self.log.exists() else []
        named = {inst.prefix: inst.name for inst in self.site.installations}
        return (named.get(got) if got else None), ran, err


@pytest.mark.parametrize("shell", SHELLS)
def test_cold_start_writes_the_cache_and_a_warm_start_forks_nothing(tmp_path, shell):
    m = Machine(tmp_path)
    assert m.python() == "fast"
    how = Start(before=STRICT.get(shell, ""))
    assert m.start(shell, how=how) == ("fast", ["getconf", "mkdir", "touch"], "")
    assert m.facts.read_text() == f"x86-level {BOOT} 3 end\nglibc 2.36 end\n"
    assert m.facts.stat().st_mtime == LIBC_TIME  # the C library's, copied
    assert m.start(shell, how=how) == ("fast", [], "")
    (m.proc / "cpuinfo").unlink()  # the level is this boot's: the warm start does not read it
    assert m.start(shell, how=how) == ("fast", [], "")


@pytest.mark.parametrize("shell", SHELLS)
def test_a_changed_c_library_is_asked_again(tmp_path, shell):
    m = Machine(tmp_path)
    assert m.start(shell)[0] == "fast"
    m.glibc("2.17")  # a distribution upgrade, or a container with its own glibc
    m.set_libc_time(LIBC_TIME + 86400)
    assert m.python() == "plain"
    assert m.start(shell) == ("plain", ["getconf", "touch"], "")
    assert m.facts.read_text() == f"x86-level {BOOT} 3 end\nglibc 2.17 end\n"
    assert m.start(shell) == ("plain", [], "")
    m.set_libc_time(LIBC_TIME - 1)  # older, as when the host's glibc is seen again
    m.glibc("2.36")
    assert m.start(shell) == ("fast", ["getconf", "touch"], "")


@pytest.mark.parametrize("shell", SHELLS)
def test_a_new_boot_reads_the_cpu_again(tmp_path, shell):
    m = Machine(tmp_path)
    assert m.start(shell)[0] == "fast"
    m.cpu_v2()  # the same host name and home, another CPU (a node rebuilt, a VM moved)
    m.boot("1a2b3c4d-0000-4000-8000-000000000001")
    assert m.python() == "plain"
    # the glibc line is still good and kept: the rewrite copies the C library's mtime again
    assert m.start(shell) == ("plain", ["touch"], "")
    assert m.facts.read_text() == (
        "x86-level 1a2b3c4d-0000-4000-8000-000000000001 2 end\nglibc 2.36 end\n"
    )
    assert m.start(shell) == ("plain", [], "")


CORRUPT = [
    b"",
    b"garbage\n\x00\xff\x1b[31m\n",
    f"x86-level {BOOT} 1 en\nglibc 2.36 end\n".encode(),  # cut short: level 1 would lose fast
    f"x86-level {BOOT} 1 end junk\nglibc 2.36 end\n".encode(),
    f"x86-level {BOOT} 7 end\nglibc 2.36 end\n".encode(),
    f"x86-level {BOOT} 3 end\nglibc 2.1".encode(),  # cut short: 2.1 < 2.28 would lose fast
    f"x86-level {BOOT} 3 end\nglibc 2..36 end\n".encode(),
    f"x86-level {BOOT} 3 end\nglibc $(touch {{pwned}}) end\n".encode(),
    f"x86-level {BOOT} 3 end\nglibc `touch {{pwned}}` end\n".encode(),
    b"x86-level $(touch {pwned}) 3 end\nglibc 2.36 end\n",
    b"x" * 100_000,
]


@pytest.mark.parametrize("shell", ["bash", "dash", "zsh", "fish"])
@pytest.mark.parametrize("content", CORRUPT, ids=range(len(CORRUPT)))
def test_a_corrupt_cache_is_a_miss(tmp_path, shell, content):
    m = Machine(tmp_path)
    pwned = tmp_path / "pwned"
    m.facts.parent.mkdir(parents=True)
    m.facts.write_bytes(content.replace(b"{pwned}", str(pwned).encode()))
    m.set_libc_time(LIBC_TIME)
    os.utime(m.facts, (LIBC_TIME, LIBC_TIME))  # the glibc line would count, if it parsed
    got, ran, err = m.start(shell, how=Start(before=STRICT.get(shell, "")))
    assert (got, err) == ("fast", "")
    assert not pwned.exists()  # the cache's words are compared, never evaluated
    if b"glibc 2.36 end\n" not in content:
        assert ran == ["getconf", "touch"]
    assert m.facts.read_text() == f"x86-level {BOOT} 3 end\nglibc 2.36 end\n"  # rewritten


def test_an_old_glibc_line_with_another_mtime_is_not_believed(tmp_path):
    m = Machine(tmp_path)
    m.facts.parent.mkdir(parents=True)
    m.facts.write_text(f"x86-level {BOOT} 3 end\nglibc 2.1 end\n")  # written, not touched
    assert m.start("bash") == ("fast", ["getconf", "touch"], "")


@pytest.mark.parametrize("shell", ["bash", "dash", "zsh", "tcsh"])
@pytest.mark.parametrize("kind", ["symlink", "directory", "fifo"])
def test_a_cache_path_that_is_not_a_plain_file_is_left_alone(tmp_path, shell, kind):
    """A symlink is not followed (its target outside the cache stays as it was), a FIFO is not
    opened (it would block the shell): no cache, the facts are read as without one."""
    m = Machine(tmp_path)
    m.facts.parent.mkdir(parents=True)
    target = tmp_path / "elsewhere"
    target.write_text("mine\n")
    if kind == "symlink":
        m.facts.symlink_to(target)
    elif kind == "directory":
        m.facts.mkdir()
    else:
        os.mkfifo(m.facts)
    for _ in range(2):
        assert m.start(shell) == ("fast", ["getconf"], "")
    assert target.read_text() == "mine\n"


@pytest.mark.parametrize("shell", ["bash", "dash", "zsh", "fish"])
@pytest.mark.parametrize("host", ["node 1", "gpu07/x", ".hidden", "nœud"])
def test_a_host_name_the_cache_cannot_carry_means_no_cache(tmp_path, shell, host):
    m = Machine(tmp_path, host)
    for _ in range(2):
        assert m.start(shell) == ("fast", ["getconf"], "")
    assert not (tmp_path / ".cache").exists()


@pytest.mark.parametrize("shell", ["bash", "dash", "fish"])
def test_the_cache_is_where_condashare_says_xdg_cache_home_honoured(tmp_path, shell):
    m = Machine(tmp_path)
    elsewhere = tmp_path / "xdg"
    env = {"XDG_CACHE_HOME": str(elsewhere)}
    assert m.start(shell, env)[0] == "fast"
    where = Path(host_facts_file({"HOME": str(tmp_path), **env}, m.host))
    assert where.is_relative_to(elsewhere) and where.is_file()
    assert not m.facts.exists()
    assert m.start(shell, env) == ("fast", [], "")
    relative = {"XDG_CACHE_HOME": "xdg"}  # not absolute: ignored, as condashare ignores it
    assert m.start(shell, relative)[0] == "fast"
    assert Path(host_facts_file({"HOME": str(tmp_path), **relative}, m.host)) == m.facts
    assert m.facts.is_file()


# --- writes that fail: silent, and no fork beyond today's getconf ----------------------------

READ_ONLY = 'mount --bind "{home}" "{home}" && mount -o remount,ro,bind "{home}" && exec "$@"'
# a tiny tmpfs over the cache dir, filled; the shell then starts twice in the same namespace
FULL = (
    '/bin/mkdir -p "{dir}" && mount -t tmpfs -o size=16k tmpfs "{dir}" && '
    '{{ head -c 1M /dev/zero > "{dir}/.filler" 2>/dev/null || :; }} && "$@" && exec "$@"'
)


def namespace(script: str) -> tuple[str, ...]:
    need(os.geteuid() == 0, "needs root for a private mount namespace")
    need(shutil.which("unshare") is not None, "unshare (util-linux) is missing")
    return ("unshare", "-m", "sh", "-c", script, "sh")


@pytest.mark.parametrize("shell", SHELLS)
def test_a_read_only_cache_dir_is_silent_and_costs_only_getconf(tmp_path, shell):
    """The cache home on a read-only filesystem (a read-only bind mount; a home mounted
    read-only is the same for the block, but fish itself then complains about its own dirs)."""
    m = Machine(tmp_path)
    cache_home = tmp_path / "cache"
    cache_home.mkdir()
    env = {"XDG_CACHE_HOME": str(cache_home)}
    how = Start(before=STRICT.get(shell, ""), wrap=namespace(READ_ONLY.format(home=cache_home)))
    got, ran, err = m.start(shell, env, how)
    need("Operation not permitted" not in err, f"cannot mount: {err}")
    assert (got, ran, err) == ("fast", ["getconf"], "")
    assert not any(cache_home.iterdir())


@pytest.mark.parametrize("shell", ["bash", "dash", "zsh"])
def test_a_full_disk_is_silent_and_costs_only_getconf(tmp_path, shell):
    m = Machine(tmp_path)
    cache = m.facts.parent
    how = Start(before=STRICT.get(shell, ""), wrap=namespace(FULL.format(dir=cache)))
    got, ran, err = m.start(shell, {}, how)
    need("Operation not permitted" not in err, f"cannot mount: {err}")
    # two starts: each asks getconf once, neither writes a cache it could not finish
    assert (got, ran, err) == ("fast", ["getconf", "getconf"], "")


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_a_file_in_the_way_of_the_cache_dir_costs_no_mkdir(tmp_path, shell):
    m = Machine(tmp_path)
    (tmp_path / ".cache").write_text("not a directory\n")
    for _ in range(2):
        assert m.start(shell) == ("fast", ["getconf"], "")
