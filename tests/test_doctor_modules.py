"""doctor modules.files: condashare's modulefiles against today's releases, and dead dirs."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from support.doctor_env import make_ctx
from support.kernelenv import make_installation, make_release, write_site

from condashare.doctor.checks import modules as check
from condashare.doctor.model import Finding, Severity


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Linux and macOS installations; isis10.0.0 only on Linux."""
    linux = make_installation(tmp_path / "cpkgs" / "anaconda3_linux")
    mac = make_installation(tmp_path / "cpkgs" / "anaconda3_macOS")
    for root in (linux, mac):
        make_release(root / "envs", "isis4.3.0", None, ipykernel=None)
    make_release(linux / "envs", "isis10.0.0", None, ipykernel=None)
    path = write_site(
        tmp_path / "site.toml",
        [("linux", linux, "linux", "x86_64"), ("mac", mac, "macos", "arm64")],
        2.0,
    )
    monkeypatch.setenv("CONDASHARE_SITE", str(path))
    return path


def run(home: Path, site: Path, **kw: Any) -> list[Finding]:
    return check.check_modulefiles(make_ctx(home, site, **kw))


def test_no_modulefiles_is_info(sandbox_home, site):
    found = run(sandbox_home, site)
    assert [f.severity for f in found] == [Severity.INFO], found
    assert "no modulefiles of condashare's" in found[0].title


def test_a_fresh_set_is_ok(sandbox_home, site):
    assert run_cli("modules").returncode == 0
    found = run(sandbox_home, site)
    assert [f.severity for f in found] == [Severity.OK], found


def test_a_new_and_a_removed_release_are_reported_with_the_fix(sandbox_home, site, tmp_path):
    assert run_cli("modules").returncode == 0
    for inst in ("anaconda3_linux", "anaconda3_macOS"):
        make_release(tmp_path / "cpkgs" / inst / "envs", "isis4.4.0", None, ipykernel=None)
    shutil.rmtree(tmp_path / "cpkgs" / "anaconda3_linux" / "envs" / "isis10.0.0")
    found = {f.title: f for f in run(sandbox_home, site)}
    new = next(f for t, f in found.items() if "has no modulefile" in t)
    assert new.title.startswith("1 shared release has no modulefile in ")  # not "release(s) have"
    gone = next(f for t, f in found.items() if "releases that are gone" in t)
    assert new.severity == gone.severity == Severity.WARNING
    assert new.data["modules"] == ["isis/4.4.0"] and gone.data["modules"] == ["isis/10.0.0"]
    assert "condashare modules --dir" in new.fix
    assert run_cli("modules").returncode == 0  # the fix, then all is well
    assert [f.severity for f in run(sandbox_home, site)] == [Severity.OK]


def test_a_changed_site_file_makes_the_files_stale(sandbox_home, site, tmp_path):
    mdir = tmp_path / "mf"
    assert run_cli("modules", "--dir", str(mdir), "--format", "tcl").returncode == 0
    site.write_text(site.read_text().replace("probe_timeout = 2.0", "probe_timeout = 5.0"))
    found = run(sandbox_home, site, env={"MODULEPATH": f"/usr/share/modules:{mdir}"})
    stale = [f for f in found if "not what condashare writes today" in f.title]
    assert len(stale) == 1 and stale[0].data["modules"] == ["isis/4.3.0", "isis/10.0.0"], found


def test_a_release_this_machine_lacks_is_told(sandbox_home, site):
    assert run_cli("modules").returncode == 0
    found = run(sandbox_home, site, system="Darwin", machine="arm64")
    assert [f.severity for f in found] == [Severity.INFO], found
    assert "cannot be loaded on this machine" in found[0].title
    assert found[0].data["modules"] == ["isis/10.0.0"]


@pytest.mark.fuse
def test_a_modulefile_dir_on_a_dead_share_is_an_error_not_a_hang(sandbox_home, site, any_share):
    mdir = any_share.mount / "modulefiles"
    assert run_cli("modules", "--dir", str(mdir)).returncode == 0
    run(sandbox_home, site, env={"MODULEPATH": str(mdir)})  # warm the client's caches
    any_share.block()
    start = time.monotonic()
    found = run(sandbox_home, site, env={"MODULEPATH": str(mdir)})
    assert time.monotonic() - start < 2.0 + 1.0 + 1.0  # scan bound (max(timeout, 2 s)) + 1 s
    dead = [f for f in found if "does not answer" in f.title]
    assert len(dead) == 1 and dead[0].severity == Severity.ERROR, found


@pytest.mark.fuse
def test_the_installation_share_dead_makes_load_fail_here(sandbox_home, any_share, tmp_path):
    root = make_installation(any_share.mount / "anaconda3_linux")
    make_release(root / "envs", "isis4.3.0", None, ipykernel=None)
    site = write_site(tmp_path / "site.toml", [("linux", root, "linux", "")], 1.0)
    assert run_cli("modules", "--site", str(site)).returncode == 0
    any_share.block()
    found = run(sandbox_home, site)
    assert any("fails on this machine" in f.title for f in found), found
    assert not any(f.data.get("modules") for f in found)  # a dead share removes nothing
