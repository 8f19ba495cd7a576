"""How the shell block is rendered, and what it costs a shell on a local installation.

The block's list of local filesystems is condashare.host.mounts.LOCAL_FSTYPES itself (one list for
Python and shell); on such a filesystem the block sources conda.sh directly and starts no probe
child; anywhere else (here a FUSE share) it starts exactly one, the awk reader.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import FuseShare
from support.shellrun import (
    SHELLS,
    Env,
    fake_uname,
    init,
    make_installation,
    seed_startup_files,
    start,
    write_site,
)

from condashare.host.mounts import LOCAL_FSTYPES
from condashare.shells.code import shell_dir
from condashare.site.file import Installation, Site
from condashare.startup import render_block

SITE = Site("t", 2.0, (Installation("l", "/opt/conda", "linux"),), "t", "--site")


@pytest.mark.parametrize("dialect", ["posix", "csh", "fish"])
def test_local_filesystems_come_from_the_one_list(dialect: str) -> None:
    block = render_block(SITE, dialect).decode()
    # (csh keeps the helper in one quoted word: its lines end in a backslash)
    found = re.findall(r"^ *((?:[a-z0-9_]+\|)+[a-z0-9_]+)\)\\?$", block, re.M)
    assert found, "no case pattern of filesystem types in the block"
    assert [set(p.split("|")) for p in found] == [set(LOCAL_FSTYPES)]


def test_templates_name_no_filesystem_themselves() -> None:
    """A second hand-written list would drift from mounts.py (it did: two copies in check.sh)."""
    for template in shell_dir().iterdir():
        words = set(re.findall(r"[a-z0-9]+", template.read_text()))
        assert not {"ext4", "xfs", "btrfs", "tmpfs"} & words, template.name


@pytest.mark.parametrize("dialect", ["posix", "csh", "fish"])
def test_rendered_block_keeps_no_template_comments_or_placeholders(dialect: str) -> None:
    block = render_block(SITE, dialect).decode()
    assert "__CONDASHARE" not in block
    comments = [ln for ln in block.splitlines() if ln.lstrip().startswith("#")]
    assert all(ln.startswith("# ") for ln in comments), comments  # markers and flags only
    assert len(comments) == 3, comments  # begin, info line, end


# ---------------------------------------------------------------- probe children, counted


def counting_awk(bindir: Path, log: Path) -> None:
    """An awk first on PATH that notes each run, then runs the real one."""
    script = bindir / "awk"
    script.write_text(f"#!/bin/sh\necho run >> '{log}'\nexec /usr/bin/awk \"$@\"\n")
    script.chmod(0o755)


def setup_for(prefix: Path, where: Path, tmp_path: Path) -> tuple[Env, Path, Path]:
    make_installation(where, "here", prefix)
    site = write_site(tmp_path / "site.toml", [("here", prefix, "linux", "x86_64")], 2.0)
    env = Env(Path(os.environ["HOME"]), site, tmp_path)
    seed_startup_files(env.home)
    init(env)
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    log = tmp_path / "awk.log"
    counting_awk(bindir, log)
    return env, bindir, log


@pytest.mark.shells
@pytest.mark.parametrize("shell", SHELLS)
def test_local_installation_is_sourced_without_a_probe(shell: str, tmp_path: Path) -> None:
    prefix = tmp_path / "local" / "anaconda3"
    env, bindir, log = setup_for(prefix, prefix, tmp_path)
    _rc, out, err, _ = start(shell, "interactive", "conda --version", env.env(bindir))
    assert "conda-from-here --version" in out, (out, err)
    assert not log.exists(), "a probe child ran for an installation on a local filesystem"


# The block's variables that remain: only its run-once guard.
LEFTOVERS = {
    "tcsh": "set | grep -i _condashare | cut -f1",
    "fish": "set -n | grep -i _condashare",
}


@pytest.mark.shells
@pytest.mark.fuse
@pytest.mark.parametrize("shell", SHELLS)
def test_share_gets_one_reader_child(fuse_share: FuseShare, shell: str, tmp_path: Path) -> None:
    prefix = fuse_share.mount / "anaconda3"
    env, bindir, log = setup_for(prefix, fuse_share.backing / "anaconda3", tmp_path)
    show = LEFTOVERS.get(shell, "set | grep -i '^_condashare' | cut -d= -f1")
    _rc, out, err, _ = start(shell, "interactive", f"conda --version\n{show}", env.env(bindir))
    assert "conda-from-here --version" in out, (out, err)
    reads = 2 if shell == "tcsh" else 1  # tcsh: conda.csh and the file it sources
    assert log.read_text().split() == ["run"] * reads
    left = {w for w in out.split() if w.lower().startswith("_condashare")}
    assert left == {"_condashare_done" if shell in ("tcsh", "fish") else "_CONDASHARE_DONE"}
