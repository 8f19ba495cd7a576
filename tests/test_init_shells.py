"""`condashare init` in real shells: bash, zsh, dash, tcsh and fish, each started like a user's.

The installations' conda.sh / conda.csh / conda.fish have the shape conda installs
(tests/support/conda_shell.py); their ``conda`` runs the installation's ``bin/conda``, which names
the installation it came from, so each test sees which branch of the block ran. A fake ``uname``
first on PATH plays Linux and macOS on x86_64 and arm64 (the block takes the OS from uname).
Prefixes are hostile paths (quotes, ``$``, ``&&``, spaces, non-ASCII) in every shell.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from conftest import FuseShare, need_shell
from support.shellrun import (
    SHELLS,
    Env,
    clean_stderr,
    fake_uname,
    init,
    make_installation,
    seed_startup_files,
    show_unavailable,
    start,
    write_site,
)

HOSTILE = "'\";&&e-$ èрт🚒♞中片-j"
HOSTILE2 = "bang! back`tick`\\slash $HOME"
PLATFORMS = [("Linux", "x86_64"), ("Linux", "aarch64"), ("Darwin", "x86_64"), ("Darwin", "arm64")]

pytestmark = pytest.mark.shells


@pytest.fixture
def four(tmp_path: Path) -> Env:
    """A site with four installations (Linux/macOS x x86_64/arm64) at hostile paths."""
    root = tmp_path / HOSTILE
    installs = []
    for system, machine in PLATFORMS:
        label = f"{system}-{machine}"
        prefix = root / label / "anaconda3"
        make_installation(prefix, label)
        os_name = "linux" if system == "Linux" else "macos"
        installs.append((label, prefix, os_name, machine))
    site = write_site(tmp_path / "site.toml", installs, 2.0)
    home = Path(os.environ["HOME"])
    seed_startup_files(home)
    return Env(home, site, root)


@pytest.mark.parametrize("shell", SHELLS)
def test_each_platform_gets_its_installation(four: Env, shell: str, tmp_path: Path) -> None:
    init(four)
    for system, machine in PLATFORMS:
        bindir = fake_uname(tmp_path / f"bin-{system}-{machine}", system, machine)
        for mode in ("interactive", "login"):
            _rc, out, err, _ = start(shell, mode, "conda", four.env(bindir))
            assert f"conda-from-{system}-{machine}" in out, (mode, system, machine, out, err)
            assert clean_stderr(err) == "", (mode, err)


@pytest.mark.parametrize("shell", SHELLS)
def test_non_interactive_shells_print_nothing(four: Env, shell: str, tmp_path: Path) -> None:
    init(four)
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    modes = ["plain"] + (["login"] if shell in ("bash", "dash", "fish") else [])
    for mode in modes:
        rc, out, err, _ = start(shell, mode, "true", four.env(bindir))
        assert (rc, out, err) == (0, "", ""), (mode, out, err)


def test_login_bash_sources_block_once_even_when_profile_sources_bashrc(four: Env) -> None:
    home = four.home
    (home / ".profile").write_text('[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"\n')
    (home / ".bashrc").write_text('export RUNS="${RUNS-}x"\n')
    init(four)
    # The block counts its own runs through a wrapper conda.sh side effect: use RUNS in .bashrc
    # and check the guard variable equals the shell's PID once.
    _rc, out, _err, _ = start("bash", "login", 'echo "$RUNS $_CONDASHARE_DONE $$"', four.env())
    runs, done, pid = out.split()
    assert runs == "x" and done == pid
    assert not (home / ".bash_profile").exists(), "must not create a .bash_profile hiding .profile"


def test_block_runs_once_per_shell_and_again_in_child_shells(four: Env, tmp_path: Path) -> None:
    prefix = four.root / "Linux-x86_64" / "anaconda3"
    with open(prefix / "etc/profile.d/conda.sh", "a") as fh:
        fh.write('SOURCED="${SOURCED-}+"\n')
    init(four)
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    cmd = 'echo "$SOURCED"; bash -i -c \'echo "child:$SOURCED"; conda\''
    _rc, out, _err, _ = start(
        "bash", "login", f"[ -f ~/.bashrc ] && . ~/.bashrc; {cmd}", four.env(bindir)
    )
    lines = out.split()
    assert lines[0] == "+", out  # .profile block ran, sourcing .bashrc again did not re-run it
    assert "conda-from-Linux-x86_64" in lines  # a child shell sets conda up for itself


@pytest.mark.parametrize("shell", SHELLS)
def test_second_hostile_prefix_with_bang_backtick_backslash(tmp_path: Path, shell: str) -> None:
    prefix = tmp_path / HOSTILE2 / "inst"
    make_installation(prefix, "odd")
    site = write_site(tmp_path / "site.toml", [("odd", prefix, "linux", "x86_64")], 2.0)
    env = Env(Path(os.environ["HOME"]), site, tmp_path)
    seed_startup_files(env.home)
    init(env)
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    _rc, out, err, _ = start(shell, "interactive", "conda", env.env(bindir))
    assert "conda-from-odd" in out, (out, err)
    assert clean_stderr(err) == ""


@pytest.mark.parametrize("shell", SHELLS)
def test_missing_share_starts_quietly_and_says_so_only_interactively(
    four: Env, shell: str, tmp_path: Path
) -> None:
    init(four)
    (four.root / "Linux-x86_64").rename(four.root / "gone")
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    _rc, out, err, _ = start(shell, "plain", "true", four.env(bindir))
    assert (out, err) == ("", "")
    probe = show_unavailable(shell)
    _rc, out, err, _ = start(shell, "interactive", probe, four.env(bindir))
    assert "1" in out.split()
    assert "condashare: shared conda" in err and "missing" in err


def test_no_installation_for_platform_is_quiet_non_interactively(tmp_path: Path) -> None:
    prefix = tmp_path / "only-linux"
    make_installation(prefix, "only")
    site = write_site(tmp_path / "site.toml", [("l", prefix, "linux", "x86_64")], 2.0)
    env = Env(Path(os.environ["HOME"]), site, tmp_path)
    seed_startup_files(env.home)
    init(env)
    bindir = fake_uname(tmp_path / "bin", "Darwin", "arm64")
    assert start("bash", "login", "true", env.env(bindir))[1:3] == ("", "")
    _, out, err, _ = start("bash", "interactive", "type conda || echo none", env.env(bindir))
    assert "none" in out and "no shared conda installation for Darwin arm64" in err


# ---------------------------------------------------------------- hung and failing FUSE share

TIMEOUT = 0.5


@pytest.fixture
def on_share(fuse_share: FuseShare, tmp_path: Path) -> Env:
    """One Linux installation inside the FUSE share (shown as fuse.nfs), probe timeout 0.5 s."""
    shown = fuse_share.mount / HOSTILE / "anaconda3"
    make_installation(fuse_share.backing / HOSTILE / "anaconda3", "share", shown)
    site = write_site(tmp_path / "site.toml", [("share", shown, "linux", "x86_64")], TIMEOUT)
    env = Env(Path(os.environ["HOME"]), site, fuse_share.mount)
    seed_startup_files(env.home)
    init(env)
    return env


@pytest.mark.fuse
@pytest.mark.parametrize("shell", SHELLS)
def test_healthy_share_is_probed_and_used(on_share: Env, shell: str, tmp_path: Path) -> None:
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    _rc, out, err, _ = start(shell, "interactive", "conda", on_share.env(bindir))
    assert "conda-from-share" in out, (out, err)


@pytest.mark.fuse
@pytest.mark.parametrize("form", ["short", "full"])
@pytest.mark.parametrize("shell", SHELLS)
def test_hung_share_every_shell_starts_within_timeout(
    on_share: Env, fuse_share: FuseShare, shell: str, form: str, tmp_path: Path
) -> None:
    """Interactive and login shells return within probe timeout + 1 s with stdout and stderr
    captured through pipes: communicate() waits for EOF, so a stuck probe still holding the
    shell's stdout/stderr would make this hang (what `bash -i -c exit | cat` and ssh see).
    Both forms of the block: the short line sources the same code from the home."""
    init(on_share, "--form", form)
    # Not tmp_path/bin: man-db's manpath, run by Environment Modules' login hook, stats
    # DIR/../share/man for each PATH entry, and tmp_path/share is the hung mount.
    bindir = fake_uname(tmp_path / "fake" / "bin", "Linux", "x86_64")
    fuse_share.block()
    probe = show_unavailable(shell)
    for mode in ("interactive", "login", "plain"):
        _rc, out, err, elapsed = start(shell, mode, probe, on_share.env(bindir), timeout=30)
        assert elapsed < TIMEOUT + 1.0, (mode, elapsed)
        if mode == "plain" and shell in ("bash", "dash", "zsh"):
            continue  # these do not read a startup file in a plain `-c` shell
        assert "1" in out.split(), (mode, out, err)
        if mode == "plain":
            assert err == "", err
        elif mode == "interactive":
            assert "unresponsive" in err


@pytest.mark.fuse
def test_bash_pipe_is_released_promptly_with_hung_share(
    on_share: Env, fuse_share: FuseShare, tmp_path: Path
) -> None:
    """The literal `bash -i -c exit | cat` from the issue: the pipeline ends after the timeout."""
    bash = need_shell("bash")
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    fuse_share.block()
    t0 = time.monotonic()
    proc = subprocess.run(
        [bash, "-c", f"{bash} -i -c exit 2>&1 | cat"], capture_output=True,
        env=on_share.env(bindir), timeout=30, cwd=str(on_share.home),
    )  # fmt: skip
    assert time.monotonic() - t0 < TIMEOUT + 1.0
    assert b"unresponsive" in proc.stdout


@pytest.mark.fuse
@pytest.mark.parametrize("shell", ["bash", "dash", "tcsh", "fish", "zsh"])
def test_failing_share_estale_reports_unavailable(
    on_share: Env, fuse_share: FuseShare, shell: str, tmp_path: Path
) -> None:
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    fuse_share.fail("ESTALE")
    _rc, _out, err, elapsed = start(shell, "interactive", "true", on_share.env(bindir))
    assert elapsed < TIMEOUT + 1.0
    assert "condashare: shared conda" in err


# ---------------------------------------------------------------- the mount-table lookup itself


def shell_fstype(shell: str, prefix: str) -> str:
    """Run shell/check.sh's lookup in ``shell`` and return the filesystem type it found
    (``bash-exact``: bash on the line-by-line path that dash takes)."""
    from condashare.shells.code import check_code, mountinfo_escape

    code = check_code().replace("unset _condashare_fs\n", "")
    script = code + 'printf "%s\\n" "$_condashare_fs"\n'
    if shell == "bash-exact":
        shell, script = "bash", "unset BASH_VERSION\n" + script
    res = subprocess.run(
        [need_shell(shell), "-c", script, "sh"],
        env={"PATH": "/usr/bin:/bin", "_condashare_pe": mountinfo_escape(prefix),
             "_condashare_f": "/nonexistent", "_condashare_t": "0.5"},
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    return res.stdout.strip()


@pytest.fixture
def odd_mount(tmp_path: Path):
    """A tmpfs mounted at a path with a space and a backslash (escaped in mountinfo)."""
    point = tmp_path / "mnt sp\\ace"
    point.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "condashare-test", str(point)], capture_output=True
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {res.stderr.decode().strip()}")
    yield point
    subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.mark.fuse
@pytest.mark.parametrize("shell", ["bash", "zsh", "dash", "bash-exact"])
def test_mount_lookup_agrees_with_python(
    shell: str, fuse_share: FuseShare, odd_mount: Path, tmp_path: Path
) -> None:
    from condashare.host.mounts import mount_for, read_mount_table

    fuse_share.block()  # the lookup must not touch the share
    mounts = read_mount_table()
    for prefix in (
        str(fuse_share.mount / HOSTILE / "anaconda3"),
        str(fuse_share.mount),
        str(odd_mount / "conda"),
        str(odd_mount),
        str(tmp_path / "local"),
        "/",
    ):
        expected = mount_for(prefix, mounts)
        assert expected is not None
        assert shell_fstype(shell, prefix) == expected.fstype, prefix


@pytest.mark.parametrize("shell", SHELLS)
def test_rosetta_shell_falls_back_to_the_arm64_mac_installation(tmp_path: Path, shell: str) -> None:
    """`uname -m` says x86_64 under Rosetta; with only an arm64 macOS installation, use it."""
    prefix = tmp_path / "mac-arm"
    make_installation(prefix, "mac-arm")
    site = write_site(tmp_path / "site.toml", [("m", prefix, "macos", "arm64")], 2.0)
    env = Env(Path(os.environ["HOME"]), site, tmp_path)
    seed_startup_files(env.home)
    init(env)
    bindir = fake_uname(tmp_path / "bin", "Darwin", "x86_64")
    _rc, out, err, _ = start(shell, "interactive", "conda", env.env(bindir))
    assert "conda-from-mac-arm" in out, (out, err)


@pytest.mark.parametrize(
    ("shell", "preamble"),
    [
        ("bash", "set -u\n"),
        ("dash", "set -u\n"),
        ("zsh", "set -u\nsetopt KSH_ARRAYS SH_WORD_SPLIT GLOB_SUBST NO_MULTIOS\n"),
    ],
)
def test_block_survives_strict_user_options(
    four: Env, shell: str, preamble: str, tmp_path: Path
) -> None:
    """A user's `set -u` or unusual zsh options before the block must not break it."""
    for name in (".bashrc", ".zshrc", ".shinit"):
        path = four.home / name
        path.write_text(path.read_text() + preamble)
    init(four)
    bindir = fake_uname(tmp_path / "bin", "Darwin", "arm64")
    _rc, out, err, _ = start(shell, "interactive", "conda", four.env(bindir))
    assert "conda-from-Darwin-arm64" in out, (out, err)
    assert clean_stderr(err) == ""


