"""``condashare site discover``: find installations, tell them apart by their own files, write a
site file that ``init`` and ``info`` then use — bounded on a dead share."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from condashare.host.mounts import read_mount_table
from condashare.site.discover import conda_exe_root, discover
from condashare.site.file import parse_site

DATA = Path(__file__).parent / "data"


def make_root(root: Path, header: str | None, subdir: str | None) -> Path:
    """A conda root prefix as discovery sees one: conda-meta/, etc/profile.d/conda.sh,
    bin/python (the first bytes of a real binary, see data/README.md) and one record."""
    (root / "bin").mkdir(parents=True)
    (root / "etc" / "profile.d").mkdir(parents=True)
    (root / "etc" / "profile.d" / "conda.sh").write_text("conda() { :; }\n")
    (root / "conda-meta").mkdir()
    (root / "conda-meta" / "history").write_text("")
    if header:
        shutil.copy(DATA / header, root / "bin" / "python")
    if subdir:
        record = {"name": "python", "version": "3.11.9", "build": "h0", "subdir": subdir}
        (root / "conda-meta" / "python-3.11.9-h0.json").write_text(json.dumps(record))
    env = root / "envs" / "isis4.3.0" / "conda-meta"
    env.mkdir(parents=True)  # an env below the root: not an installation of its own
    return root


def seed_site(share: Path) -> Path:
    """The seed story's /nfs/cpkgs: one installation per OS, and things that are not ones."""
    cpkgs = share / "cpkgs"
    make_root(cpkgs / "anaconda3_linux", "elf-x86_64.bin", "linux-64")
    make_root(cpkgs / "anaconda3_macOS", "macho-x86_64.bin", "osx-64")
    (cpkgs / "projects" / "notes").mkdir(parents=True)  # no conda here
    (cpkgs / "lone-env" / "conda-meta").mkdir(parents=True)  # an env, no conda.sh
    return cpkgs


def test_seed_site_found_and_told_apart(tmp_path):
    cpkgs = seed_site(tmp_path)
    found = discover([str(cpkgs)], {}, read_mount_table(), 10)
    by_name = {f.name: f for f in found.found}
    assert sorted(by_name) == ["anaconda3_linux", "anaconda3_macOS"]
    linux, mac = by_name["anaconda3_linux"], by_name["anaconda3_macOS"]
    assert (linux.os, linux.arch) == ("linux", ("x86_64",))
    assert (mac.os, mac.arch) == ("macos", ("x86_64",))
    assert linux.why.startswith("linux-x86_64 from bin/python's ELF header")
    assert "subdir linux-64" in linux.why and "agrees" in linux.why
    assert mac.why.startswith("macos-x86_64 from bin/python's Mach-O header")
    site = parse_site(found.text, "discovered")
    assert [(i.name, i.prefix, i.os, i.arch) for i in site.installations] == [
        ("anaconda3_linux", str(cpkgs / "anaconda3_linux"), "linux", ("x86_64",)),
        ("anaconda3_macOS", str(cpkgs / "anaconda3_macOS"), "macos", ("x86_64",)),
    ]


def test_universal_python_is_narrowed_by_conda_meta(tmp_path):
    make_root(tmp_path / "miniforge3", "macho-universal2.bin", "osx-arm64")
    (found,) = discover([str(tmp_path)], {}, read_mount_table(), 10).found
    assert (found.os, found.arch) == ("macos", ("arm64",))
    assert "Mach-O universal header (x86_64+arm64), narrowed by" in found.why


def test_conda_meta_alone_tells_the_platform(tmp_path):
    make_root(tmp_path / "mf", None, "linux-aarch64")
    (found,) = discover([str(tmp_path)], {}, read_mount_table(), 10).found
    assert (found.os, found.arch) == ("linux", ("arm64",))
    assert "from conda-meta/python-3.11.9-h0.json (subdir linux-aarch64)" in found.why


def test_disagreeing_files_are_left_out_with_the_reason(tmp_path):
    make_root(tmp_path / "copied", "elf-x86_64.bin", "osx-64")
    make_root(tmp_path / "silent", None, None)
    found = discover([str(tmp_path)], {}, read_mount_table(), 10)
    problems = {f.name: f.problem for f in found.found}
    assert "its files disagree: bin/python is ELF linux-x86_64" in problems["copied"]
    assert "cannot tell its platform" in problems["silent"]
    assert found.text is None  # nothing usable: no site file


def test_conda_exe_and_symlinks(tmp_path):
    share = seed_site(tmp_path / "share")
    own = make_root(tmp_path / "own" / "miniforge3", "elf-x86_64.bin", "linux-64")
    (share / "anaconda3").symlink_to(share / "anaconda3_linux")
    env = {"CONDA_EXE": str(own / "bin" / "conda")}
    found = discover([str(share)], env, read_mount_table(), 10)
    names = [(f.name, f.via) for f in found.found]
    assert names == [
        ("anaconda3", f"under {share}"),
        ("anaconda3_macOS", f"under {share}"),
        ("miniforge3", "CONDA_EXE"),
    ]
    assert any("anaconda3_linux is the same directory as" in n for n in found.notes)
    assert any("miniforge3 is for linux-x86_64 like anaconda3" in n for n in found.notes)


def test_conda_exe_root_is_string_work():
    assert conda_exe_root("/opt/mf/bin/conda") == "/opt/mf"
    assert conda_exe_root("/opt/mf/condabin/conda") == "/opt/mf"
    assert conda_exe_root("/opt/mf/bin/python") is None
    assert conda_exe_root("conda") is None


