"""``condashare kernels``: data dirs, names, sync, --reverse, --dry-run, safety, the launcher.

Kernelspecs are written by the real CLI into a sandbox home; the launcher runs in the real
/bin/sh with a fake ``uname`` first on PATH (as the init tests do) to take the Linux and the
macOS branch. Real kernels started by jupyter_client are in test_kernels_jupyter.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import need, run_cli
from support.kernelenv import make_installation, make_release, make_template, write_site
from test_init_shells import fake_uname

from condashare.kernels.paths import jupyter_data_dir, sync_data_dirs
from condashare.kernels.spec import display_name, kernel_name

HOSTILE = "'\";&&e-$ èрт🚒♞中片-j"


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("kernel-venv") / "venv")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path) -> Path:
    """Linux and macOS installations (both visible here, as on a share mounted alike)."""
    linux = make_installation(tmp_path / "cpkgs" / "anaconda3_linux")
    mac = make_installation(tmp_path / "cpkgs" / "anaconda3_macOS")
    make_release(linux / "envs", "isis4.3.0", template)
    make_release(linux / "envs", "isis10.0.0", template, ipykernel="pip")
    make_release(linux / "envs", "isis3.6.0", None, ipykernel=None)
    make_release(mac / "envs", "isis4.3.0", template, wrapper=True)
    make_release(mac / "envs", "isis8.0.0", template, wrapper=True)
    path = write_site(
        tmp_path / "site.toml", [("linux", linux, "linux", ""), ("mac", mac, "macos", "")], 2.0
    )
    monkeypatch.setenv("CONDASHARE_SITE", str(path))
    return path


def kernels_dir(home: Path, os_name: str = "linux") -> Path:
    if os_name == "macos":
        return home / "Library" / "Jupyter" / "kernels"
    return home / ".local" / "share" / "jupyter" / "kernels"


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` with its bytes (what a user would diff)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# --------------------------------------------------------------------------- where and names


@pytest.mark.parametrize("os_name", ["linux", "macos"])
@pytest.mark.parametrize(
    "env",
    [
        {},
        {"XDG_DATA_HOME": "/x/data"},
        {"JUPYTER_DATA_DIR": "/j/data"},
        {"JUPYTER_DATA_DIR": "", "XDG_DATA_HOME": "/x/data"},
    ],
)
def test_data_dir_is_the_one_jupyter_core_uses(os_name, env, sandbox_home, monkeypatch):
    """Same answer as the real jupyter_core, for Linux and (sys.platform = darwin) for macOS."""
    from jupyter_core import paths

    for var in ("JUPYTER_DATA_DIR", "XDG_DATA_HOME", "JUPYTER_PLATFORM_DIRS"):
        monkeypatch.delenv(var, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "platform", "darwin" if os_name == "macos" else "linux")
    expected = paths.jupyter_data_dir()
    assert jupyter_data_dir(os_name, dict(os.environ), str(sandbox_home))[0] == expected


def test_platform_dirs_variant():
    home = "/home/u"
    on = {"JUPYTER_PLATFORM_DIRS": "1"}
    assert jupyter_data_dir("macos", on, home)[0] == "/home/u/Library/Application Support/jupyter"
    assert jupyter_data_dir("linux", on, home)[0] == "/home/u/.local/share/jupyter"
    assert jupyter_data_dir("macos", {**on, "XDG_DATA_HOME": "/d"}, home)[0] == "/d/jupyter"
    off = {"JUPYTER_PLATFORM_DIRS": "off"}
    assert jupyter_data_dir("macos", off, home)[0] == "/home/u/Library/Jupyter"


def test_shared_home_gets_every_os_dir_and_jupyter_data_dir_stays_with_its_os():
    env = {"JUPYTER_DATA_DIR": "/local/jd", "XDG_DATA_HOME": "/home/u/xdg"}
    dirs = sync_data_dirs("macos", env, "/home/u", ["linux", "macos"])
    assert [(d.path, d.os) for d in dirs] == [
        ("/local/jd", "macos"),
        ("/home/u/xdg/jupyter", "linux"),
    ]
    only = sync_data_dirs("linux", {}, "/home/u")
    assert [(d.path, d.os) for d in only] == [("/home/u/.local/share/jupyter", "linux")]


def test_kernel_names_are_valid_stable_and_distinct():
    from jupyter_client.kernelspec import _is_valid_kernel_name

    assert kernel_name("isis4.3.0") == "condashare-isis4.3.0"
    assert display_name("isis4.3.0") == "isis 4.3.0 (shared)"
    assert display_name("base") == "base (shared)"
    names = {kernel_name(n) for n in (HOSTILE, "ISIS4.3.0", "isis4.3.0", "isis 4.3.0")}
    assert len(names) == 4
    for name in names:
        assert _is_valid_kernel_name(name)
    assert kernel_name(HOSTILE) == kernel_name(HOSTILE)


# --------------------------------------------------------------------------- sync


def test_writes_a_kernelspec_per_release_with_ipykernel(site, sandbox_home, tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager

    res = run_cli("kernels")
    assert res.returncode == 0, res.stderr + res.stdout
    ksm = KernelSpecManager(
        kernel_dirs=[str(kernels_dir(sandbox_home))], ensure_native_kernel=False
    )
    found = ksm.get_all_specs()
    shown = {name: spec["spec"]["display_name"] for name, spec in found.items()}
    # isis3.6.0 has no ipykernel; the macOS releases go to the Mac's dir only in a shared home
    assert shown == {
        "condashare-isis4.3.0": "isis 4.3.0 (shared)",
        "condashare-isis10.0.0": "isis 10.0.0 (shared)",
    }
    assert not kernels_dir(sandbox_home, "macos").exists()
    assert "isis3.6.0" in res.stdout and "without ipykernel" in res.stdout


def test_dry_run_shows_the_plan_and_writes_nothing(site, sandbox_home):
    res = run_cli("kernels", "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "create    condashare-isis4.3.0" in res.stdout
    assert '"display_name": "isis 4.3.0 (shared)"' in res.stdout  # the diff of kernel.json
    assert "nothing was written" in res.stdout
    assert not (sandbox_home / ".local" / "share" / "jupyter").exists()


def test_rerun_syncs_and_leaves_unchanged_kernelspecs_untouched(site, sandbox_home, tmp_path):
    kdir = kernels_dir(sandbox_home)
    foreign = kdir / "python3"
    foreign.mkdir(parents=True)
    (foreign / "kernel.json").write_text('{"argv": ["python3"], "display_name": "Python 3"}\n')
    assert run_cli("kernels").returncode == 0
    kept = kdir / "condashare-isis4.3.0" / "kernel.json"
    before = kept.stat().st_mtime_ns
    again = run_cli("kernels")
    assert again.returncode == 0 and "nothing to change" in again.stdout
    linux_envs = tmp_path / "cpkgs" / "anaconda3_linux" / "envs"
    import shutil

    shutil.rmtree(linux_envs / "isis10.0.0")
    make_release(linux_envs, "isis5.0.0", None, ipykernel="conda")
    res = run_cli("kernels")
    assert res.returncode == 0, res.stderr
    names = sorted(p.name for p in kdir.iterdir())
    assert names == ["condashare-isis4.3.0", "condashare-isis5.0.0", "python3"]
    assert kept.stat().st_mtime_ns == before  # unchanged one not rewritten
    assert (foreign / "kernel.json").read_text().startswith('{"argv": ["python3"]')


def test_a_foreign_kernelspec_with_our_name_is_left_alone(site, sandbox_home):
    theirs = kernels_dir(sandbox_home) / "condashare-isis4.3.0"
    theirs.mkdir(parents=True)
    text = '{"argv": ["/opt/py/bin/python", "-m", "ipykernel"], "display_name": "mine"}\n'
    (theirs / "kernel.json").write_text(text)
    res = run_cli("kernels")
    assert res.returncode == 1, res.stdout
    assert "conflict" in res.stdout and "did not write" in res.stdout
    assert (theirs / "kernel.json").read_text() == text
    assert sorted(p.name for p in theirs.iterdir()) == ["kernel.json"]
    reverse = run_cli("kernels", "--reverse")
    assert reverse.returncode == 0 and (theirs / "kernel.json").read_text() == text


def test_reverse_removes_exactly_what_kernels_added(site, sandbox_home, monkeypatch):
    monkeypatch.setenv("CONDASHARE_SHARED_HOME", "1")
    kdir = kernels_dir(sandbox_home)
    (kdir / "ir").mkdir(parents=True)
    (kdir / "ir" / "kernel.json").write_text('{"argv": ["R"], "display_name": "R"}')
    (kdir / "ir" / "logo-64x64.png").write_bytes(b"\x89PNG")

    def jupyter_files() -> dict[str, bytes]:
        return {**tree(sandbox_home / ".local" / "share"), **tree(sandbox_home / "Library")}

    home_before = jupyter_files()
    assert run_cli("kernels").returncode == 0
    assert (kernels_dir(sandbox_home, "macos") / "condashare-isis8.0.0" / "kernel.json").exists()
    res = run_cli("kernels", "--reverse")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "4 removed" in res.stdout  # 2 for Linux, 2 for the Mac
    assert jupyter_files() == home_before
    assert run_cli("kernels", "--reverse").stdout.count("nothing to change") == 1


def test_reverse_keeps_files_the_user_added_to_our_directory(site, sandbox_home):
    assert run_cli("kernels").returncode == 0
    ours = kernels_dir(sandbox_home) / "condashare-isis4.3.0"
    (ours / "notes.txt").write_text("mine")
    res = run_cli("kernels", "--reverse")
    assert res.returncode == 0
    assert sorted(p.name for p in ours.iterdir()) == ["notes.txt"]
    assert "kept the directory" in res.stdout


def test_shared_home_one_sync_serves_both_oses(site, sandbox_home, monkeypatch):
    """Run on Linux, then on a Mac of the same home: the Mac finds everything up to date."""
    monkeypatch.setenv("CONDASHARE_SHARED_HOME", "1")
    assert run_cli("kernels").returncode == 0
    linux, mac = kernels_dir(sandbox_home), kernels_dir(sandbox_home, "macos")
    assert sorted(p.name for p in linux.iterdir()) == [
        "condashare-isis10.0.0",
        "condashare-isis4.3.0",
    ]
    assert sorted(p.name for p in mac.iterdir()) == ["condashare-isis4.3.0", "condashare-isis8.0.0"]
    a, b = linux / "condashare-isis4.3.0", mac / "condashare-isis4.3.0"
    assert (a / "launch.sh").read_bytes() == (b / "launch.sh").read_bytes()
    argv = json.loads((b / "kernel.json").read_text())["argv"]
    assert (
        argv[:2] == ["/bin/sh", "-c"] and '"$HOME"/' in argv[2] and argv[-1] == "{connection_file}"
    )
    from_mac = run_cli("kernels", env={**os.environ, "CONDASHARE_PLATFORM": "macos-arm64"})
    assert from_mac.returncode == 0, from_mac.stderr
    assert "nothing to change" in from_mac.stdout


def test_an_installation_that_cannot_be_listed_removes_nothing(site, sandbox_home, tmp_path):
    assert run_cli("kernels").returncode == 0
    before = tree(kernels_dir(sandbox_home))
    linux = tmp_path / "cpkgs" / "anaconda3_linux"
    linux.rename(tmp_path / "cpkgs" / "moved")  # the share is not mounted here now
    res = run_cli("kernels")
    assert res.returncode == 0, res.stdout
    assert "skipped" in res.stdout and "no release list" in res.stdout
    assert tree(kernels_dir(sandbox_home)) == before


def test_no_site_file_is_a_clear_usage_error(sandbox_home):
    res = run_cli("kernels")
    assert res.returncode == 2 and "no site file" in res.stderr
    assert "internal error" not in res.stderr


def test_symlink_planted_by_another_user_is_not_followed(site, sandbox_home, tmp_path):
    need(os.geteuid() == 0, "needs root to give a symlink to another uid (lchown)")
    public = tmp_path / "public"
    public.mkdir(mode=0o1777)
    public.chmod(0o1777)
    victim = tmp_path / "victim-dir"
    victim.mkdir()
    planted = public / "jupyter"
    planted.symlink_to(victim)
    os.lchown(planted, 12345, 12345)
    res = run_cli("kernels", "--data-dir", str(planted))
    assert res.returncode == 3, res.stdout
    assert "symlink owned by another user" in res.stdout
    assert list(victim.iterdir()) == []
    theirs = public / "theirs"
    theirs.mkdir()
    os.chown(theirs, 12345, 12345)
    res = run_cli("kernels", "--data-dir", str(theirs))
    assert res.returncode == 3 and "belongs to another user" in res.stdout
    assert list(theirs.iterdir()) == []


# --------------------------------------------------------------------------- the launcher


def launch(
    kernel: Path, system: str, machine: str, tmp_path: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run a kernelspec's argv as Jupyter would, in the real /bin/sh, with a fake uname."""
    argv = json.loads((kernel / "kernel.json").read_text())["argv"]
    argv = [a.replace("{connection_file}", str(tmp_path / "conn.json")) for a in argv]
    bindir = fake_uname(tmp_path / f"uname-{system}-{machine}", system, machine)
    full = {"HOME": os.environ["HOME"], "PATH": f"{bindir}:/usr/bin:/bin", **env}
    return subprocess.run(argv, capture_output=True, text=True, env=full, timeout=30)


