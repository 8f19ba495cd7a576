"""conda-on-PATH and condarc checks with real files and real ruamel parsing."""

from __future__ import annotations

import pytest
from support.doctor_env import make_ctx, make_install, nfs_mount, problems, site_file

from condashare.doctor.checks import conda_env, condarc
from condashare.findings import Severity
from condashare.host.mounts import read_mount_table


@pytest.fixture
def two_os(tmp_path):
    make_install(tmp_path / "linux")
    make_install(tmp_path / "mac", "macos")
    return site_file(
        tmp_path,
        ("linux", str(tmp_path / "linux"), "linux"),
        ("mac", str(tmp_path / "mac"), "macos"),
    )


def test_conda_exe_of_the_other_os(sandbox_home, tmp_path, two_os):
    bad = make_ctx(sandbox_home, two_os, env={"CONDA_EXE": str(tmp_path / "mac/bin/conda")})
    f = conda_env.check_conda_exe(bad)
    assert f[0].severity == Severity.ERROR and "macos installation" in f[0].title
    good = make_ctx(
        sandbox_home,
        two_os,
        env={
            "CONDA_EXE": str(tmp_path / "linux/bin/conda"),
            "PATH": f"{tmp_path / 'linux/bin'}:/usr/bin:/bin",
        },
    )
    f = conda_env.check_conda_exe(good)
    assert f[0].severity == Severity.OK and str(tmp_path / "linux/bin/conda") in f[0].title


def test_environment_overrides_fire_and_clean_env_is_quiet(sandbox_home, two_os):
    ctx = make_ctx(
        sandbox_home,
        two_os,
        env={
            "PYTHONPATH": "/opt/old/lib/python2.7/site-packages",
            "CONDA_PKGS_DIRS": "/a/pkgs:/b/pkgs",
            "CONDA_ENVS_DIRS": "/x",
            "CONDA_ENVS_PATH": "/y",
        },
    )
    titles = [f.title for f in problems(conda_env.check_overrides(ctx))]
    assert any("PYTHONPATH" in t for t in titles)
    assert any("splits it on ','" in t for t in titles)
    assert any("both CONDA_ENVS_DIRS and CONDA_ENVS_PATH" in t for t in titles)
    clean = make_ctx(sandbox_home, two_os, env={"PYTHONPATH": "", "PYTHONHOME": ""})
    assert conda_env.check_overrides(clean)[0].severity == Severity.OK


def test_broken_condarc_is_named_and_valid_ones_parse(sandbox_home, tmp_path, two_os):
    (sandbox_home / ".condarc").write_text("channels:\n  - conda-forge\n\tenvs_dirs: [x]\n")
    (tmp_path / "linux" / ".condarc").write_text("envs_dirs:\n  - /shared/envs\n")
    f = condarc.check_parse(make_ctx(sandbox_home, two_os))
    assert len(f) == 1 and f[0].severity == Severity.ERROR
    assert str(sandbox_home / ".condarc") in f[0].title
    (sandbox_home / ".condarc").write_text("channels:\n  - conda-forge\n")
    f = condarc.check_parse(make_ctx(sandbox_home, two_os))
    assert f[0].severity == Severity.OK and len(f[0].data["files"]) == 2
    # A list at top level parses as YAML but is no condarc.
    (sandbox_home / ".condarc").write_text("- a\n- b\n")
    assert condarc.check_parse(make_ctx(sandbox_home, two_os))[0].severity == Severity.ERROR


def test_condarc_d_and_condarc_env_var_are_read(sandbox_home, tmp_path, two_os):
    d = sandbox_home / ".conda" / "condarc.d"
    d.mkdir(parents=True)
    (d / "10-broken.yaml").write_text("key: [unclosed\n")
    (tmp_path / "extra.yml").write_text("pkgs_dirs: [/tmp/p]\n")
    ctx = make_ctx(sandbox_home, two_os, env={"CONDARC": str(tmp_path / "extra.yml")})
    f = condarc.check_parse(ctx)
    assert [x.data["path"] for x in f] == [str(d / "10-broken.yaml")]
    assert ctx.conda_config.pkgs_dirs[0] == "/tmp/p"


def test_other_os_envs_in_envs_dirs(sandbox_home, tmp_path, two_os):
    (sandbox_home / ".condarc").write_text(f"envs_dirs:\n  - {tmp_path / 'mac' / 'envs'}\n")
    f = condarc.check_other_os_envs(make_ctx(sandbox_home, two_os))
    assert f[0].severity == Severity.WARNING and "macos" in f[0].title
    (sandbox_home / ".condarc").write_text(f"envs_dirs:\n  - {tmp_path / 'linux' / 'envs'}\n")
    assert condarc.check_other_os_envs(make_ctx(sandbox_home, two_os))[0].severity == Severity.OK


