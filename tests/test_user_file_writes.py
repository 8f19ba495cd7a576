"""Writing user files when the system says no: a read-only file, a read-only filesystem, a full
disk, odd symlinks — for ``shared on``, ``shared off`` and ``init``, run as a user runs them.

Every case must end with a message naming the file and the reason, exit 2 (a file the user
marked read-only: fix it) or 3 (the write could not be done), and the file byte for byte as it
was, with no temporary file left behind. Never "internal error".

The read-only filesystem is a read-only bind mount and the full disk a 256 KiB tmpfs, each in a
private mount namespace (``unshare -m``, root only): the host's mount table is not touched and
nothing is left mounted when a test dies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from conftest import CliResult, need
from support.userhome import make_install, user_env, write_site

LIMIT = 60.0  # seconds: only start-up and local writes (generous for a loaded machine)

COMMANDS = {
    "shared-on": ("shared", "on"),
    "shared-off": ("shared", "off"),
    "init": ("init", "--shell", "bash"),
}


def user_files(inst: Path) -> dict[str, bytes]:
    """What each command would change in the home, and nothing it would not."""
    return {
        ".condarc": f"# mine\nenvs_dirs:\n  - ~/mine   # keep\n  - {inst}/envs\n".encode(),
        ".bashrc": b"alias ll='ls -l'\n",
    }


def prepare(tmp_path: Path, command: str, state_in_home: bool) -> tuple[Path, dict[str, str]]:
    inst = make_install(tmp_path / "inst")
    site = write_site(tmp_path / "site.toml", inst)
    home = tmp_path / "home"
    home.mkdir()
    files = user_files(inst)
    if command == "shared-on":  # on has something to add only when the shared dir is absent
        files[".condarc"] = b"# mine\nenvs_dirs:\n  - ~/mine   # keep\n"
    for name, data in files.items():
        (home / name).write_bytes(data)
    state = home / ".local" / "state" if state_in_home else tmp_path / "state"
    return home, user_env(home, site, XDG_STATE_HOME=str(state))


def snapshot(home: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(home)): p.read_bytes()
        for p in sorted(home.rglob("*"))
        if p.is_file() and p.name != ".filler" and p.suffix != ".lock"  # an empty lock may stay
    }


def in_namespace(script: str, args: Sequence[str], env: dict[str, str]) -> CliResult:
    """``condashare ARGS`` after ``script`` (sh, with $H the home) in a private mount namespace."""
    need(os.geteuid() == 0, "needs root for a private mount namespace")
    need(shutil.which("unshare") is not None, "unshare (util-linux) is missing")
    cmd = ["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-m", "condashare", *args]
    proc = subprocess.run(
        cmd, env={**env, "H": env["HOME"]}, capture_output=True, text=True, timeout=LIMIT,
        stdin=subprocess.DEVNULL, cwd="/",
    )  # fmt: skip
    need("Operation not permitted" not in proc.stderr[:300], f"cannot mount: {proc.stderr}")
    return CliResult(proc.returncode, proc.stdout, proc.stderr, 0.0)


def every_case(test: Callable[..., None]) -> Callable[..., None]:
    """Each command, with condashare's state dir in the (broken) home or elsewhere."""
    states = pytest.mark.parametrize(
        "state_in_home", [False, True], ids=["state-elsewhere", "state-in-home"]
    )
    return states(pytest.mark.parametrize("command", list(COMMANDS))(test))


def cli(args: Sequence[str], env: dict[str, str]) -> CliResult:
    proc = subprocess.run(
        [sys.executable, "-m", "condashare", *args],
        env=env, capture_output=True, text=True, timeout=LIMIT, cwd="/",
    )  # fmt: skip
    return CliResult(proc.returncode, proc.stdout, proc.stderr, 0.0)


READ_ONLY = 'mount --bind "$H" "$H" && mount -o remount,ro,bind "$H" && exec "$@"'

# The home's files are copied onto a tiny tmpfs mounted over the home, the rest of it is filled,
# the command runs, and what it left is copied back out (the tmpfs dies with the namespace).
FULL_DISK = """
set -e
cp -a "$H" "$H.stage"
mount -t tmpfs -o size=256k,mode=0755 tmpfs "$H"
cp -a "$H.stage/." "$H/"
head -c 4M /dev/zero > "$H/.filler" 2>/dev/null || true
set +e
"$@"
rc=$?
rm -rf "$H.after" && cp -a "$H/." "$H.after/" || rc=99
exit $rc
"""


def check_failure(
    res: CliResult, code: int, words: str, before: dict[str, bytes], home: Path
) -> None:
    shown = res.stdout + res.stderr
    assert res.returncode == code, shown
    assert words in res.stderr, shown
    assert "internal error" not in shown and "Traceback" not in shown
    assert snapshot(home) == before  # nothing changed, no temp file, no backup in the home


