"""doctor jupyter.kernelspecs: kernelspecs that cannot start here, ours and other people's."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import FuseShare, run_cli
from support.doctor_env import MACHO_ARM64_HEAD, make_ctx, problems
from support.kernelenv import make_installation, make_release, make_template, write_site

from condashare.doctor.checks import kernels as check
from condashare.findings import Severity


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("kernel-venv") / "venv")


def kdir(home: Path) -> Path:
    return home / ".local" / "share" / "jupyter" / "kernels"


def foreign(home: Path, name: str, python: str) -> Path:
    """A kernelspec as `python -m ipykernel install --user` writes it."""
    spec = kdir(home) / name
    spec.mkdir(parents=True)
    argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": name.upper()}))
    return spec


@pytest.fixture
def two_os(tmp_path: Path, template: Path) -> tuple[Path, Path, Path]:
    linux = make_installation(tmp_path / "cpkgs" / "anaconda3_linux")
    mac = make_installation(tmp_path / "cpkgs" / "anaconda3_macOS")
    make_release(linux / "envs", "isis4.3.0", template)
    mac_env = make_release(mac / "envs", "isis4.3.0", None)
    (mac_env / "bin").mkdir()
    (mac_env / "bin" / "python").write_bytes(MACHO_ARM64_HEAD + bytes(512))
    site = write_site(
        tmp_path / "site.toml", [("linux", linux, "linux", ""), ("mac", mac, "macos", "")], 2.0
    )
    return linux, mac, site


def test_healthy_kernelspecs_are_ok(sandbox_home, two_os, monkeypatch):
    _, _, site = two_os
    monkeypatch.setenv("CONDASHARE_SITE", str(site))
    assert run_cli("kernels").returncode == 0
    import sys

    foreign(sandbox_home, "python3", sys.executable)
    found = check.check_kernelspecs(make_ctx(sandbox_home, site))
    assert [f.severity for f in found] == [Severity.OK], found
    assert "2 kernelspecs can start" in found[0].title


def test_missing_interpreter_and_other_os_interpreter(sandbox_home, two_os, tmp_path):
    _, mac, site = two_os
    foreign(sandbox_home, "gone", str(tmp_path / "nowhere" / "bin" / "python"))
    foreign(sandbox_home, "macenv", str(mac / "envs" / "isis4.3.0" / "bin" / "python"))
    elsewhere = tmp_path / "copied-from-a-mac" / "bin" / "python"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_bytes(MACHO_ARM64_HEAD + bytes(512))
    foreign(sandbox_home, "macho", str(elsewhere))
    found = {f.data["kernelspec"].rsplit("/", 1)[1]: f for f in problems(
        check.check_kernelspecs(make_ctx(sandbox_home, site))
    )}  # fmt: skip
    assert set(found) == {"gone", "macenv", "macho"}
    assert "missing interpreter" in found["gone"].title
    assert "jupyter kernelspec remove gone" in found["gone"].fix
    assert "of the macos installation 'mac'" in found["macenv"].title
    assert "runs a macos program (Mach-O)" in found["macho"].title
    assert all(f.severity == Severity.ERROR for f in found.values())


def test_our_kernel_for_a_removed_release_and_an_edited_launcher(sandbox_home, two_os, monkeypatch):
    linux, _, site = two_os
    monkeypatch.setenv("CONDASHARE_SITE", str(site))
    assert run_cli("kernels").returncode == 0
    ours = kdir(sandbox_home) / "condashare-isis4.3.0"
    with open(ours / "launch.sh", "a") as fh:
        fh.write("# edited\n")
    shutil.rmtree(linux / "envs" / "isis4.3.0")
    found = problems(check.check_kernelspecs(make_ctx(sandbox_home, site)))
    titles = sorted(f.title for f in found)
    assert any("launcher of kernel condashare-isis4.3.0" in t for t in titles), titles
    gone = next(f for f in found if "missing interpreter" in f.title)
    assert "condashare kernels" in gone.fix and gone.data["ours"] is True


def test_our_kernels_made_on_linux_are_judged_for_the_mac_on_a_mac(
    sandbox_home, two_os, monkeypatch
):
    """A Mac of the shared home checks the Mac's python (Mach-O: right there), not Linux's."""
    _, _, site = two_os
    monkeypatch.setenv("CONDASHARE_SITE", str(site))
    monkeypatch.setenv("CONDASHARE_SHARED_HOME", "1")
    assert run_cli("kernels").returncode == 0
    mac_ctx = make_ctx(sandbox_home, site, system="Darwin", machine="arm64")
    found = check.check_kernelspecs(mac_ctx)
    assert [f.severity for f in found] == [Severity.OK], found
    assert (sandbox_home / "Library" / "Jupyter" / "kernels" / "condashare-isis4.3.0").is_dir()


def test_kernelspec_on_a_dead_share_is_reported_without_hanging(
    any_share: FuseShare, sandbox_home, tmp_path
):
    env_dir = any_share.backing / "envs" / "old"
    (env_dir / "bin").mkdir(parents=True)
    with open("/proc/self/exe", "rb") as fh:
        (env_dir / "bin" / "python").write_bytes(fh.read(4096))
    foreign(sandbox_home, "onshare", str(any_share.mount / "envs" / "old" / "bin" / "python"))
    site = write_site(tmp_path / "site.toml", [("linux", tmp_path / "none", "linux", "")], 1.0)
    ctx = make_ctx(sandbox_home, site)
    assert check.check_kernelspecs(ctx)[0].severity == Severity.OK  # healthy (and warm)
    any_share.block()
    started = time.monotonic()
    found = problems(check.check_kernelspecs(ctx))
    assert time.monotonic() - started < 1.0 + 2
    assert len(found) == 1 and "does not answer" in found[0].title
    assert "notebook server wait" in found[0].detail


def test_doctor_cli_reports_a_broken_kernelspec(sandbox_home, tmp_path):
    foreign(sandbox_home, "gone", str(tmp_path / "nowhere" / "bin" / "python"))
    res = run_cli("doctor", "jupyter")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "kernel gone (GONE) points at a missing interpreter" in res.stdout
    assert "jupyter kernelspec remove gone" in res.stdout
