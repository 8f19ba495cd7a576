"""Where the block goes in the user's own text, checked in real shells: after a last line that
ends in a backslash, before Debian's early ``return`` for non-interactive shells, and around
here-documents that contain the block's marker lines."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import pytest
from conftest import need_shell, run_cli
from support.conda_shell import write_installation
from support.doctor_env import make_ctx

from condashare.doctor.checks import startup as checks
from condashare.doctor.model import Severity
from condashare.site.file import Installation, Site
from condashare.startup import find_block, install_block, remove_block, render_block

pytestmark = pytest.mark.shells


def local_site(tmp_path: Path) -> Site:
    """A site whose one installation (for this machine) is a real set of startup files."""
    prefix = tmp_path / "cpkgs" / "anaconda3"
    write_installation(prefix, str(prefix), "local")
    inst = Installation("local", str(prefix), "linux", (platform.machine(),))
    return Site("t", 2.0, (inst,), str(tmp_path / "site.toml"), "--site")


def write_site_file(site: Site) -> Path:
    inst = site.installations[0]
    path = Path(site.path)
    path.write_text(
        f"[site]\nname = 't'\n[[installations]]\nname = 'local'\nprefix = '{inst.prefix}'\n"
        f"os = 'linux'\narch = ['{inst.arch[0]}']\n"
    )
    return path


def run(shell: str, script: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [need_shell(shell), "-c", script], capture_output=True, text=True, env=env, timeout=30
    )


@pytest.mark.parametrize("shell", ["bash", "zsh", "dash"])
@pytest.mark.parametrize("final_newline", [True, False])
def test_last_line_ending_in_backslash_is_not_joined_to_the_block(
    shell: str, final_newline: bool, tmp_path: Path
) -> None:
    site = local_site(tmp_path)
    old = b"export MYPATH=/opt/tools/bin:\\" + (b"\n" if final_newline else b"")
    rc = tmp_path / "rc"
    rc.write_bytes(install_block(old, lambda flags: render_block(site, "posix", None, flags)))
    res = run(shell, f'. {rc}; printf "%s|%s\\n" "$MYPATH" "$CONDA_EXE"', tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"/opt/tools/bin:|{site.installations[0].prefix}/bin/conda\n"
    assert remove_block(rc.read_bytes()) == old


def test_block_goes_before_debians_non_interactive_return(
    sandbox_home: Path, tmp_path: Path
) -> None:
    """Debian's stock ~/.bashrc returns early unless interactive: the block must come first,
    or `ssh host cmd` (bash reads ~/.bashrc non-interactively there) never gets conda."""
    skel = Path("/etc/skel/.bashrc")
    if not skel.is_file() or b"*) return;;" not in skel.read_bytes():
        pytest.fail("this test needs Debian's stock /etc/skel/.bashrc (package bash)")
    stock = skel.read_bytes()
    (sandbox_home / ".bashrc").write_bytes(stock)
    site = local_site(tmp_path)
    site_file = write_site_file(site)
    env = {**os.environ, "HOME": str(sandbox_home)}
    res = run_cli("init", "--site", str(site_file), "--shell", "bash", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "before line" in res.stdout and "ssh host cmd" in res.stdout
    # what sshd's bash does for `ssh host cmd`: read ~/.bashrc, not interactive
    got = run("bash", '. "$HOME/.bashrc"; echo "conda=$CONDA_EXE"', sandbox_home)
    assert got.stdout == f"conda={site.installations[0].prefix}/bin/conda\n", got.stderr
    ctx = make_ctx(sandbox_home, site_file, shell=need_shell("bash"))
    assert checks.check_condashare_block(ctx)[0].severity == Severity.OK
    again = run_cli("init", "--site", str(site_file), "--shell", "bash", env=env)
    assert again.returncode == 0 and "nothing to change" in again.stdout
    res = run_cli("init", "--reverse", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (sandbox_home / ".bashrc").read_bytes() == stock


def test_a_block_after_the_guard_is_reported_and_moved(sandbox_home: Path, tmp_path: Path) -> None:
    site = local_site(tmp_path)
    site_file = write_site_file(site)
    guard = b"alias ll='ls -l'\n[ -z \"$PS1\" ] && return\nexport EDITOR=vi\n"
    late = guard + render_block(site, "posix")  # what an older init wrote
    (sandbox_home / ".bashrc").write_bytes(late)
    ctx = make_ctx(sandbox_home, site_file, shell=need_shell("bash"))
    f = checks.check_condashare_block(ctx)
    assert f[0].severity == Severity.WARNING and "early `return`" in f[0].title
    moved = install_block(
        late, lambda flags: render_block(site, "posix", None, flags), before_guard=True
    )
    assert moved.startswith(b"alias ll='ls -l'\n# >>> condashare >>>\n")
    assert moved.endswith(b'[ -z "$PS1" ] && return\nexport EDITOR=vi\n')
    assert remove_block(moved) == guard


@pytest.mark.parametrize("shell", ["bash", "zsh", "dash"])
def test_markers_inside_a_heredoc_are_the_users_text(shell: str, tmp_path: Path) -> None:
    site = local_site(tmp_path)
    doc = "# >>> condashare >>>\nkeep this line\n# <<< condashare <<<\n"
    old = f"show_block() {{\n  cat <<'EOF'\n{doc}EOF\n}}\n".encode()
    assert find_block(old) is None
    new = install_block(old, lambda flags: render_block(site, "posix", None, flags))
    assert new.startswith(old)
    again = install_block(new, lambda flags: render_block(site, "posix", None, flags))
    assert again == new
    rc = tmp_path / "rc"
    rc.write_bytes(new)
    res = run(shell, f". {rc}; show_block", tmp_path)
    assert res.returncode == 0 and res.stdout == doc, res.stderr
    assert remove_block(new) == old


def test_reverse_removes_directories_init_created_and_stale_temp_files(
    sandbox_home: Path, tmp_path: Path
) -> None:
    """After init --shell fish and --reverse, no ~/.config/fish is left (else the next default
    init picks fish), and a temp file a killed write left next to a startup file is gone."""
    site_file = write_site_file(local_site(tmp_path))
    env = {**os.environ, "HOME": str(sandbox_home), "SHELL": "/bin/bash"}
    (sandbox_home / ".bashrc").write_text("alias ll='ls -l'\n")
    assert not (sandbox_home / ".config").exists()
    res = run_cli("init", "--site", str(site_file), "--shell", "fish", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (sandbox_home / ".config/fish/conf.d/condashare.fish").is_file()
    stale = sandbox_home / "..zshrc.tmp-k2j4x9q1"  # what a killed write of ~/.zshrc leaves
    stale.write_text("half a file")
    mine = sandbox_home / ".zshrc.tmp-notours"  # not the temp-file pattern: kept
    mine.write_text("user's file")
    res = run_cli("init", "--reverse", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not (sandbox_home / ".config").exists(), res.stdout
    assert not stale.exists() and mine.exists()
    res = run_cli("init", "--site", str(site_file), "--dry-run", env=env)
    assert "Shells: bash\n" in res.stdout