@every_case
def test_read_only_filesystem(tmp_path: Path, command: str, state_in_home: bool) -> None:
    home, env = prepare(tmp_path, command, state_in_home)
    before = snapshot(home)
    res = in_namespace(READ_ONLY, COMMANDS[command], env)
    check_failure(res, 3, "the filesystem is mounted read-only", before, home)
    target = ".bashrc" if command == "init" else ".condarc"
    if not state_in_home:  # the lock and state were writable: the refusal is the file's own
        assert f"{home / target}: cannot write it" in res.stderr, res.stderr
    if command != "init":
        assert "nothing was written" in res.stderr
        assert "shared off` is remembered" not in cli(("shared", "status"), env).stdout


@every_case
def test_full_disk(tmp_path: Path, command: str, state_in_home: bool) -> None:
    home, env = prepare(tmp_path, command, state_in_home)
    before = snapshot(home)
    res = in_namespace(FULL_DISK, COMMANDS[command], env)
    after = Path(f"{home}.after")
    assert res.returncode != 99, res.stderr
    check_failure(res, 3, "no space left on the device", before, after)
    if command == "init":
        assert "files already written: none" in res.stderr
    else:
        assert "nothing was written" in res.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_file_marked_read_only_is_refused(tmp_path: Path, command: str) -> None:
    """Even root, which could write it: the owner said no (exit 2, fix it first)."""
    home, env = prepare(tmp_path, command, state_in_home=False)
    target = home / (".bashrc" if command == "init" else ".condarc")
    target.chmod(0o444)
    before = snapshot(home)
    check_failure(
        cli(COMMANDS[command], env),
        2,
        f"{target}: is read-only (no write permission); refusing to change it",
        before,
        home,
    )
    assert not (tmp_path / "state" / "condashare" / "backups").exists()


@pytest.mark.parametrize("command", ["shared-on", "init"])
def test_symlink_to_a_directory_is_refused(tmp_path: Path, command: str) -> None:
    """(``shared off`` reads such a ~/.condarc as conda does, as a directory of condarc files,
    and finds nothing to remove: see test_user_files_cli.)"""
    home, env = prepare(tmp_path, command, state_in_home=False)
    name = ".bashrc" if command == "init" else ".condarc"
    (home / name).unlink()
    (tmp_path / "a-dir").mkdir()
    (home / name).symlink_to(tmp_path / "a-dir")
    before = snapshot(home)
    check_failure(cli(COMMANDS[command], env), 2, "is a directory", before, home)
    assert list((tmp_path / "a-dir").iterdir()) == []


def test_dangling_symlink_condarc_gets_its_target_created(tmp_path: Path) -> None:
    """A dotfile manager's link whose target is not there yet: on creates the target and keeps
    the link."""
    home, env = prepare(tmp_path, "shared-on", state_in_home=False)
    (home / ".condarc").unlink()
    target = tmp_path / "dotfiles" / "condarc"
    target.parent.mkdir()
    (home / ".condarc").symlink_to(target)
    res = cli(("shared", "on"), env)
    assert res.returncode == 0, res.stderr
    assert (home / ".condarc").is_symlink() and f"{tmp_path}/inst/envs" in target.read_text()


def test_site_discover_on_a_read_only_home_could_not_finish(tmp_path: Path) -> None:
    """The site file cannot be written because the system refused: exit 3 (could not finish),
    as ``init`` and ``shared`` say, not 2 (which means "a site file is already there")."""
    inst = make_install(tmp_path / "share" / "anaconda3_linux")
    record = {"name": "python", "version": "3.11.9", "build": "h0", "subdir": "linux-64"}
    (inst / "conda-meta" / "python-3.11.9-h0.json").write_text(json.dumps(record))
    home = tmp_path / "home"
    home.mkdir()
    env = user_env(home, tmp_path / "no-site.toml", XDG_STATE_HOME=str(tmp_path / "state"))
    res = in_namespace(READ_ONLY, ("site", "discover", str(tmp_path / "share")), env)
    check_failure(res, 3, "the filesystem is mounted read-only", {}, home)
    assert "anaconda3_linux" in res.stdout  # what was found is still shown


def test_doctor_report_on_a_read_only_filesystem_could_not_finish(tmp_path: Path) -> None:
    """The diagnosis ran but its report could not be saved: exit 3, the reason and the file
    named once, not a usage error."""
    home, env = prepare(tmp_path, "shared-on", state_in_home=False)
    before = snapshot(home)
    report = home / "report.txt"
    res = in_namespace(READ_ONLY, ("doctor", "--report", str(report), "host"), env)
    check_failure(res, 3, "the filesystem is mounted read-only", before, home)
    assert f"{report}: cannot write it" in res.stderr and "--report" not in res.stderr
    assert "Host & site" in res.stdout  # the diagnosis itself was shown
