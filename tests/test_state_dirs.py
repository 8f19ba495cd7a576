"""One home for the state a home shared by Linux and macOS must share (condashare.host.dirs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.sharedsite import make_site
from test_site_discover import seed_site

from condashare.host import dirs
from condashare.host.detect import HostInputs
from condashare.host.mounts import read_mount_table
from condashare.shared_envs.memory import state_path
from condashare.shared_envs.setup import resolve_setup

REPO = Path(__file__).resolve().parents[1]
AS_MACOS = Path(__file__).parent / "support" / "as_macos.py"


def home_env(home: Path, plat: str, **extra: str) -> dict[str, str]:
    """A login environment without XDG variables (as on a Mac): only HOME decides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), CONDASHARE_PLATFORM=plat, PYTHONPATH=str(REPO), **extra)
    return env


def run(home: Path, plat: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """The CLI as Linux, or (``macos-…``) as a Mac would choose its directories."""
    entry = [str(AS_MACOS)] if plat.startswith("macos") else ["-m", "condashare"]
    return subprocess.run(
        [sys.executable, *entry, *args],
        capture_output=True,
        text=True,
        env=home_env(home, plat, **extra),
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_shared_kinds_are_one_place_and_caches_are_per_host(tmp_path):
    env = {"HOME": str(tmp_path)}
    assert dirs.user_site_file(env) == f"{tmp_path}/.config/condashare/site.toml"
    assert dirs.state_dir(env) == f"{tmp_path}/.local/state/condashare"
    for kind in (dirs.CONFIG, dirs.STATE):
        assert dirs.write_dir(kind, env, "linux") == dirs.write_dir(kind, env, "macos")
        assert f"{tmp_path}/Library/Application Support/condashare" in dirs.read_dirs(kind, env)
    linux = dirs.write_dir(dirs.CACHE, env, "linux", "node-1")
    assert linux == f"{tmp_path}/.cache/condashare/hosts/node-1"
    assert dirs.write_dir(dirs.CACHE, env, "macos", "mac 2") == (
        f"{tmp_path}/Library/Caches/condashare/hosts/mac_2"
    )
    hosts = f"{tmp_path}/.cache/condashare/hosts"
    for name, kept in [("node1.a", "node1.a"), ("..", "_."), (".", "_"), (".hidden", "_hidden"),
                       ("gpu07/../x", "gpu07_.._x"), ("", "unknown")]:  # fmt: skip
        assert dirs.write_dir(dirs.CACHE, env, "linux", name) == f"{hosts}/{kept}", name
    moved = {**env, "XDG_CONFIG_HOME": f"{tmp_path}/xdg"}
    assert dirs.user_site_files(moved)[:2] == [
        f"{tmp_path}/xdg/condashare/site.toml",
        f"{tmp_path}/.config/condashare/site.toml",
    ]


def test_site_file_discovered_on_linux_is_used_on_the_mac(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    cpkgs = seed_site(tmp_path / "nfs")
    found = run(home, "linux-x86_64", "site", "discover", str(cpkgs))
    assert found.returncode == 0, found.stderr
    info = run(home, "macos-x86_64", "info", "--json")
    data = json.loads(info.stdout)["data"]
    assert data["site"]["path"] == str(home / ".config" / "condashare" / "site.toml")
    assert data["choice"]["installation"]["name"] == "anaconda3_macOS"


def test_site_file_an_older_version_left_on_the_mac_is_read_on_linux(tmp_path):
    mac_dir = tmp_path / "Library" / "Application Support" / "condashare"
    mac_dir.mkdir(parents=True)
    (mac_dir / "site.toml").write_text('[[installations]]\nname="m"\nprefix="/m"\nos="macos"\n')
    info = run(tmp_path, "linux-x86_64", "info", "--json")
    assert json.loads(info.stdout)["data"]["site"]["path"] == str(mac_dir / "site.toml")


def test_shared_off_on_linux_is_remembered_on_the_mac(tmp_path):
    site = make_site(tmp_path)
    rc = site.home / ".condarc"
    before = f"envs_dirs:\n  - ~/mine\n  - {site.linux}/envs\n  - {site.macos}/envs\n"
    rc.write_text(before)
    common = ("--site", str(site.site_file))
    off = run(site.home, "linux-x86_64", "shared", "off", *common, "--conda-root",
              str(site.own_linux))  # fmt: skip
    assert off.returncode == 0, off.stdout + off.stderr
    assert rc.read_text() != before
    status = run(site.home, "macos-arm64", "shared", "status", "--json", *common,
                 "--conda-root", str(site.own_macos))  # fmt: skip
    assert json.loads(status.stdout)["data"]["remembered"] == [str(rc)]
    on = run(site.home, "macos-arm64", "shared", "on", *common, "--conda-root",
             str(site.own_macos))  # fmt: skip
    assert on.returncode == 0, on.stdout + on.stderr
    assert rc.read_text() == before  # the bytes Linux's `off` removed, restored on the Mac
    backups = site.home / ".local" / "state" / "condashare" / "backups"
    assert any(backups.iterdir())


def test_memory_an_older_version_kept_on_the_mac_is_found(tmp_path):
    """Before this change `shared off` on a Mac wrote ~/Library/Application Support: a Linux
    host of the same home finds that memory, and keeps it there (one copy, not two)."""
    site = make_site(tmp_path)
    old = site.home / "Library" / "Application Support" / "condashare"
    old.mkdir(parents=True)
    memory = {"version": 1, "files": {str(site.home / ".condarc"): {"data": "x"}}}
    (old / "shared-off.json").write_text(json.dumps(memory))
    env = {"HOME": str(site.home), "PATH": "/usr/bin:/bin"}
    inputs = HostInputs(system="Linux", machine="x86_64", env=env, mounts=[])
    setup = resolve_setup(site_path=str(site.site_file), env=env, inputs=inputs, mounts=[])
    assert setup.state_dir == str(old)
    found = json.loads(Path(state_path(setup.state_dir)).read_text())
    assert found["files"] == memory["files"]


def test_local_state_goes_to_the_first_local_writable_candidate(tmp_path, monkeypatch):
    """$CONDASHARE_LOCAL_DIR first, then the defaults; a relative one or a candidate where
    another user could have planted our dir is passed over, with the reason."""
    mounts = read_mount_table()
    mine = tmp_path / "scratch"
    mine.mkdir()
    fallback = tmp_path / "fallback"
    fallback.mkdir()
    monkeypatch.setattr(dirs, "LOCAL_BASES", (str(fallback),))
    chosen = dirs.local_state_root({"CONDASHARE_LOCAL_DIR": str(mine)}, mounts, "node7.example")
    assert chosen.root == f"{mine}/condashare-{dirs.user_name()}"
    assert chosen.host_dir == f"{chosen.root}/node7"
    assert "CONDASHARE_LOCAL_DIR" in chosen.why

    squat = mine / f"condashare-{dirs.user_name()}"
    squat.mkdir(mode=0o777)
    squat.chmod(0o777)
    again = dirs.local_state_root({"CONDASHARE_LOCAL_DIR": str(mine)}, mounts)
    assert again.base == str(fallback) and "default" in again.why
    assert any(str(squat) in r and "writable by other users" in r for r in again.refused)

    relative = dirs.local_state_root({"CONDASHARE_LOCAL_DIR": "scratch"}, mounts)
    assert "scratch: not an absolute path" in relative.refused
