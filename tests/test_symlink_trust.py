"""A symlink another local user planted where the victim's startup or condarc file is looked up.

The victim (root here, the worst case: it can write anything) points ``$ENV``, ``ZDOTDIR`` or
``XDG_CONFIG_HOME`` into a shared sticky directory (mode 1777, like /tmp). A second real user
(uid 54321, via ``setpriv``) puts a symlink there aimed at the victim's
``~/.ssh/authorized_keys`` (or its directory). Every writer must refuse to follow it — saying
whose link it is and where — and leave the victim's files alone; a link the victim made there
itself is followed as before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import need
from support.userhome import make_install, user_env, write_site
from support.users import SECOND_UID, as_second_user

from condashare.files.links import UnsafeLink
from condashare.files.write import atomic_write

KEYS = b"ssh-ed25519 AAAAC3Nza victim@host\n"


@pytest.fixture
def sticky() -> Iterator[Path]:
    """A world-writable sticky directory both users can reach (under /tmp: the test's own
    temp dirs are 0700 root, which the second user cannot enter)."""
    path = Path(tempfile.mkdtemp(prefix="condashare-sticky-", dir="/tmp"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path)


def plant(link: Path, target: Path) -> None:
    """The second user makes the symlink (a real link owned by uid 54321)."""
    proc = subprocess.run(
        [*as_second_user(), "ln", "-s", str(target), str(link)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert link.lstat().st_uid == SECOND_UID


def victim(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "authorized_keys").write_bytes(KEYS)
    inst = make_install(tmp_path / "inst")
    return home, user_env(home, write_site(tmp_path / "site.toml", inst))


def condashare(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "condashare", *args],
        env=env, capture_output=True, text=True, timeout=60, cwd="/",
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def ssh_untouched(home: Path) -> None:
    assert sorted(p.name for p in (home / ".ssh").iterdir()) == ["authorized_keys"]
    assert (home / ".ssh" / "authorized_keys").read_bytes() == KEYS


# variable -> (shell, link name, what the link points at, the file init would write)
CASES = {
    "ENV": ("sh", "rc", ".ssh/authorized_keys", "rc"),
    "ZDOTDIR": ("zsh", "zdot", ".ssh", "zdot/.zshrc"),
    "XDG_CONFIG_HOME": ("fish", "config", ".ssh", "config/fish/conf.d/condashare.fish"),
}


@pytest.mark.parametrize("variable", list(CASES))
def test_init_refuses_another_users_link_in_a_sticky_dir(
    tmp_path: Path, sticky: Path, variable: str
) -> None:
    home, env = victim(tmp_path)
    shell, name, aim, _ = CASES[variable]
    plant(sticky / name, home / aim)
    env[variable] = str(sticky / name)
    res = condashare(["init", "--shell", shell], env)
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"{sticky / name}: is a symlink owned by uid {SECOND_UID}" in res.stderr, res.stderr
    assert f"in {sticky}, a directory others can write" in res.stderr
    assert "nothing was changed" in res.stderr
    ssh_untouched(home)


@pytest.mark.parametrize("variable", list(CASES))
def test_init_follows_the_users_own_link_there(tmp_path: Path, sticky: Path, variable: str) -> None:
    _, env = victim(tmp_path)
    shell, name, _, written = CASES[variable]
    own = tmp_path / "mine"
    own.mkdir()
    (sticky / name).symlink_to(own / "rc" if variable == "ENV" else own)
    env[variable] = str(sticky / name)
    res = condashare(["init", "--shell", shell], env)
    assert res.returncode == 0, res.stdout + res.stderr
    inner = written.split("/", 1)[1] if "/" in written else "rc"
    assert "condashare" in (own / inner).read_text()
    assert (sticky / name).is_symlink()


def test_shared_on_refuses_another_users_link_as_its_file(tmp_path: Path, sticky: Path) -> None:
    home, env = victim(tmp_path)
    plant(sticky / "condarc", home / ".ssh" / "authorized_keys")
    res = condashare(["shared", "on", "--file", str(sticky / "condarc")], env)
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"{sticky / 'condarc'}: is a symlink owned by uid {SECOND_UID}" in res.stderr
    ssh_untouched(home)


def test_every_writer_checks_the_directories_on_the_way(tmp_path: Path, sticky: Path) -> None:
    """atomic_write (kernelspecs, modulefiles, backups) reaches its directory through the same
    rule: a data dir behind another user's link is refused before anything is created."""
    home, _ = victim(tmp_path)
    plant(sticky / "data", home / ".ssh")
    with pytest.raises(UnsafeLink) as info:
        atomic_write(str(sticky / "data" / "kernel.json"), b"{}")
    assert info.value.link == str(sticky / "data")
    ssh_untouched(home)


@pytest.mark.parametrize("mode, followed", [(0o755, True), (0o775, False), (0o1777, False)])
def test_a_link_in_a_directory_only_the_user_can_write_is_followed(
    tmp_path: Path, mode: int, followed: bool
) -> None:
    """Someone else's link (restored from a backup, say) in a directory nobody else can write
    could only have been put there with the user's consent: followed. Group- or world-writable:
    refused."""
    from condashare.files.links import resolve_trusted

    need(os.geteuid() == 0, "needs root to give a link to another uid")
    place = tmp_path / "place"
    place.mkdir()
    (tmp_path / "real").write_text("x\n")
    (place / "rc").symlink_to(tmp_path / "real")
    os.lchown(place / "rc", SECOND_UID, SECOND_UID)
    place.chmod(mode)
    if followed:
        assert resolve_trusted(str(place / "rc")) == (str(tmp_path / "real"), True)
    else:
        with pytest.raises(UnsafeLink):
            resolve_trusted(str(place / "rc"))
