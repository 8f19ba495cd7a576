"""The short form of the startup block: one guarded line that sources condashare's code.

Real shells (bash zsh dash tcsh fish) started the way users start them, `condashare init` run
as a subprocess, a real FUSE share that hangs: the short form must set up conda exactly as the
full block does, never hang, and `init --reverse` must give back the original bytes and remove
the code files. (The hung-share tests of test_init_shells.py run both forms.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import FuseShare, need_shell, run_cli
from support.doctor_env import make_ctx, make_install, site_file
from support.shellrun import (
    SHELLS,
    Env,
    clean_stderr,
    fake_uname,
    make_installation,
    seed_startup_files,
    start,
    write_site,
)

from condashare.doctor.checks import startup
from condashare.findings import Severity
from condashare.startup.blocks import block_text
from condashare.startup.short import code_lines, is_short

pytestmark = pytest.mark.shells

HOSTILE = "'\";&&e-$ èрт-j"
STARTUP_FILE = {
    "bash": ".bashrc",
    "zsh": ".zshrc",
    "dash": ".shinit",
    "tcsh": ".tcshrc",
    "fish": ".config/fish/conf.d/condashare.fish",
}


def init(env: Env, *args: str) -> None:
    """``condashare init`` as the user runs it (every shell unless ``--shell`` says otherwise)."""
    chosen = () if "--shell" in args else ("--all-shells",)
    res = run_cli(
        "init", "--site", str(env.site), *chosen, *args,
        env={**os.environ, "ENV": str(env.home / ".shinit"), "SHELL": "/bin/bash"},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr


def code_dir(home: Path) -> Path:
    return home / ".local/state/condashare/startup"


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file's bytes and every directory under ``root`` (condashare's state dir aside but
    for its startup/: init keeps its lock file and the backups there on purpose)."""
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if rel in (".local", ".local/state") or (
            rel.startswith(".local/state/condashare") and "/startup" not in rel
        ):
            continue
        out[rel] = path.read_bytes() if path.is_file() and not path.is_symlink() else "dir"
    return out


def block_of(path: Path) -> bytes:
    block = block_text(path.read_bytes())
    assert block is not None, path
    return block


@pytest.fixture
def two(tmp_path: Path) -> Env:
    """A site with a Linux and a macOS installation at hostile paths, startup files seeded."""
    root = tmp_path / HOSTILE
    installs = []
    for system, machine, os_name in (("Linux", "x86_64", "linux"), ("Darwin", "arm64", "macos")):
        label = f"{system}-{machine}"
        make_installation(root / label, label)
        installs.append((label, root / label, os_name, machine))
    site = write_site(tmp_path / "site.toml", installs, 2.0)
    home = Path(os.environ["HOME"])
    seed_startup_files(home)
    return Env(home, site, root)


@pytest.mark.parametrize("shell", SHELLS)
def test_short_form_sets_up_conda_as_the_full_block_does(
    two: Env, shell: str, tmp_path: Path
) -> None:
    seen: dict[str, list[str]] = {}
    for form in ("short", "full"):
        init(two, "--form", form)
        block = block_of(two.home / STARTUP_FILE[shell])
        assert is_short(block) == (form == "short"), block
        assert (code_dir(two.home) / "posix.sh").exists() == (form == "short")
        seen[form] = []
        for system, machine in (("Linux", "x86_64"), ("Darwin", "arm64")):
            bindir = fake_uname(tmp_path / f"bin-{system}", system, machine)
            for mode in ("interactive", "login", "plain"):
                _rc, out, err, _ = start(shell, mode, "conda; echo ok", two.env(bindir))
                assert clean_stderr(err) == "" or mode == "plain", (form, mode, err)
                seen[form].append(out)
    assert seen["short"] == seen["full"]
    assert any("conda-from-Darwin-arm64" in out for out in seen["short"])
    assert any("conda-from-Linux-x86_64" in out for out in seen["short"])


