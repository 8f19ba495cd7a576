"""``condashare admin init-system``: the block for every user, in the system's startup files.

The files are planned under ``--root`` (a copy of this machine's own /etc files), then real
shells start in a private mount namespace where those files are bind-mounted over /etc — with
and without a user's own ``condashare init`` — and the installation's conda.sh / conda.csh /
conda.fish must be sourced exactly once.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import need, need_shell, run_cli
from support.conda_shell import write_installation
from support.shellrun import write_site

# What each shell prints: how often the installation's startup file ran, and whether conda is
# now a function/alias. The counter lines are appended to the installation's files below.
REPORT = {
    "bash": 'echo "n=${_t_n-}"; type conda >/dev/null 2>&1 && echo conda=yes',
    "zsh": 'echo "n=${_t_n-}"; whence conda >/dev/null 2>&1 && echo conda=yes',
    "tcsh": 'if ( $?_t_n ) echo "n=$_t_n"; alias conda >& /dev/null && echo conda=yes',
    "fish": 'echo "n=$_t_n"; functions -q conda; and echo conda=yes',
}
ARGV = {  # each shell as users start it: bash login and not, zsh, tcsh and fish interactive
    "bash-login": ["bash", "-l", "-i", "-c"],
    "bash": ["bash", "-i", "-c"],
    "zsh": ["zsh", "-i", "-c"],
    "tcsh": ["tcsh", "-c"],
    "fish": ["fish", "-i", "-c"],
}
# The system files the test lays over /etc (bind mounts), relative to the root.
SYSTEM = [
    "etc/profile.d",
    "etc/bash.bashrc",
    "etc/zsh/zshrc",
    "etc/csh/cshrc.d",
    "etc/fish/conf.d",
]


def _installation(root: Path) -> Path:
    write_installation(root, str(root), "shared")
    counters = {
        "etc/profile.d/conda.sh": '_t_n="${_t_n-}x"\n',
        "etc/profile.d/conda.csh": 'if ( ! $?_t_n ) set _t_n = ""\nset _t_n = "${_t_n}x"\n',
        "etc/fish/conf.d/conda.fish": 'set -g _t_n "$_t_n"x\n',
    }
    for rel, line in counters.items():
        with open(root / rel, "a") as fh:
            fh.write("\n" + line)  # (conda.csh ends without a line break)
    return root


def _site(tmp_path: Path, inst: Path) -> Path:
    return write_site(tmp_path / "site.toml", [("here", inst, "linux", platform.machine())], 2)


def _system_root(tmp_path: Path) -> Path:
    """A root holding copies of this machine's own bash.bashrc and zshrc (Debian's shapes)."""
    root = tmp_path / "sysroot"
    for rel in ("etc/bash.bashrc", "etc/zsh/zshrc"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        src = Path("/") / rel
        (root / rel).write_bytes(src.read_bytes() if src.is_file() else b"# stand-in\n")
    (root / "etc/csh/cshrc.d").mkdir(parents=True)
    return root


def test_dry_run_apply_and_exact_reverse(tmp_path: Path) -> None:
    inst = _installation(tmp_path / "inst")
    site = _site(tmp_path, inst)
    root = _system_root(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    args = ("admin", "init-system", "--root", str(root), "--site", str(site))
    dry = run_cli(*args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: 5 files would change; nothing was written" in dry.stdout
    assert f"create    {root}/etc/profile.d/condashare.sh" in dry.stdout
    assert f"update    {root}/etc/bash.bashrc" in dry.stdout
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before

    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    sh = (root / "etc/profile.d/condashare.sh").read_text()
    assert "Managed by 'condashare admin init-system'" in sh and str(inst) in sh
    assert (root / "etc/csh/cshrc.d/condashare.csh").is_file()
    assert (root / "etc/fish/conf.d/condashare.fish").is_file()
    bashrc = (root / "etc/bash.bashrc").read_bytes()
    assert bashrc.startswith(before[root / "etc/bash.bashrc"]) and b"condashare >>>" in bashrc
    again = run_cli(*args)
    assert again.returncode == 0 and "nothing to change" in again.stdout

    undo = run_cli("admin", "init-system", "--root", str(root), "--reverse")
    assert undo.returncode == 0, undo.stderr
    backups = root / "var/backups/condashare"
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and backups not in p.parents}
    assert after == before
    # Every version replaced on the way is kept, the distribution's original among them.
    kept = [p.read_bytes() for p in backups.iterdir() if "bash.bashrc" in p.name]
    assert before[root / "etc/bash.bashrc"] in kept


def test_one_shell_only_and_a_clear_refusal_without_write_access(tmp_path: Path) -> None:
    inst = _installation(tmp_path / "inst")
    site = _site(tmp_path, inst)
    root = _system_root(tmp_path)
    res = run_cli("admin", "init-system", "--root", str(root), "--site", str(site), "--shell",
                  "fish", "--dry-run")  # fmt: skip
    assert res.returncode == 0 and "dry run: 1 file would change" in res.stdout
    bad = run_cli("admin", "init-system", "--root", str(tmp_path / "none"), "--site", str(site))
    assert bad.returncode == 2 and "not a directory" in bad.stderr
    assert "internal error" not in bad.stderr


def test_rhel_layout_gets_the_rhel_files(tmp_path: Path) -> None:
    """Without Debian's /etc/zsh, /etc/csh/cshrc.d and bash.bashrc the block goes where RHEL's
    shells look: /etc/bashrc, /etc/zshrc, /etc/profile.d/condashare.csh."""
    inst = _installation(tmp_path / "inst")
    site = _site(tmp_path, inst)
    root = tmp_path / "rhel"
    (root / "etc").mkdir(parents=True)
    (root / "etc/bashrc").write_bytes(b"# RHEL's bashrc\n")
    args = ("admin", "init-system", "--root", str(root), "--site", str(site), "--dry-run")
    res = run_cli(*args)
    assert res.returncode == 0, res.stderr
    for line in (
        f"create    {root}/etc/profile.d/condashare.sh",
        f"update    {root}/etc/bashrc",
        f"create    {root}/etc/zshrc",
        f"create    {root}/etc/profile.d/condashare.csh",
        f"create    {root}/etc/fish/conf.d/condashare.fish",
    ):
        assert line in res.stdout, res.stdout
    assert "bash.bashrc" not in res.stdout and "cshrc.d" not in res.stdout
    only_sh = run_cli(*args, "--shell", "dash")
    assert only_sh.returncode == 0, only_sh.stderr
    assert "dry run: 1 file would change" in only_sh.stdout
    assert f"create    {root}/etc/profile.d/condashare.sh" in only_sh.stdout


def _in_namespace(root: Path, home: Path, argv: list[str], command: str) -> str:
    """Run one shell with the root's system files bind-mounted over /etc (root only)."""
    binds = " && ".join(
        f'mount --bind "$1/{rel}" "/{rel}"' for rel in SYSTEM if (root / rel).exists()
    )
    script = f'{binds} && shift && exec "$@"'
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "dumb"}
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(root),
         *argv, command],
        capture_output=True, text=True, timeout=60, env=env, cwd=str(home),
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    need("Operation not permitted" not in proc.stderr, f"cannot mount here: {proc.stderr}")
    return proc.stdout