def test_shared_read_only_pkgs_dir_first(sandbox_home, tmp_path, two_os):
    (sandbox_home / ".condarc").write_text(
        f"pkgs_dirs:\n  - {tmp_path / 'linux' / 'pkgs'}\n  - ~/.conda/pkgs\n"
    )
    f = condarc.check_pkgs_first(make_ctx(sandbox_home, two_os))
    assert f[0].severity == Severity.WARNING and "shared installation" in f[0].title
    (sandbox_home / ".condarc").write_text(
        f"pkgs_dirs:\n  - ~/.conda/pkgs\n  - {tmp_path / 'linux' / 'pkgs'}\n"
    )
    ctx = make_ctx(sandbox_home, two_os)
    assert condarc.check_pkgs_first(ctx)[0].severity == Severity.OK
    assert ctx.conda_config.pkgs_dirs[0] == str(sandbox_home / ".conda" / "pkgs")


def test_envs_and_pkgs_on_different_filesystems(sandbox_home, tmp_path, two_os):
    scratch = tmp_path / "scratch"
    (sandbox_home / ".condarc").write_text(f"pkgs_dirs:\n  - {scratch / 'pkgs'}\n")
    mounts = [*read_mount_table(), nfs_mount(str(scratch))]
    f = condarc.check_filesystems(make_ctx(sandbox_home, two_os, mounts=mounts))
    assert f[0].severity == Severity.WARNING and "different filesystems" in f[0].title
    (sandbox_home / ".condarc").write_text(
        f"pkgs_dirs:\n  - {scratch / 'pkgs'}\nenvs_dirs:\n  - {scratch / 'envs'}\n"
    )
    f = condarc.check_filesystems(make_ctx(sandbox_home, two_os, mounts=mounts))
    assert f[0].severity == Severity.OK


def test_lock_advice_for_a_cache_on_nfs(sandbox_home, tmp_path, two_os):
    mounts = [*read_mount_table(), nfs_mount(str(sandbox_home))]
    f = condarc.check_lock_advice(make_ctx(sandbox_home, two_os, mounts=mounts))
    assert f[0].severity == Severity.WARNING and "no_lock" in f[0].fix
    (sandbox_home / ".condarc").write_text("no_lock: true\n")
    f = condarc.check_lock_advice(make_ctx(sandbox_home, two_os, mounts=mounts))
    assert f[0].severity == Severity.INFO
    assert condarc.check_lock_advice(make_ctx(sandbox_home, two_os))[0].severity == Severity.OK


@pytest.mark.fuse
def test_root_condarc_on_a_hung_share_is_reported(sandbox_home, tmp_path, fuse_share):
    make_install(fuse_share.backing / "linux")
    (fuse_share.backing / "linux" / ".condarc").write_text("channels: [defaults]\n")
    site = site_file(tmp_path, ("linux", str(fuse_share.mount / "linux"), "linux"), timeout=1.0)
    assert condarc.check_parse(make_ctx(sandbox_home, site))[0].severity == Severity.OK
    fuse_share.block()
    f = condarc.check_parse(make_ctx(sandbox_home, site))
    assert f[0].severity == Severity.WARNING and "does not answer" in f[0].title


def test_env_names_hiding_each_other(sandbox_home, tmp_path, two_os):
    mine, shared = sandbox_home / ".conda" / "envs", tmp_path / "linux" / "envs"
    for path in (mine / "tools", shared / "tools", shared / "isis4.3.0"):
        path.mkdir(parents=True)
    (sandbox_home / ".condarc").write_text(f"envs_dirs:\n  - {mine}\n  - {shared}\n")
    f = condarc.check_env_names(make_ctx(sandbox_home, two_os))
    assert [(x.severity, x.title) for x in f] == [
        (
            Severity.WARNING,
            f"env 'tools' exists in 2 envs dirs; `conda activate tools` takes {mine / 'tools'}",
        )
    ]
    assert f"conda activate {shared / 'tools'}" in f[0].fix

    # Two private envs dirs: conda still takes the first, but no release is hidden: a note.
    (shared / "tools").rmdir()
    other = tmp_path / "other"
    (other / "tools").mkdir(parents=True)
    (sandbox_home / ".condarc").write_text(f"envs_dirs:\n  - {mine}\n  - {other}\n")
    f = condarc.check_env_names(make_ctx(sandbox_home, two_os))
    assert [x.severity for x in f] == [Severity.INFO] and "'tools'" in f[0].title

    (mine / "tools").rmdir()
    quiet = condarc.check_env_names(make_ctx(sandbox_home, two_os))
    assert [x.severity for x in quiet] == [Severity.OK]
