"""Host & site and mount checks, each made to fire in a real situation and to stay quiet."""

from __future__ import annotations

import pytest
from support.doctor_env import make_ctx, make_install, nfs_mount, problems, site_file, worst

from condashare.doctor.checks import host, mount
from condashare.findings import Severity
from condashare.host.mounts import read_mount_table


@pytest.fixture
def linux_site(tmp_path):
    make_install(tmp_path / "linux")
    make_install(tmp_path / "mac", "macos")
    return site_file(
        tmp_path,
        ("linux", str(tmp_path / "linux"), "linux"),
        ("mac", str(tmp_path / "mac"), "macos"),
    )


def test_platform_detected_override_and_bad_override(sandbox_home):
    assert worst(host.check_platform(make_ctx(sandbox_home))) == Severity.OK
    f = host.check_platform(make_ctx(sandbox_home, env={"CONDASHARE_PLATFORM": "macos-arm64"}))
    assert f[0].severity == Severity.INFO and "CONDASHARE_PLATFORM" in f[0].title
    bad = host.check_platform(make_ctx(sandbox_home, env={"CONDASHARE_PLATFORM": "solaris-9"}))
    assert bad[0].severity == Severity.ERROR and "solaris" in bad[0].detail


def test_site_missing_invalid_and_valid(sandbox_home, linux_site):
    assert host.check_site(make_ctx(sandbox_home))[0].severity == Severity.WARNING
    user_site = sandbox_home / ".config" / "condashare" / "site.toml"
    user_site.parent.mkdir(parents=True)
    user_site.write_text('[[installations]]\nname = "x"\nprefix = "relative/path"\nos = "linux"\n')
    broken = host.check_site(make_ctx(sandbox_home))
    assert broken[0].severity == Severity.ERROR and "absolute" in broken[0].detail
    user_site.unlink()
    assert host.check_site(make_ctx(sandbox_home, linux_site))[0].severity == Severity.OK


def test_installation_for_this_host(sandbox_home, tmp_path, linux_site):
    ctx = make_ctx(sandbox_home, linux_site)
    assert host.check_installation(ctx)[0].severity == Severity.OK
    mac_only = site_file(tmp_path, ("mac", str(tmp_path / "mac"), "macos"), filename="mac.toml")
    f = host.check_installation(make_ctx(sandbox_home, mac_only))
    assert f[0].severity == Severity.ERROR and "no shared installation" in f[0].title


def test_installation_files_match_or_belong_to_another_os(sandbox_home, tmp_path, linux_site):
    assert (
        host.check_installation_files(make_ctx(sandbox_home, linux_site))[0].severity == Severity.OK
    )
    # The admin copied the Linux entry and left the macOS prefix in it.
    wrong = site_file(tmp_path, ("linux", str(tmp_path / "mac"), "linux"), filename="w.toml")
    f = host.check_installation_files(make_ctx(sandbox_home, wrong))
    assert f[0].severity == Severity.ERROR and "not for this" in f[0].title
    assert "Mach-O" in f[0].detail


def test_installation_missing_because_share_not_mounted(sandbox_home, tmp_path):
    site = site_file(tmp_path, ("linux", str(tmp_path / "nfs" / "anaconda3_linux"), "linux"))
    f = mount.check_present(make_ctx(sandbox_home, site))
    assert f[0].severity == Severity.ERROR and "not mounted" in f[0].title


@pytest.mark.fuse
def test_mount_checks_on_a_real_fuse_share(sandbox_home, tmp_path, fuse_share):
    make_install(fuse_share.backing / "anaconda3_linux")
    prefix = fuse_share.mount / "anaconda3_linux"
    site = site_file(tmp_path, ("linux", str(prefix), "linux"), timeout=1.0)
    ctx = make_ctx(sandbox_home, site)
    present = mount.check_present(ctx)
    assert present[0].severity == Severity.OK and "fuse.nfs" in present[0].title
    assert mount.check_responsive(ctx)[0].severity == Severity.OK
    assert host.check_installation_files(ctx)[0].severity == Severity.OK

    fuse_share.fail("ESTALE")
    stale = mount.check_responsive(make_ctx(sandbox_home, site))
    assert stale[0].severity == Severity.ERROR and "ESTALE" in stale[0].title
    assert "Stale file handle" in stale[0].fix

    fuse_share.block()
    hung = mount.check_responsive(make_ctx(sandbox_home, site))
    assert hung[0].severity == Severity.ERROR and "does not answer" in hung[0].title
    assert hung[0].data["status"] == "unresponsive"
    files = host.check_installation_files(make_ctx(sandbox_home, site))
    assert files[0].severity == Severity.ERROR and "cannot read" in files[0].title


def test_soft_mount_and_local_locks_fire_hard_mount_stays_quiet(sandbox_home, tmp_path):
    make_install(tmp_path / "inst")
    site = site_file(tmp_path, ("linux", str(tmp_path / "inst"), "linux"))
    real = read_mount_table()
    soft = [*real, nfs_mount(str(tmp_path), "rw,vers=3,soft,nolock,proto=tcp", "nfs")]
    ctx = make_ctx(sandbox_home, site, mounts=soft)
    hard_f = mount.check_hard(ctx)
    assert hard_f[0].severity == Severity.WARNING and "soft mount" in hard_f[0].title
    locks = mount.check_locks(ctx)
    assert locks[0].severity == Severity.WARNING and "nolock" in locks[0].title

    good = [*real, nfs_mount(str(tmp_path))]
    ctx = make_ctx(sandbox_home, site, mounts=good)
    assert not problems(mount.check_hard(ctx))
    assert not problems(mount.check_locks(ctx))
    assert "hard mount" in mount.check_hard(ctx)[0].title