@pytest.mark.fuse
def test_ssh_style_command_with_hung_share_is_silent_and_prompt(
    on_share: Env, fuse_share: FuseShare, tmp_path: Path
) -> None:
    """`ssh host cmd` runs `bash -c cmd` with a socket as stdin and SSH_CLIENT set; Debian's bash
    then reads ~/.bashrc. With the share hung, the output must be exactly the command's, and the
    pipes must close within the timeout (a probe holding them would stall ssh/scp)."""
    import socket

    bash = need_shell("bash")
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    fuse_share.block()
    ours, theirs = socket.socketpair()
    env = on_share.env(bindir, SSH_CLIENT="127.0.0.1 50000 22")
    t0 = time.monotonic()
    with ours, theirs:
        proc = subprocess.run(
            [bash, "-c", 'echo "out:${CONDASHARE_UNAVAILABLE-}"'], stdin=theirs,
            capture_output=True, env=env, timeout=30, cwd=str(on_share.home),
        )  # fmt: skip
    assert time.monotonic() - t0 < TIMEOUT + 1.0
    assert (proc.stdout, proc.stderr) == (b"out:1\n", b"")


@pytest.mark.fuse
@pytest.mark.parametrize("shell", SHELLS)
def test_prefix_reached_through_a_symlink_to_a_hung_share(
    fuse_share: FuseShare, shell: str, tmp_path: Path
) -> None:
    """/nfs/cpkgs -> /net/server/cpkgs style: the mount table sees a local path, but a symlink
    on the way leads onto the share. The block must notice the link (lstat, top down, never
    following it) and probe instead of touching the file directly."""
    local = tmp_path / "local"
    local.mkdir()
    seen = local / "cpkgs" / "anaconda3"
    make_installation(fuse_share.backing / "cpkgs" / "anaconda3", "linked", seen)
    (local / "cpkgs").symlink_to(fuse_share.mount / "cpkgs")
    site = write_site(
        tmp_path / "site.toml", [("l", local / "cpkgs" / "anaconda3", "linux", "x86_64")], TIMEOUT
    )
    env = Env(Path(os.environ["HOME"]), site, tmp_path)
    seed_startup_files(env.home)
    init(env)
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    _rc, out, err, _ = start(shell, "interactive", "conda", env.env(bindir))
    assert "conda-from-linked" in out, (out, err)
    fuse_share.block()
    _rc, out, err, elapsed = start(shell, "interactive", "true", env.env(bindir), timeout=10)
    assert elapsed < TIMEOUT + 1.0
    assert "unresponsive" in err