def test_the_users_file_gets_one_line_of_code(two: Env) -> None:
    init(two)  # the default form is short
    for shell, name in STARTUP_FILE.items():
        block = block_of(two.home / name)
        assert len(code_lines(block)) == 1, (shell, block)
        lines = [ln for ln in block.splitlines() if not ln.startswith(b"# condashare:")]
        assert len(lines) == 4, (shell, block)  # markers, info line, the line (and flags)
    names = sorted(p.name for p in code_dir(two.home).iterdir())
    assert names == ["csh.csh", "fish.fish", "posix.sh"]


@pytest.mark.parametrize("shell", SHELLS)
def test_a_home_with_quotes_spaces_dollars_and_bangs(tmp_path: Path, shell: str) -> None:
    need_shell(shell)
    home = tmp_path / "h o'm\"e$x!y`z`\\w èрт"
    home.mkdir()
    seed_startup_files(home)
    make_installation(tmp_path / "conda", "odd-home")
    site = write_site(tmp_path / "site.toml", [("l", tmp_path / "conda", "linux", "x86_64")], 2)
    xdg = {
        f"XDG_{k}_HOME": str(home / v)
        for k, v in (("CONFIG", ".config"), ("STATE", ".local/state"))
    }
    res = run_cli(
        "init", "--site", str(site), "--shell", shell,
        env={**os.environ, **xdg, "HOME": str(home), "ENV": str(home / ".shinit")},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    bindir = fake_uname(tmp_path / "bin", "Linux", "x86_64")
    env = Env(home, site, tmp_path).env(bindir, LANG="C.UTF-8")
    # dash expands $ENV (a backtick in it would run), so init writes no block there for such a
    # home: login dash (~/.profile) is what it sets up
    for mode in ("login",) if shell == "dash" else ("interactive", "login"):
        _rc, out, err, _ = start(shell, mode, "conda", env)
        assert "conda-from-odd-home" in out, (mode, out, err)
        assert clean_stderr(err) == "", err


def test_a_code_dir_outside_the_home_means_the_full_block(two: Env, tmp_path: Path) -> None:
    """The short line may touch only the home (where the startup file already is)."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "elsewhere"), "SHELL": "/bin/bash"}
    res = run_cli("init", "--site", str(two.site), "--form", "short", "--shell", "bash", env=env)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "not inside your home" in res.stderr
    assert b"condashare" not in (two.home / ".bashrc").read_bytes()
    res = run_cli("init", "--site", str(two.site), "--shell", "bash", env=env)
    assert res.returncode == 0, res.stderr
    assert "written in full" in res.stdout
    assert not is_short(block_of(two.home / ".bashrc"))
    assert not (tmp_path / "elsewhere" / "condashare" / "startup").exists()


def test_a_code_dir_that_reaches_a_share_means_the_full_block(
    two: Env, fuse_share: FuseShare
) -> None:
    """Inside the home by its path, but a symlink on the way leads to a share: the short line
    would touch that share at every shell start, so init writes the full block (which probes
    the share with a deadline) and refuses --form short."""
    (two.home / ".local").mkdir(exist_ok=True)
    state = two.home / ".local/state"
    assert not state.exists()
    (fuse_share.mount / "state").mkdir()
    state.symlink_to(fuse_share.mount / "state")
    before = (two.home / ".bashrc").read_bytes()
    env = {**os.environ, "SHELL": "/bin/bash"}
    env.pop("XDG_STATE_HOME", None)
    res = run_cli("init", "--site", str(two.site), "--form", "short", "--shell", "bash", env=env)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "may be on a share other than your home's" in res.stderr
    assert (two.home / ".bashrc").read_bytes() == before
    res = run_cli("init", "--site", str(two.site), "--shell", "bash", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "written in full" in res.stdout
    assert "may be on a share other than your home's" in res.stdout
    assert not is_short(block_of(two.home / ".bashrc"))
    assert not (fuse_share.backing / "state" / "condashare" / "startup").exists()


def test_reverse_gives_back_every_byte_and_removes_the_code(two: Env) -> None:
    before = snapshot(two.home)
    init(two)
    assert code_dir(two.home).is_dir()
    env = {**os.environ, "SHELL": "/bin/bash", "ENV": str(two.home / ".shinit")}
    res = run_cli("init", "--reverse", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert snapshot(two.home) == before


def test_reverse_of_one_shell_keeps_the_code_another_still_runs(two: Env) -> None:
    init(two)
    env = {**os.environ, "SHELL": "/bin/bash", "ENV": str(two.home / ".shinit")}
    res = run_cli("init", "--reverse", "--shell", "zsh", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert block_text((two.home / ".zshrc").read_bytes()) is None
    assert (code_dir(two.home) / "posix.sh").exists()  # .bashrc, .profile, .shinit run it
    res = run_cli("init", "--reverse", "--shell", "tcsh", env=env)
    assert not (code_dir(two.home) / "csh.csh").exists()  # no other file ran it
    assert (code_dir(two.home) / "fish.fish").exists()


def test_an_existing_full_block_stays_full_until_asked(two: Env) -> None:
    init(two, "--form", "full", "--shell", "bash")
    full = (two.home / ".bashrc").read_bytes()
    res = run_cli("init", "--site", str(two.site), "--shell", "bash")  # keeps the form it has
    assert res.returncode == 0, res.stderr
    assert (two.home / ".bashrc").read_bytes() == full
    assert not code_dir(two.home).exists()
    assert "startup" not in res.stdout  # no code file and no directory to speak of
    init(two, "--shell", "zsh")  # a new block is short; the bash one stays as it is
    assert is_short(block_of(two.home / ".zshrc"))
    assert (two.home / ".bashrc").read_bytes() == full
    init(two, "--form", "short")
    assert all(is_short(block_of(two.home / n)) for n in STARTUP_FILE.values())
    init(two, "--form", "full")  # back: no file runs the code any more, so it goes
    assert not any(is_short(block_of(two.home / n)) for n in STARTUP_FILE.values())
    assert not code_dir(two.home).exists()


def test_dry_run_names_the_code_files_and_writes_nothing(two: Env) -> None:
    before = snapshot(two.home)
    res = run_cli(
        "init", "--site", str(two.site), "--all-shells", "--dry-run",
        env={**os.environ, "SHELL": "/bin/bash"},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"create    {code_dir(two.home) / 'posix.sh'}" in res.stdout
    assert "+if \\[ -r \"$HOME\"'/.local/state/condashare/startup/posix.sh' ]" in res.stdout
    assert snapshot(two.home) == before


def test_doctor_understands_the_short_form(sandbox_home: Path, tmp_path: Path) -> None:
    bash = need_shell("bash")
    make_install(tmp_path / "anaconda3_linux")
    site = site_file(tmp_path, ("linux", str(tmp_path / "anaconda3_linux"), "linux"))
    res = run_cli("init", "--site", str(site), "--shell", "bash", "--probe-timeout", "0.7")
    assert res.returncode == 0, res.stderr
    f = startup.check_condashare_block(make_ctx(sandbox_home, site, shell=bash))
    assert f[0].severity == Severity.OK and "current" in f[0].title, f[0].title
    # The admins add an installation: the code the line runs no longer knows every one
    text = site.read_text()
    with site.open("a") as fh:
        fh.write("[[installations]]\nname='arm'\nprefix='/nfs/arm'\nos='linux'\narch=['arm64']\n")
    f = startup.check_condashare_block(make_ctx(sandbox_home, site, shell=bash))
    assert f[0].severity == Severity.WARNING and "out of date" in f[0].title, f[0].title
    assert "posix.sh" in f[0].title
    site.write_text(text)
    (code_dir(sandbox_home) / "posix.sh").unlink()
    f = startup.check_condashare_block(make_ctx(sandbox_home, site, shell=bash))
    assert f[0].severity == Severity.WARNING and "missing" in f[0].title, f[0].title
    assert "condashare init" in f[0].fix
    dup = startup.check_duplicates(make_ctx(sandbox_home, site, shell=bash))
    assert dup[0].severity == Severity.OK, dup[0].title