@pytest.mark.parametrize("with_user_init", [False, True], ids=["system-only", "user-too"])
@pytest.mark.parametrize("case", list(ARGV))
def test_real_shells_get_conda_once(tmp_path: Path, case: str, with_user_init: bool) -> None:
    need(os.geteuid() == 0, "needs root to mount over /etc in a private mount namespace")
    need(shutil.which("unshare") is not None, "unshare is missing (apt-get install util-linux)")
    for rel in SYSTEM:
        need(Path("/", rel).exists(), f"/{rel} is missing on this machine")
    shell = ARGV[case][0]
    need_shell(shell)
    inst = _installation(tmp_path / "inst")
    site = _site(tmp_path, inst)
    root = _system_root(tmp_path)
    res = run_cli("admin", "init-system", "--root", str(root), "--site", str(site))
    assert res.returncode == 0, res.stderr
    home = tmp_path / "home"
    home.mkdir()
    if with_user_init:
        user = run_cli(
            "init", "--site", str(site), "--all-shells",
            env={**os.environ, "HOME": str(home), "SHELL": "/bin/bash",
                 "XDG_CONFIG_HOME": str(home / ".config")},
        )  # fmt: skip
        assert user.returncode == 0, user.stderr
    out = _in_namespace(root, home, ARGV[case], REPORT[shell])
    assert "n=x\n" in out, out
    assert "conda=yes" in out, out
