"""The macOS branches, run here by passing macOS inputs (uname, captured mount-table rows)."""

from __future__ import annotations

import sqlite3

from support.doctor_env import make_ctx, make_install, site_file
from test_doctor_startup import conda_init_block

from condashare.doctor.checks import conda_env, host, mount, sqlite_nfs, startup
from condashare.findings import Severity
from condashare.host.mounts import mounts_from_partitions, read_mount_table


def mac_ctx(home, site, tmp_path, extra_mounts=(), env=None):
    return make_ctx(
        home,
        site,
        system="Darwin",
        machine="arm64",
        shell="/bin/zsh",
        mounts=[*read_mount_table(), *extra_mounts],
        env=env,
    )


def two_os(tmp_path):
    make_install(tmp_path / "anaconda3_linux")
    make_install(tmp_path / "anaconda3_macOS", "macos")
    return site_file(
        tmp_path,
        ("linux", str(tmp_path / "anaconda3_linux"), "linux"),
        ("mac", str(tmp_path / "anaconda3_macOS"), "macos"),
    )


def test_mac_host_picks_and_verifies_the_mac_installation(sandbox_home, tmp_path):
    ctx = mac_ctx(sandbox_home, two_os(tmp_path), tmp_path)
    assert str(ctx.host.platform) == "macos-arm64"
    assert host.check_installation(ctx)[0].data["name"] == "mac"
    f = host.check_installation_files(ctx)
    assert f[0].severity == Severity.OK and "Mach-O" in f[0].title


def test_mac_host_pointed_at_the_linux_installation(sandbox_home, tmp_path):
    make_install(tmp_path / "anaconda3_linux")
    site = site_file(tmp_path, ("mac", str(tmp_path / "anaconda3_linux"), "macos"))
    f = host.check_installation_files(mac_ctx(sandbox_home, site, tmp_path))
    assert f[0].severity == Severity.ERROR and "ELF" in f[0].detail


def test_conda_init_from_linux_in_a_mac_bash_profile(sandbox_home, tmp_path):
    site = two_os(tmp_path)
    (sandbox_home / ".bash_profile").write_text(conda_init_block(str(tmp_path / "anaconda3_linux")))
    f = startup.check_conda_init(mac_ctx(sandbox_home, site, tmp_path))
    assert f[0].severity == Severity.ERROR and "linux installation" in f[0].title
    exe = mac_ctx(
        sandbox_home, site, tmp_path, env={"CONDA_EXE": str(tmp_path / "anaconda3_linux/bin/conda")}
    )
    assert conda_env.check_conda_exe(exe)[0].severity == Severity.ERROR


def test_mac_nfs_home_with_jupyter_databases(sandbox_home, tmp_path):
    site = two_os(tmp_path)
    # As psutil reports it on macOS (getfsstat): device, mountpoint, fstype, flags.
    nfs_home = mounts_from_partitions(
        [("nfs.server.com:/Users", str(sandbox_home), "nfs", "nodev,nosuid,automounted")]
    )
    jupyter = sandbox_home / "Library" / "Jupyter"
    jupyter.mkdir(parents=True)
    sqlite3.connect(jupyter / "nbsignatures.db").close()
    ctx = mac_ctx(sandbox_home, site, tmp_path, nfs_home, env={"JUPYTER_DATA_DIR": ""})
    f = sqlite_nfs.check_known_dbs(ctx)
    assert f[0].severity == Severity.WARNING and "Jupyter notebook signatures" in f[0].title
    assert "JUPYTER_DATA_DIR" in f[0].fix
    assert "hard mount" in mount.check_hard(ctx)[0].title  # macOS nfs: hard unless `soft`