def test_discover_then_init_is_all_a_user_needs(tmp_path, sandbox_home, cli):
    cpkgs = seed_site(tmp_path)
    res = cli("site", "discover", str(cpkgs))
    assert res.returncode == 0, res.stderr
    site_file = sandbox_home / ".config" / "condashare" / "site.toml"
    assert f"wrote {site_file} (2 installations)" in res.stdout
    assert "linux-x86_64 from bin/python's ELF header" in res.stdout
    assert "next: condashare init" in res.stdout
    for plat, name in (("linux-x86_64", "anaconda3_linux"), ("macos-x86_64", "anaconda3_macOS")):
        info = cli("info", "--json", env={**os.environ, "CONDASHARE_PLATFORM": plat})
        data = json.loads(info.stdout)["data"]
        assert data["site"]["found_by"] == "user config"
        assert data["choice"]["installation"]["name"] == name
    init = cli("init", "--shell", "bash")
    assert init.returncode == 0, init.stderr
    assert "condashare/startup/posix.sh" in (sandbox_home / ".bashrc").read_text()  # short form
    code = (sandbox_home / ".local/state/condashare/startup/posix.sh").read_text()
    assert str(cpkgs / "anaconda3_linux") in code and str(cpkgs / "anaconda3_macOS") in code


def test_dry_run_prints_and_writes_nothing(tmp_path, sandbox_home, cli):
    cpkgs = seed_site(tmp_path)
    res = cli("site", "discover", "--dry-run", str(cpkgs))
    assert res.returncode == 0, res.stderr
    assert 'name = "anaconda3_macOS"' in res.stdout and "nothing" not in res.stderr
    assert not (sandbox_home / ".config" / "condashare" / "site.toml").exists()


def test_an_existing_site_file_is_kept_unless_forced(tmp_path, sandbox_home, cli):
    cpkgs = seed_site(tmp_path)
    site_file = sandbox_home / ".config" / "condashare" / "site.toml"
    site_file.parent.mkdir(parents=True)
    mine = b'# mine\n[[installations]]\nname = "x"\nprefix = "/x"\nos = "linux"\n'
    site_file.write_bytes(mine)
    res = cli("site", "discover", str(cpkgs))
    assert res.returncode == 2
    assert "a site file is already there; pass --force" in res.stderr
    assert site_file.read_bytes() == mine
    res = cli("site", "discover", "--force", str(cpkgs))
    assert res.returncode == 0, res.stderr
    assert b"anaconda3_linux" in site_file.read_bytes()
    backups = list((sandbox_home / ".local" / "state" / "condashare" / "backups").iterdir())
    assert [b.read_bytes() for b in backups] == [mine]


def test_nothing_found_exits_1(tmp_path, cli):
    (tmp_path / "empty").mkdir()
    res = cli("site", "discover", str(tmp_path / "empty"), str(tmp_path / "absent"))
    assert res.returncode == 1
    assert "absent: does not exist" in res.stdout
    assert "no site file written: no installation could be identified" in res.stdout


def test_hostile_names_stay_text_and_toml_stays_valid(tmp_path, cli):
    odd = make_root(tmp_path / 'conda "x" $HOME `id` èрт', "elf-x86_64.bin", "linux-64")
    make_root(tmp_path / "esc\x1b[31mred", "elf-x86_64.bin", "linux-64")
    found = discover([str(tmp_path)], {}, read_mount_table(), 10)
    (usable,) = found.usable
    assert usable.prefix == str(odd) and usable.name == "conda_x_HOME_id"
    assert parse_site(found.text, "t").installations[0].prefix == str(odd)
    (bad,) = [f for f in found.found if not f.usable]
    assert "control character" in bad.problem
    res = cli("site", "discover", "--dry-run", str(tmp_path))
    assert "\x1b" not in res.stdout and "esc\\x1b[31mred" in res.stdout


def test_info_and_init_point_to_discover_without_a_site_file(cli):
    info = cli("info")
    assert "condashare site discover DIR" in info.stdout
    init = cli("init", "--shell", "bash")
    assert init.returncode == 2 and "condashare site discover DIR" in init.stderr


def test_found_on_a_real_fuse_share(fuse_share, cli):
    seed_site(fuse_share.backing)
    res = cli("site", "discover", "--dry-run", str(fuse_share.mount / "cpkgs"))
    assert res.returncode == 0, res.stderr
    assert "on fuse.nfs nfsserver:/export/conda" in res.stdout
    assert "macos-x86_64 from bin/python's Mach-O header" in res.stdout


@pytest.mark.parametrize("warm", [False, True])
def test_hung_share_is_unresponsive_not_a_hang(any_share, sandbox_home, cli, warm):
    cpkgs = seed_site(any_share.backing)
    if warm:  # one healthy use first: the cached variant then answers stat from its cache
        assert cli("site", "discover", "--dry-run", str(any_share.mount / "cpkgs")).returncode == 0
    any_share.block()
    res = cli("site", "discover", "--timeout", "1", str(any_share.mount / "cpkgs"), timeout=60)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "unresponsive" in res.stdout
    assert "no site file written" in res.stdout
    assert res.seconds < 1 + 15  # probe timeout + interpreter start-up under load
    assert not (sandbox_home / ".config" / "condashare" / "site.toml").exists()
    assert cpkgs.exists()


def test_share_dying_between_search_and_identification(fuse_share):
    """The listing answered, then the share died: the installation is not guessed."""
    from condashare.site.discover import Root, identify

    seed_site(fuse_share.backing)
    searched = discover([str(fuse_share.mount / "cpkgs")], {}, read_mount_table(), 10)
    roots = [(Root(f.prefix, 0, i), f.via) for i, f in enumerate(searched.found)]
    fuse_share.block()
    found = identify(roots, list(searched.searched), 1, [])
    assert found.text is None and found.unanswered
    assert all("unresponsive" in f.problem for f in found.found)
