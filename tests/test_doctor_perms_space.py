"""Permission, environments.txt (with --fix) and space checks on real trees."""

from __future__ import annotations

import os

import pytest
from support.doctor_env import make_ctx, make_install, site_file

from condashare.doctor.checks import permissions, space, trust
from condashare.findings import Severity


@pytest.fixture
def inst(tmp_path):
    make_install(tmp_path / "inst")
    make_install(tmp_path / "mac", "macos")
    site = site_file(
        tmp_path, ("l", str(tmp_path / "inst"), "linux"), ("m", str(tmp_path / "mac"), "macos")
    )
    return tmp_path / "inst", site


def test_clean_installation_tree_is_quiet(sandbox_home, inst):
    _, site = inst
    f = permissions.check_install_tree(make_ctx(sandbox_home, site))
    assert f[0].severity == Severity.OK and f[0].data["complete"] is True
    assert permissions.check_conda_sh(make_ctx(sandbox_home, site))[0].severity == Severity.OK


def test_a_count_of_files_agrees_with_its_verb(sandbox_home, inst):
    prefix, site = inst
    for name in ("conda", "python"):
        (prefix / "bin" / name).chmod(0o777)
    titles = [f.title for f in permissions.check_install_tree(make_ctx(sandbox_home, site))]
    assert "2 files in the shared installation are world-writable" in titles, titles


def test_world_and_group_writable_files_and_foreign_owners(sandbox_home, inst):
    prefix, site = inst
    (prefix / "bin" / "conda").chmod(0o777)
    (prefix / "conda-meta" / "history").chmod(0o664)
    titles = {f.title: f for f in permissions.check_install_tree(make_ctx(sandbox_home, site))}
    world = next(f for t, f in titles.items() if "world-writable" in t)
    assert world.severity == Severity.ERROR and str(prefix / "bin" / "conda") in world.detail
    assert world.title == "1 file in the shared installation is world-writable"
    assert any("group-writable" in t for t in titles)
    if os.getuid() == 0:  # only root can give a file away to test the owner check
        os.chown(prefix / "bin" / "python", 54321, -1)
        found = permissions.check_install_tree(make_ctx(sandbox_home, site))
        assert any("unexpected users" in f.title for f in found)


def test_conda_sh_writable_by_others(sandbox_home, inst):
    prefix, site = inst
    (prefix / "etc" / "profile.d" / "conda.sh").chmod(0o666)
    f = trust.check_trust(make_ctx(sandbox_home, site))
    assert f[0].severity == Severity.ERROR and "everyone can change" in f[0].title
    assert permissions.check_conda_sh(make_ctx(sandbox_home, site))[0].severity == Severity.OK


def test_umask(sandbox_home):
    old = os.umask(0o000)
    try:
        f = permissions.check_umask(make_ctx(sandbox_home))
    finally:
        os.umask(old)
    assert f[0].severity == Severity.WARNING and "writable by everyone" in f[0].title
    old = os.umask(0o022)
    try:
        assert permissions.check_umask(make_ctx(sandbox_home))[0].severity == Severity.OK
    finally:
        os.umask(old)


def _environments(home, tmp_path):
    mine = tmp_path / "envs" / "analysis"
    (mine / "conda-meta").mkdir(parents=True)
    gone = tmp_path / "envs" / "deleted-last-year"
    unmounted = "/nfs/not-mounted-share/envs/isis4"
    other = tmp_path / "mac" / "envs" / "isis4"
    txt = home / ".conda" / "environments.txt"
    txt.parent.mkdir(parents=True, exist_ok=True)
    txt.write_text(f"{mine}\n{gone}\n{unmounted}\n{other}\n")
    txt.chmod(0o640)
    return txt, mine, gone, unmounted, other