def spy_python(prefix: Path) -> None:
    """Replace the env's python by a script printing what the kernel would be started with."""
    python = prefix / "bin" / "python"
    python.unlink()
    names = ("CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_SHLVL", "CONDA_EXE", "FROM_ACTIVATE_D")
    lines = ["#!/bin/sh", "printf 'args=%s\\n' \"$*\"", "printf 'PATH=%s\\n' \"$PATH\""]
    lines += [f"printf '{n}=%s\\n' \"${{{n}-}}\"" for n in names]
    python.write_text("\n".join(lines) + "\n")
    python.chmod(0o755)


def parse(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@pytest.mark.parametrize(
    ("system", "machine", "inst"),
    [("Linux", "x86_64", "anaconda3_linux"), ("Darwin", "arm64", "anaconda3_macOS")],
)
def test_launcher_activates_the_release_of_this_machine(
    system, machine, inst, tmp_path, template, sandbox_home, monkeypatch
):
    share = tmp_path / "cpkgs"
    linux = make_installation(share / "anaconda3_linux")
    mac = make_installation(share / "anaconda3_macOS")
    for root in (linux, mac):
        env = make_release(root / "envs", HOSTILE, template)
        spy_python(env)
        hooks = env / "etc" / "conda" / "activate.d"
        hooks.mkdir(parents=True)
        (hooks / "isis.sh").write_text(
            'FROM_ACTIVATE_D="$CONDA_PREFIX/data"; export FROM_ACTIVATE_D\n'
        )
    site = write_site(
        tmp_path / "site.toml",
        [("linux", linux, "linux", "x86_64"), ("mac", mac, "macos", "arm64")],
        2.0,
    )
    monkeypatch.setenv("CONDASHARE_SITE", str(site))
    monkeypatch.setenv("CONDASHARE_SHARED_HOME", "1")
    assert run_cli("kernels").returncode == 0
    os_name = "macos" if system == "Darwin" else "linux"
    kernel = kernels_dir(sandbox_home, os_name) / kernel_name(HOSTILE)
    old = tmp_path / "old-env"
    proc = launch(kernel, system, machine, tmp_path, CONDA_PREFIX=str(old))
    assert proc.returncode == 0, proc.stderr
    got = parse(proc.stdout)
    prefix = share / inst / "envs" / HOSTILE
    assert got["CONDA_PREFIX"] == str(prefix)
    assert got["CONDA_DEFAULT_ENV"] == HOSTILE
    assert got["CONDA_SHLVL"] == "1" and got["CONDA_EXE"] == str(share / inst / "bin" / "conda")
    assert got["FROM_ACTIVATE_D"] == f"{prefix}/data"
    assert got["PATH"].split(":")[0] == f"{prefix}/bin"
    assert f"{old}/bin" not in got["PATH"].split(":")
    assert got["args"] == f"-m ipykernel_launcher -f {tmp_path / 'conn.json'}"


def test_launcher_says_clearly_why_it_cannot_start(site, sandbox_home, tmp_path, monkeypatch):
    monkeypatch.setenv("CONDASHARE_SHARED_HOME", "1")
    assert run_cli("kernels").returncode == 0
    linux_only = kernels_dir(sandbox_home) / "condashare-isis10.0.0"
    proc = launch(linux_only, "Darwin", "arm64", tmp_path)  # not installed for the Mac
    assert proc.returncode == 1
    assert "isis10.0.0 is not installed for this machine (Darwin arm64)" in proc.stderr
    both = kernels_dir(sandbox_home) / "condashare-isis4.3.0"
    proc = launch(both, "FreeBSD", "amd64", tmp_path)
    assert proc.returncode == 1 and "no shared installation for this machine" in proc.stderr
    # The Mac's installation holding Linux files (a copied site entry): named, not run.
    mac_env = tmp_path / "cpkgs" / "anaconda3_macOS" / "envs" / "isis4.3.0"
    (mac_env / "bin" / "python").unlink()
    (mac_env / "bin" / "python").symlink_to("python3")  # the venv's real ELF python
    proc = launch(both, "Darwin", "arm64", tmp_path)
    assert proc.returncode == 1 and "is a Linux (ELF) program" in proc.stderr


def test_json_output_describes_plan_and_outcome(site, sandbox_home):
    res = run_cli("kernels", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["command"] == "kernels" and doc["exit_code"] == 0 and doc["data"]["applied"]
    (linux_dir,) = doc["data"]["dirs"]
    assert linux_dir["os"] == "linux"
    assert sorted(k["name"] for k in linux_dir["kernels"] if k["action"] == "create") == [
        "condashare-isis10.0.0",
        "condashare-isis4.3.0",
    ]
    assert all(o["done"] for o in doc["data"]["outcomes"])


def test_data_dir_on_a_dead_share_does_not_hang_the_sync(any_share, site, sandbox_home):
    jdir = any_share.mount / "jupyter"
    env = {**os.environ, "JUPYTER_DATA_DIR": str(jdir)}
    assert run_cli("kernels", env=env).returncode == 0  # healthy: written through the share
    assert (any_share.backing / "jupyter" / "kernels" / "condashare-isis4.3.0").is_dir()
    any_share.block()
    res = run_cli("kernels", env=env, timeout=60)
    assert res.returncode == 3, res.stdout
    assert "unresponsive" in res.stdout
    assert res.seconds < 2.0 + 5  # one probe timeout (the site's) plus start-up
