"""space.quota, space.inodes, space.clean: quotas, file counts and what conda clean would free.

This machine's kernel has no quota support (CONFIG_QUOTA off: an ext4 loop image with
``-O quota`` refuses to mount), so no real quota limit can be set here. The real ``quota`` tool
(apt ``quota``) runs where installed; lines *with* limits come from a stand-in ``quota`` program
on PATH that prints text in quota-tools 4.06's layout — its heading printf
``"%15s%8s %7s%8s%8s%8s %7s%8s%8s"`` and ``*`` after a count over its soft limit (quota.c), with
``-p`` printing each grace as seconds. That text is written for these tests, not captured.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

import pytest
from conftest import need
from support.doctor_env import make_ctx

from condashare.doctor.checks import quota, space
from condashare.doctor.model import Severity

# quota-tools 4.06 layout for `quota -w -p` (see the module docstring).
QUOTA_TEXT = """\
Disk quotas for user ada (uid 1000):
     Filesystem  blocks   quota   limit   grace   files   quota   limit   grace
nfsserver:/export/home 9400000  10000000 10500000       0   95000  100000  100000       0
      /dev/sdb1   1200*   1000    2000  518400      10       0       0       0
"""


def test_parse_quota_reads_limits_and_over_marks():
    home, scratch = quota.parse_quota(QUOTA_TEXT)
    assert home.filesystem == "nfsserver:/export/home"
    assert (home.blocks, home.block_soft, home.block_hard) == (9400000, 10000000, 10500000)
    assert (home.files, home.file_soft, home.file_hard) == (95000, 100000, 100000)
    assert scratch.blocks_over and not scratch.files_over
    assert scratch.usage() == [("space", 1200 * 1024, 1000 * 1024, True)]  # no file limit set


def _fake_quota(bindir: Path, body: str) -> None:
    bindir.mkdir(parents=True, exist_ok=True)
    script = bindir / "quota"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_quota_near_the_file_limit_warns_and_over_is_an_error(sandbox_home, tmp_path):
    bindir = tmp_path / "bin"
    (tmp_path / "out.txt").write_text(QUOTA_TEXT)
    _fake_quota(bindir, f"cat {tmp_path / 'out.txt'}\n")
    ctx = make_ctx(sandbox_home, env={"PATH": f"{bindir}:/usr/bin:/bin"})
    found = quota.check_quota(ctx)
    by = {(f.data["filesystem"], f.data["what"]): f for f in found}
    assert by[("nfsserver:/export/home", "files")].severity == Severity.WARNING  # 95 %
    assert by[("nfsserver:/export/home", "space")].severity == Severity.WARNING  # 94 %
    assert "95000 files of 100000 files" in by[("nfsserver:/export/home", "files")].title
    assert by[("/dev/sdb1", "space")].severity == Severity.ERROR


def test_a_hanging_quota_is_abandoned_within_its_bound(sandbox_home, tmp_path):
    bindir = tmp_path / "bin"
    _fake_quota(bindir, "sleep 600\n")  # rpc.rquotad of a dead NFS server
    ctx = make_ctx(sandbox_home, env={"PATH": f"{bindir}:/usr/bin:/bin"})
    ctx.timeout = 1.0
    start = time.monotonic()
    (f,) = quota.check_quota(ctx)
    assert time.monotonic() - start < 4.0 + 3
    assert f.severity == Severity.ERROR and "did not answer" in f.title


def test_the_real_quota_tool_on_a_machine_without_quotas(sandbox_home):
    need(shutil.which("quota") is not None, "the quota tool is missing (apt-get install quota)")
    (f,) = quota.check_quota(make_ctx(sandbox_home))
    assert f.severity == Severity.OK and "no quota limits" in f.title


def test_inodes_are_the_filesystems_own_counts(sandbox_home):
    (f,) = quota.check_inodes(make_ctx(sandbox_home))
    vfs = os.statvfs(sandbox_home)
    assert f.data["total"] == vfs.f_files
    assert abs(f.data["free"] - vfs.f_favail) < 1000  # other tests create files meanwhile


def _cache(pkgs: Path, env: Path) -> None:
    """A conda-shaped cache (conda-facts §6): an unused package, one linked into an env, a
    tarball, an index cache and a log."""
    (pkgs / "a-1.0-0" / "info").mkdir(parents=True)
    (pkgs / "a-1.0-0" / "info" / "index.json").write_text("{}")  # 2 bytes
    (pkgs / "a-1.0-0" / "lib").mkdir()
    (pkgs / "a-1.0-0" / "lib" / "a.so").write_bytes(b"x" * 1000)
    (pkgs / "b-2.0-0" / "info").mkdir(parents=True)
    (pkgs / "b-2.0-0" / "info" / "index.json").write_text("{}")
    (pkgs / "b-2.0-0" / "b.py").write_bytes(b"y" * 500)
    env.mkdir(parents=True)
    os.link(pkgs / "b-2.0-0" / "b.py", env / "b.py")  # b is in use: conda keeps it
    (pkgs / "a-1.0-0.conda").write_bytes(b"z" * 300)
    (pkgs / "c-1.0-0.tar.bz2.partial").write_bytes(b"p" * 7)
    (pkgs / "urls.txt").write_text("")
    (pkgs / "cache").mkdir()
    (pkgs / "cache" / "abcd1234.json").write_bytes(b"r" * 40)
    (pkgs / ".logs").mkdir()
    (pkgs / ".logs" / "x.log").write_bytes(b"l" * 5)


def test_clean_computes_what_conda_clean_all_frees(sandbox_home):
    pkgs = sandbox_home / ".conda" / "pkgs"
    _cache(pkgs, sandbox_home / ".conda" / "envs" / "e")
    (f,) = quota.check_clean(make_ctx(sandbox_home))
    assert f.data["tarballs"] == {"count": 2, "bytes": 307, "files": 2}
    assert f.data["packages"] == {"count": 1, "bytes": 1002, "files": 2}
    assert f.data["index_cache"]["bytes"] == 40 and f.data["logfiles"]["count"] == 1
    assert f.data["bytes"] == 307 + 1002 + 40 + 5
    assert f.severity == Severity.OK
    (size,) = space.check_user_pkgs(make_ctx(sandbox_home))
    assert size.title.endswith(" in 16 files")  # every entry takes an inode, directories too


@pytest.mark.fuse
def test_clean_on_a_hung_share_reports_it_within_bound(fuse_share, sandbox_home):
    pkgs = fuse_share.backing / "pkgs"
    _cache(pkgs, fuse_share.backing / "envs" / "e")
    (sandbox_home / ".condarc").write_text(f"pkgs_dirs:\n  - {fuse_share.mount / 'pkgs'}\n")
    ctx = make_ctx(sandbox_home)
    ctx.timeout = 1.0
    fuse_share.block()
    start = time.monotonic()
    (f,) = quota.check_clean(ctx)
    assert time.monotonic() - start < 4.0 + 3
    assert f.severity == Severity.ERROR and "does not answer" in f.title