def test_autofs_trigger_reported_and_quiet_when_mounted(sandbox_home, tmp_path):
    make_install(tmp_path / "inst")
    site = site_file(tmp_path, ("linux", str(tmp_path / "inst"), "linux"))
    trigger = nfs_mount(str(tmp_path), "rw,fd=6,pgrp=1,timeout=300,indirect", "autofs")
    ctx = make_ctx(sandbox_home, site, mounts=[*read_mount_table(), trigger])
    f = mount.check_autofs(ctx)
    assert f[0].severity == Severity.INFO and "automount" in f[0].title
    # Once triggered, the real NFS mount sits on the same mountpoint, later in the table.
    ctx = make_ctx(
        sandbox_home, site, mounts=[*read_mount_table(), trigger, nfs_mount(str(tmp_path))]
    )
    assert mount.check_autofs(ctx)[0].severity == Severity.OK


def test_target_environment_for_another_os_fires_and_this_os_is_quiet(sandbox_home, tmp_path):
    mine, mac = make_install(tmp_path / "mine"), make_install(tmp_path / "mac", "macos")
    assert host.check_target(make_ctx(sandbox_home))[0].severity == Severity.INFO  # no target
    quiet = host.check_target(make_ctx(sandbox_home, target=str(mine)))
    assert quiet[0].severity == Severity.OK and "ELF linux-x86_64" in quiet[0].title
    f = host.check_target(make_ctx(sandbox_home, target=str(mac)))
    assert f[0].severity == Severity.ERROR
    assert f[0].title == f"{mac} is built for another platform, not for this linux-x86_64 " + (
        "(linux-64) host"
    )
    assert "Mach-O macos-arm64" in f[0].detail
    # Seen from an Apple-silicon Mac, the Linux environment is the foreign one.
    from_mac = make_ctx(sandbox_home, target=str(mine), system="Darwin", machine="arm64")
    assert host.check_target(from_mac)[0].severity == Severity.ERROR


def test_conda_dirs_local_then_on_a_soft_nolock_share(sandbox_home, tmp_path):
    env, pkgs = tmp_path / "env", tmp_path / "share" / "pkgs"
    env.mkdir()
    pkgs.mkdir(parents=True)
    (pkgs / "urls.txt").write_text("")  # conda's marker: what the liveness probe opens
    dirs = {"CONDA_PKGS_DIRS": f"{pkgs},{tmp_path / 'share' / 'not-yet'}"}
    quiet = mount.check_conda_dirs(make_ctx(sandbox_home, env=dirs, target=str(env)))
    assert [(f.severity, f.title) for f in quiet] == [(Severity.OK, "3 of 3 on local filesystems")]
    share = nfs_mount(str(tmp_path / "share"), "rw,vers=3,soft,nolock,proto=tcp", "nfs")
    ctx = make_ctx(sandbox_home, env=dirs, target=str(env), mounts=[*read_mount_table(), share])
    found = mount.check_conda_dirs(ctx)
    assert found[0].title == "1 of 3 on local filesystems"  # the env
    assert found[1].severity == Severity.OK and found[1].title.startswith(f"package cache: {pkgs} ")
    assert [f.title for f in problems(found)] == [  # the cache not created yet: no finding
        f"package cache: {tmp_path / 'share'} is a soft mount",
        f"package cache: {tmp_path / 'share'} keeps file locks local (nolock)",
    ]


@pytest.mark.fuse
def test_conda_dirs_on_a_real_fuse_share(sandbox_home, tmp_path, fuse_share):
    (fuse_share.backing / "env" / "conda-meta").mkdir(parents=True)
    (fuse_share.backing / "env" / "conda-meta" / "history").write_text("")  # what liveness reads
    (fuse_share.backing / "pkgs").mkdir()
    (fuse_share.backing / "pkgs" / "urls.txt").write_text("")
    env, pkgs = fuse_share.mount / "env", fuse_share.mount / "pkgs"
    dirs = {"CONDA_PKGS_DIRS": str(pkgs)}
    healthy = mount.check_conda_dirs(make_ctx(sandbox_home, env=dirs, target=str(env)))
    assert [f.severity for f in healthy] == [Severity.OK, Severity.OK]
    assert healthy[0].title.startswith(
        f"environment: {env} on fuse.nfs from nfsserver:/export/conda, responsive ("
    )

    fuse_share.fail("ESTALE")
    stale = mount.check_conda_dirs(make_ctx(sandbox_home, env=dirs, target=str(env)))
    assert [f.title.split(": ")[1] for f in problems(stale)] == [f"{env} fails", f"{pkgs} fails"]
    assert "ESTALE" in stale[0].title and "Stale file handle" in stale[0].fix

    fuse_share.block()
    ctx = make_ctx(sandbox_home, env={**dirs, "CONDASHARE_TIMEOUT": "1"}, target=str(env))
    hung = mount.check_conda_dirs(ctx)
    assert all("does not answer" in f.title for f in hung) and len(hung) == 2