def test_environments_txt_fires_and_is_fixed(sandbox_home, tmp_path, inst, cli):
    _, site = inst
    txt, mine, gone, unmounted, other = _environments(sandbox_home, tmp_path)
    original = txt.read_bytes()
    found = permissions.check_environments_txt(make_ctx(sandbox_home, site))
    vanished = next(f for f in found if "no longer exist" in f.title)
    assert vanished.fixable and vanished.data["vanished"] == [str(gone)]
    assert vanished.title == f"1 environment in {txt} no longer exists"
    assert any("another OS" in f.title for f in found)
    assert any(unmounted in f.detail for f in found if f.severity == Severity.INFO)

    args = ("doctor", "permissions.environments_txt", "--site", str(site), "--fix")
    dry = cli(*args, "--dry-run")
    assert f"-{gone}" in dry.stdout and "would" in dry.stdout
    assert txt.read_bytes() == original  # dry run changes nothing

    done = cli(*args, "--yes")
    assert "applied" in done.stdout, done.stdout + done.stderr
    assert txt.read_text() == f"{mine}\n{unmounted}\n{other}\n"  # unreachable ones are kept
    assert txt.stat().st_mode & 0o777 == 0o640
    state = sandbox_home / ".local" / "state" / "condashare" / "backups"
    backups = list(state.glob("*environments.txt.*"))
    assert len(backups) == 1 and backups[0].read_bytes() == original
    again = cli(*args, "--yes")  # idempotent: nothing vanished any more
    assert "applied" not in again.stdout
    assert txt.read_text() == f"{mine}\n{unmounted}\n{other}\n"


def test_fix_without_terminal_and_without_yes_changes_nothing(sandbox_home, tmp_path, inst, cli):
    _, site = inst
    txt, *_ = _environments(sandbox_home, tmp_path)
    original = txt.read_bytes()
    res = cli("doctor", "permissions.environments_txt", "--site", str(site), "--fix")
    assert "re-run with --yes" in res.stderr
    assert txt.read_bytes() == original
    assert res.returncode == 1


def test_environments_txt_quiet_when_all_exist(sandbox_home, tmp_path, inst):
    _, site = inst
    env = tmp_path / "e1"
    (env / "conda-meta").mkdir(parents=True)
    (sandbox_home / ".conda").mkdir()
    (sandbox_home / ".conda" / "environments.txt").write_text(f"{env}\n")
    f = permissions.check_environments_txt(make_ctx(sandbox_home, site))
    assert f[0].severity == Severity.OK


def test_package_cache_size_and_free_space(sandbox_home, monkeypatch):
    pkgs = sandbox_home / ".conda" / "pkgs"
    (pkgs / "numpy-1.26.4-py311_0" / "lib").mkdir(parents=True)
    blob = pkgs / "numpy-1.26.4-py311_0" / "lib" / "core.so"
    blob.write_bytes(os.urandom(3 << 20))
    os.link(blob, pkgs / "hardlink-to-core.so")  # counted once, like du
    ctx = make_ctx(sandbox_home)
    f = space.check_user_pkgs(ctx)
    assert f[0].severity == Severity.OK
    assert 3 << 20 <= f[0].data["bytes"] < 4 << 20
    monkeypatch.setattr(space, "BIG_PKGS", 1 << 20)
    big = space.check_user_pkgs(ctx)
    assert big[0].severity == Severity.WARNING and "conda clean --all" in big[0].fix
    assert "numpy-1.26.4-py311_0" in big[0].detail
    assert space.check_user_envs(ctx)[0].severity == Severity.OK  # no envs dir yet
    free = space.check_free(ctx)
    assert free[0].data["free"] > 0
    monkeypatch.setattr(space, "LOW_FREE", free[0].data["free"] * 2)
    assert space.check_free(ctx)[0].severity == Severity.ERROR


def test_fix_edits_the_target_of_a_symlinked_environments_txt(sandbox_home, tmp_path, inst):
    from condashare.doctor.checks.permissions import fix_environments_txt

    _, site = inst
    txt, mine, gone, unmounted, other = _environments(sandbox_home, tmp_path)
    real = tmp_path / "dotfiles" / "environments.txt"
    real.parent.mkdir()
    txt.rename(real)
    txt.symlink_to(real)
    ctx = make_ctx(sandbox_home, site)
    plan = fix_environments_txt(ctx, [], False)
    assert not plan.applied and f"-{gone}" in plan.diff and real.read_text().count("\n") == 4
    done = fix_environments_txt(ctx, [], True)
    assert done.applied and txt.is_symlink()
    assert real.read_text() == f"{mine}\n{unmounted}\n{other}\n"
    assert fix_environments_txt(ctx, [], True).changed == ()  # twice = once
