"""Locking, SQLite and I/O-speed checks: real lockf, real SQLite, real (FUSE) shares."""

from __future__ import annotations

import os
import time

import pytest
from support.doctor_env import make_ctx, make_install, site_file

from condashare.doctor.checks import io_speed, locking, sqlite_nfs
from condashare.doctor.model import Severity


def test_lock_works_in_a_local_home_and_cache(sandbox_home):
    (sandbox_home / ".conda" / "pkgs").mkdir(parents=True)
    ctx = make_ctx(sandbox_home)
    home = locking.check_home(ctx)
    assert home[0].severity == Severity.OK and home[0].data["conflict_seen"] is True
    assert locking.check_pkgs(ctx)[0].severity == Severity.OK
    leftovers = [p for p in sandbox_home.rglob(".condashare-locktest-*")]
    assert leftovers == []


@pytest.mark.fuse
def test_lock_on_a_hung_or_stale_share_is_an_error(sandbox_home, fuse_share):
    pkgs = fuse_share.mount / "pkgs"
    (fuse_share.backing / "pkgs").mkdir()
    (sandbox_home / ".condarc").write_text(f"pkgs_dirs:\n  - {pkgs}\n")
    ctx = make_ctx(sandbox_home)
    ctx.timeout = 1.0
    assert locking.check_pkgs(ctx)[0].severity == Severity.OK  # kernel-local locks on FUSE
    fuse_share.fail("ESTALE")
    f = locking.check_pkgs(ctx)
    assert f[0].severity == Severity.ERROR and "ESTALE" in f[0].title
    fuse_share.block()
    start = time.monotonic()
    f = locking.check_pkgs(ctx)
    assert time.monotonic() - start < 5
    assert f[0].severity == Severity.ERROR and "hangs" in f[0].title


@pytest.mark.fuse
def test_sqlite_databases_on_a_network_home(sandbox_home, fuse_share):
    import sqlite3

    nethome = fuse_share.mount / "home"
    (fuse_share.backing / "home" / ".ipython" / "profile_default").mkdir(parents=True)
    db = fuse_share.backing / "home" / ".ipython" / "profile_default" / "history.sqlite"
    sqlite3.connect(db).close()
    ctx = make_ctx(nethome, env={"XDG_DATA_HOME": ""})
    ctx.timeout = 1.0
    f = sqlite_nfs.check_known_dbs(ctx)
    assert f[0].severity == Severity.WARNING and "IPython history" in f[0].title
    assert "HistoryManager.hist_file" in f[0].fix
    fuse_share.block()
    start = time.monotonic()
    live = sqlite_nfs.check_live(ctx)
    assert time.monotonic() - start < 6
    assert live[0].severity == Severity.ERROR and "hangs" in live[0].title


def test_sqlite_quiet_on_a_local_home(sandbox_home):
    import sqlite3

    (sandbox_home / ".ipython" / "profile_default").mkdir(parents=True)
    sqlite3.connect(sandbox_home / ".ipython" / "profile_default" / "history.sqlite").close()
    ctx = make_ctx(sandbox_home, deep=True)  # deep: run the live test even on local disk
    assert sqlite_nfs.check_known_dbs(ctx)[0].severity == Severity.OK
    live = sqlite_nfs.check_live(ctx)
    assert live[0].severity == Severity.OK and live[0].data["lock_enforced"] is True
    assert not list(sandbox_home.glob(".condashare-sqlitetest-*"))


def test_io_speed_measures_a_local_installation(sandbox_home, tmp_path):
    make_install(tmp_path / "inst")
    (tmp_path / "inst" / "lib").mkdir()
    (tmp_path / "inst" / "lib" / "libpython3.11.so.1.0").write_bytes(b"\0" * (4 << 20))
    ctx = make_ctx(sandbox_home, site_file(tmp_path, ("l", str(tmp_path / "inst"), "linux")))
    f = io_speed.check_speed(ctx)
    assert f[0].severity == Severity.OK
    assert f[0].data["stats"] >= 2 and f[0].data["read_bytes"] == 4 << 20


@pytest.mark.fuse
def test_io_speed_on_a_share(sandbox_home, tmp_path, fuse_share, monkeypatch):
    make_install(fuse_share.backing / "inst")
    (fuse_share.backing / "inst" / "lib").mkdir()
    (fuse_share.backing / "inst" / "lib" / "libpython3.11.so").write_bytes(b"\1" * (2 << 20))
    site = site_file(tmp_path, ("l", str(fuse_share.mount / "inst"), "linux"), timeout=1.0)
    ctx = make_ctx(sandbox_home, site)
    measured = io_speed.check_speed(ctx)[0]
    assert measured.data["read_mbps"] > 0 and measured.data["stat_ms"] > 0
    # Judge the same real measurement against a site that expects more than this share gives.
    monkeypatch.setattr(io_speed, "SLOW_READ_MBPS", measured.data["read_mbps"] * 100)
    slow = io_speed.check_speed(ctx)[0]
    assert slow.severity == Severity.WARNING and "local scratch" in slow.fix
    fuse_share.block()
    hung = io_speed.check_speed(make_ctx(sandbox_home, site))[0]
    assert hung.severity == Severity.ERROR


def test_io_speed_reads_a_file_the_user_may_read(sandbox_home, tmp_path):
    """Admins often leave package archives 0600: the largest file is then unreadable to every
    other user, which says nothing about the share. Measure with a file they can read."""
    import json
    import subprocess
    import sys

    from conftest import REPO
    from support.users import SECOND_UID, as_plain_root

    prefix = make_install(tmp_path / "inst")
    (prefix / "lib").mkdir()
    (prefix / "lib" / "libpython3.11.so.1.0").write_bytes(b"\0" * (2 << 20))
    archive = prefix / "pkgs" / "python-3.11.7-0.conda"
    archive.write_bytes(b"\0" * (3 << 20))
    archive.chmod(0o600)
    os.chown(archive, SECOND_UID, SECOND_UID)
    site = site_file(tmp_path, ("l", str(prefix), "linux"))
    proc = subprocess.run(
        [*as_plain_root(), sys.executable, "-m", "condashare", "doctor", "io.speed", "--site",
         str(site), "--json"],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO), HOME=str(sandbox_home)),
    )  # fmt: skip
    doc = json.loads(proc.stdout)
    [finding] = doc["data"]["checks"][0]["findings"]
    assert proc.returncode == 0 and finding["severity"] == "ok", finding
    assert finding["data"]["read_file"] == str(prefix / "lib" / "libpython3.11.so.1.0")
    assert finding["data"]["unreadable"] == 1 and finding["data"]["read_bytes"] == 2 << 20
