"""``condashare modules``: files, names, sync, --reverse, --dry-run, safety, and real module
systems.

Modulefiles are written by the real CLI; real Lmod (Debian ``lmod``, Lua files) and real
Environment Modules (Debian ``environment-modules``, Tcl files; an unpacked copy of its .deb next
to Lmod, see :func:`envmodules_cmd`) load them in real bash, zsh, tcsh and fish, with a fake
``uname`` first on PATH (as the init tests do) to take the Linux and macOS branches.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import FuseShare, need, need_shell, run_cli
from support.conda_shell import write_installation
from support.kernelenv import make_installation, make_release, write_site
from test_init_shells import fake_uname

from condashare.modules.render import module_name, owns
from condashare.modules.sync import detect_format

TIMEOUT = 2.0
HOOK = 'ISIS_DATA="$CONDA_PREFIX/share/isisdata"; export ISIS_DATA\n'


def add_release(root: Path, name: str, hook: bool = True) -> Path:
    env = make_release(root / "envs", name, None, ipykernel=None)
    (env / "bin").mkdir(exist_ok=True)
    if hook:
        hooks = env / "etc" / "conda" / "activate.d"
        hooks.mkdir(parents=True)
        (hooks / "isis.sh").write_text(HOOK)
    return env


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Linux (x86_64) and macOS (arm64) installations, both visible here."""
    linux = make_installation(tmp_path / "cpkgs" / "anaconda3_linux")
    mac = make_installation(tmp_path / "cpkgs" / "anaconda3_macOS")
    for root in (linux, mac):
        add_release(root, "isis4.3.0")
        add_release(root, "isis4.4.0", hook=False)
    add_release(linux, "isis10.0.0")
    path = write_site(
        tmp_path / "site.toml",
        [("linux", linux, "linux", "x86_64"), ("mac", mac, "macos", "arm64")],
        TIMEOUT,
    )
    monkeypatch.setenv("CONDASHARE_SITE", str(path))
    return path


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


# --------------------------------------------------------------------------- names, detection


def test_module_names_follow_envs_parsing_and_refuse_unsafe_names():
    name = module_name("isis4.3.0")
    assert not isinstance(name, str) and name.full == "isis/4.3.0"
    plain = module_name("base")
    assert not isinstance(plain, str) and plain.full == "base" and plain.relpath() == "base.lua"
    for bad in ("a b1.0", "x';rm1", ".hidden1.0", "isis\n4.0"):
        assert isinstance(module_name(bad), str)


@pytest.mark.parametrize(
    ("env", "fmt"),
    [
        ({"LMOD_CMD": "/usr/share/lmod/lmod/libexec/lmod"}, "lua"),
        ({"MODULESHOME": "/usr/share/lmod/lmod"}, "lua"),
        ({"MODULESHOME": "/usr/share/modules"}, "tcl"),
        ({}, "lua"),
    ],
)
def test_format_follows_the_module_system_in_use(env, fmt):
    assert detect_format(env)[0] == fmt


# --------------------------------------------------------------------------- the CLI


def test_writes_one_modulefile_per_release_and_shows_module_use(site, sandbox_home):
    res = run_cli("modules")
    assert res.returncode == 0, res.stdout + res.stderr
    mdir = sandbox_home / ".local" / "share" / "condashare" / "modulefiles"
    assert sorted(files(mdir)) == ["isis/10.0.0.lua", "isis/4.3.0.lua", "isis/4.4.0.lua"]
    assert owns((mdir / "isis" / "4.3.0.lua").read_bytes()) == "isis4.3.0"
    assert "module use \"$HOME\"/'.local/share/condashare/modulefiles'" in res.stdout
    assert "same path for every OS" in res.stdout


def test_dry_run_shows_the_plan_and_writes_nothing(site, tmp_path):
    mdir = tmp_path / "mf"
    res = run_cli("modules", "--dir", str(mdir), "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "create    isis/4.3.0" in res.stdout and "+++ " in res.stdout
    assert "dry run: 3 modulefiles would change" in res.stdout
    assert not mdir.exists()


def test_rerun_syncs_and_leaves_other_files_alone(site, tmp_path):
    mdir = tmp_path / "mf"
    assert run_cli("modules", "--dir", str(mdir)).returncode == 0
    foreign = mdir / "isis" / "9.9.lua"
    foreign.write_text("-- the admins' own\n")
    (mdir / "gcc").mkdir()
    (mdir / "gcc" / "12.lua").write_text("whatis('gcc')\n")
    kept = (mdir / "isis" / "4.3.0.lua").stat().st_mtime_ns
    for inst in ("anaconda3_linux", "anaconda3_macOS"):
        shutil.rmtree(tmp_path / "cpkgs" / inst / "envs" / "isis4.4.0")
    res = run_cli("modules", "--dir", str(mdir))
    assert res.returncode == 0, res.stdout
    assert "remove    isis/4.4.0" in res.stdout and "unchanged isis/4.3.0" in res.stdout
    assert sorted(files(mdir)) == [
        "gcc/12.lua",
        "isis/10.0.0.lua",
        "isis/4.3.0.lua",
        "isis/9.9.lua",
    ]
    assert (mdir / "isis" / "4.3.0.lua").stat().st_mtime_ns == kept
    assert foreign.read_text() == "-- the admins' own\n"


def test_an_installation_that_cannot_be_listed_removes_nothing(site, tmp_path):
    mdir = tmp_path / "mf"
    assert run_cli("modules", "--dir", str(mdir)).returncode == 0
    shutil.rmtree(tmp_path / "cpkgs" / "anaconda3_macOS" / "envs")
    res = run_cli("modules", "--dir", str(mdir))
    assert res.returncode == 3
    assert "not removing anything" in res.stdout
    assert sorted(files(mdir)) == ["isis/10.0.0.lua", "isis/4.3.0.lua", "isis/4.4.0.lua"]


def test_a_foreign_file_with_our_name_is_a_conflict_left_alone(site, tmp_path):
    mdir = tmp_path / "mf"
    (mdir / "isis").mkdir(parents=True)
    (mdir / "isis" / "4.3.0.lua").write_text("-- mine\n")
    res = run_cli("modules", "--dir", str(mdir))
    assert res.returncode == 1
    assert "conflict  isis/4.3.0" in res.stdout
    assert (mdir / "isis" / "4.3.0.lua").read_text() == "-- mine\n"


def test_reverse_removes_exactly_what_modules_wrote(site, tmp_path):
    mdir = tmp_path / "mf"
    (mdir / "gcc").mkdir(parents=True)
    (mdir / "gcc" / "12.lua").write_text("whatis('gcc')\n")
    assert run_cli("modules", "--dir", str(mdir)).returncode == 0
    res = run_cli("modules", "--dir", str(mdir), "--reverse")
    assert res.returncode == 0, res.stdout
    assert files(mdir) == {"gcc/12.lua": b"whatis('gcc')\n"}
    assert not (mdir / "isis").exists()  # emptied by us, so removed


def test_symlink_planted_by_another_user_is_not_followed(site, tmp_path):
    mdir = tmp_path / "mf"
    elsewhere = tmp_path / "victim"
    elsewhere.mkdir()
    mdir.mkdir()
    (mdir / "isis").symlink_to(elsewhere)
    res = run_cli("modules", "--dir", str(mdir))
    assert res.returncode == 3
    assert "is not a directory of yours" in res.stdout
    assert list(elsewhere.iterdir()) == []


@pytest.mark.fuse
def test_a_modulefile_dir_on_a_dead_share_changes_nothing_and_says_so(site, any_share):
    """Read through the one reader, written through the one writer: a dead share ends the run
    with exit 3 and "unresponsive", for a sync and for --reverse, and removes nothing."""
    mdir = any_share.mount / "modulefiles"
    assert run_cli("modules", "--dir", str(mdir)).returncode == 0
    written = files(any_share.backing / "modulefiles")
    add_release(site.parent / "cpkgs" / "anaconda3_linux", "isis11.0.0")
    any_share.block()
    for argv in (["--dir", str(mdir)], ["--reverse", "--dir", str(mdir)]):
        res = run_cli("modules", *argv)
        assert res.returncode == 3 and "unresponsive" in res.stdout, res.stdout + res.stderr
    any_share.heal()
    assert files(any_share.backing / "modulefiles") == written


def test_tcl_format_writes_extensionless_modulefiles_and_switching_replaces(site, tmp_path):
    mdir = tmp_path / "mf"
    res = run_cli("modules", "--dir", str(mdir), "--format", "tcl")
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(files(mdir)) == ["isis/10.0.0", "isis/4.3.0", "isis/4.4.0"]
    data = (mdir / "isis" / "4.3.0").read_bytes()
    assert data.startswith(b"#%Module1.0\n") and owns(data) == "isis4.3.0"
    assert run_cli("modules", "--dir", str(mdir), "--format", "lua").returncode == 0
    assert sorted(files(mdir)) == ["isis/10.0.0.lua", "isis/4.3.0.lua", "isis/4.4.0.lua"]


def test_json_output(site, tmp_path):
    res = run_cli("modules", "--dir", str(tmp_path / "mf"), "--json")
    doc = json.loads(res.stdout)
    assert doc["command"] == "modules" and doc["exit_code"] == 0
    assert sorted(m["module"] for m in doc["data"]["modules"]) == [
        "isis/10.0.0",
        "isis/4.3.0",
        "isis/4.4.0",
    ]
    assert all(o["done"] for o in doc["data"]["outcomes"])


# --------------------------------------------------------------------------- real module systems


def lmod_init(shell: str) -> str:
    listed = subprocess.run(["dpkg", "-L", "lmod"], capture_output=True, text=True)
    init = [ln for ln in listed.stdout.splitlines() if ln.endswith(f"/init/{shell}")]
    need(bool(init), "Lmod is not installed (apt-get install lmod)")
    return init[0]


def envmodules_cmd() -> str:
    """modulecmd.tcl of Environment Modules: the package's, or an unpacked copy of its .deb.

    The Debian packages lmod and environment-modules conflict; ``dpkg -x`` of the second into a
    directory named by CONDASHARE_ENVIRONMENT_MODULES (what .ci/run does) gives both at once.
    Its modulecmd.tcl finds nothing through fixed paths that a modulefile test needs.
    """
    roots = [os.environ.get("CONDASHARE_ENVIRONMENT_MODULES", ""), "/"]
    found = sorted(str(p) for r in roots if r for p in Path(r).glob("usr/lib/*/modulecmd.tcl"))
    need(
        bool(found) and shutil.which("tclsh8.6") is not None,
        "Environment Modules is not installed: apt-get install environment-modules tcl8.6 "
        "(it conflicts with lmod), or unpack it beside lmod: apt-get download "
        "environment-modules && dpkg -x environment-modules_*.deb DIR, then set "
        "CONDASHARE_ENVIRONMENT_MODULES=DIR",
    )
    return found[0]


def module_init(system: str, shell: str) -> str:
    """The line a user's startup file has for ``system`` in ``shell``."""
    if system == "lmod":
        return f"source {lmod_init(shell)}"  # the same word in all four shells
    cmd = f"/usr/bin/tclsh8.6 {envmodules_cmd()}"
    return {
        "bash": f'eval "$({cmd} bash autoinit)"',
        "zsh": f'eval "$({cmd} zsh autoinit)"',
        "tcsh": f'eval "`{cmd} tcsh autoinit`"',
        "fish": f"{cmd} fish autoinit | source -",
    }[shell]


# Each module system's bookkeeping (which modules are loaded, reference counts of PATH entries,
# what source-sh recorded); what module load sets for the user is everything else.
BOOKKEEPING = (
    "_ModuleTable", "__LMOD_", "_LMFILES_", "LOADEDMODULES", "LMOD_FAMILY_", "__MODULES_",
    "MODULES_LMCONFLICT", "MODULEPATH", "MODULES_FAMILY_",
)  # fmt: skip
# What the shell itself changes between two dumps (tcsh keeps $cwd-like variables fresh).
SHELL_NOISE = ("_", "SHLVL")


def user_env(dump: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in dump.split("\0"):
        if "=" in item:
            key, value = item.split("=", 1)
            if key.startswith(BOOKKEEPING) or key in SHELL_NOISE or key == "__CONDASHARE_HOOKS":
                continue
            out[key] = value
    return out


@dataclass
class ModuleRun:
    envs: list[dict[str, str]]  # before the first step, then after each step
    times: list[float]  # when each step ended (seconds since the epoch, date +%s.%N)
    proc: subprocess.CompletedProcess[str]

    def failed(self, step: int) -> bool:
        return f"step {step} failed" in self.proc.stdout

    def took(self, step: int) -> float:
        return self.times[step] - self.times[step - 1]


def run_modules(
    shell: str,
    mdir: Path,
    steps: list[str],
    tmp_path: Path,
    system: str = "Linux",
    machine: str = "x86_64",
    kind: str = "lmod",
) -> ModuleRun:
    """Run ``steps`` (module commands) in a real shell with a real module system."""
    path = need_shell(shell)
    init = module_init(kind, shell)
    bindir = fake_uname(tmp_path / f"uname-{system}", system, machine)
    dumps = tmp_path / f"dumps-{shell}"
    shutil.rmtree(dumps, ignore_errors=True)
    dumps.mkdir()
    lines = [init, f"module use {mdir}", "module purge"]
    lines.append(f"/usr/bin/env -0 > {dumps}/0; /usr/bin/date +%s.%N > {dumps}/t0")
    for i, step in enumerate(steps, 1):
        if shell == "tcsh":  # an alias ending in ';' (Environment Modules') cannot take ||
            lines += [step, f"if ($status != 0) echo 'step {i} failed'"]
        else:
            lines.append(f"{step}{'; or' if shell == 'fish' else ' ||'} echo 'step {i} failed'")
        lines.append(f"/usr/bin/date +%s.%N > {dumps}/t{i}; /usr/bin/env -0 > {dumps}/{i}")
    script = tmp_path / f"steps.{shell}"
    script.write_text("\n".join(lines) + "\n")
    env = {"HOME": os.environ["HOME"], "PATH": f"{bindir}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    flag = {"bash": "--norc", "zsh": "-f", "tcsh": "-f", "fish": "--no-config"}[shell]
    proc = subprocess.run(
        [path, flag, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    n = len(steps) + 1
    envs = [user_env((dumps / str(i)).read_text()) for i in range(n)]
    times = [float((dumps / f"t{i}").read_text()) for i in range(n)]
    return ModuleRun(envs, times, proc)


def said(proc: subprocess.CompletedProcess[str]) -> str:
    """Lmod's messages with its line wrapping undone."""
    return " ".join(proc.stderr.split())


def activated(before: dict[str, str], root: Path, release: str, hook: bool) -> dict[str, str]:
    """What ``conda activate RELEASE`` gives from ``before`` (no env active): conda's rules."""
    prefix = root / "envs" / release
    want = dict(before)
    want["PATH"] = f"{prefix}/bin:{before['PATH']}"
    want.update(
        CONDA_PREFIX=str(prefix),
        CONDA_DEFAULT_ENV=release,
        CONDA_SHLVL="1",
        CONDA_PROMPT_MODIFIER=f"({release}) ",
        CONDA_EXE=str(root / "bin" / "conda"),
        CONDA_PYTHON_EXE=str(root / "bin" / "python"),
    )
    if hook:
        want["ISIS_DATA"] = f"{prefix}/share/isisdata"
    return want


SYSTEMS = ["lmod", "envmodules"]
SHELLS = ["bash", "zsh", "tcsh", "fish"]
BRANCHES = [("Linux", "x86_64", "anaconda3_linux"), ("Darwin", "arm64", "anaconda3_macOS")]
FORMAT = {"lmod": "lua", "envmodules": "tcl"}


def write_modules(kind: str, mdir: Path) -> None:
    res = run_cli("modules", "--dir", str(mdir), "--format", FORMAT[kind])
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("kind", SYSTEMS)
@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("system", "machine", "inst"), BRANCHES)
def test_load_is_conda_activate_and_unload_restores_exactly(
    kind, shell, system, machine, inst, site, tmp_path
):
    mdir = tmp_path / "mf"
    write_modules(kind, mdir)
    steps = ["module load isis/4.3.0", "module unload isis"]
    run = run_modules(shell, mdir, steps, tmp_path, system, machine, kind)
    assert not run.failed(1) and not run.failed(2), run.proc.stdout + run.proc.stderr
    before, loaded, unloaded = run.envs
    root = tmp_path / "cpkgs" / inst
    assert loaded == activated(before, root, "isis4.3.0", hook=True)
    assert unloaded == before


@pytest.mark.parametrize("kind", SYSTEMS)
@pytest.mark.parametrize("shell", SHELLS)
def test_swap_and_purge_restore_exactly(kind, shell, site, tmp_path):
    mdir = tmp_path / "mf"
    write_modules(kind, mdir)
    steps = ["module load isis/4.3.0", "module load isis/4.4.0", "module purge"]
    if kind == "envmodules":  # no automatic swap of two versions of one module there
        steps[1] = "module switch isis/4.3.0 isis/4.4.0"
    run = run_modules(shell, mdir, steps, tmp_path, kind=kind)
    assert not any(run.failed(i) for i in (1, 2, 3)), run.proc.stdout + run.proc.stderr
    before, first, swapped, purged = run.envs
    root = tmp_path / "cpkgs" / "anaconda3_linux"
    assert first == activated(before, root, "isis4.3.0", hook=True)
    assert swapped == activated(before, root, "isis4.4.0", hook=False)  # 4.3.0's hook undone
    assert purged == before


@pytest.mark.parametrize("kind", SYSTEMS)
def test_loading_another_name_replaces_the_release(kind, site, tmp_path):
    add_release(tmp_path / "cpkgs" / "anaconda3_linux", "tools2.0", hook=False)
    mdir = tmp_path / "mf"
    write_modules(kind, mdir)
    steps = ["module load isis/4.3.0", "module load tools/2.0", "module unload tools"]
    if kind == "envmodules":
        steps[1] = "module switch isis tools/2.0"
    run = run_modules("bash", mdir, steps, tmp_path, kind=kind)
    assert not any(run.failed(i) for i in (1, 2, 3)), run.proc.stdout + run.proc.stderr
    before, _, replaced, unloaded = run.envs
    root = tmp_path / "cpkgs" / "anaconda3_linux"
    assert replaced == activated(before, root, "tools2.0", hook=False)
    assert unloaded == before


def test_envmodules_refuses_a_second_release_and_changes_nothing(site, tmp_path):
    """Environment Modules 5.2 does not swap members of a family on load: the second load is
    refused (the family's conflict), the first release stays exactly as it was."""
    mdir = tmp_path / "mf"
    write_modules("envmodules", mdir)
    steps = ["module load isis/4.3.0", "module load isis/4.4.0"]
    run = run_modules("bash", mdir, steps, tmp_path, kind="envmodules")
    assert not run.failed(1) and run.failed(2)
    assert "conflict" in said(run.proc)
    assert run.envs[2] == run.envs[1]


def test_lmod_avail_and_spider_describe_each_release(site, tmp_path):
    mdir = tmp_path / "mf"
    write_modules("lmod", mdir)
    steps = ["module -t avail 2>&1", "module spider isis 2>&1", "module whatis isis/4.3.0 2>&1"]
    run = run_modules("bash", mdir, steps, tmp_path)
    assert "isis/4.3.0" in run.proc.stdout and "isis/10.0.0" in run.proc.stdout
    assert "shared conda env isis4.3.0 (linux, macos)" in run.proc.stdout


def test_envmodules_avail_lists_and_whatis_describes_each_release(site, tmp_path):
    """Environment Modules' avail shows names only (5.2 has no description column); its
    whatis and apropos show the one-line description of every release."""
    mdir = tmp_path / "mf"
    write_modules("envmodules", mdir)
    steps = ["module -t avail 2>&1", "module whatis 2>&1", "module apropos macos 2>&1"]
    steps.append("module help isis/4.3.0 2>&1")
    run = run_modules("bash", mdir, steps, tmp_path, kind="envmodules")
    out = run.proc.stdout
    assert "Shared conda environment isis4.3.0, as 'conda activate isis4.3.0' gives it" in out
    avail = out.split("module whatis", 1)[0]
    for release in ("isis/4.3.0", "isis/4.4.0", "isis/10.0.0"):
        assert release in avail, out
    described = [ln for ln in out.splitlines() if "shared conda env" in ln]
    assert any(ln.split(":")[0].strip() == "isis/4.3.0" for ln in described), out
    assert sum("isis10.0.0 (linux, macos)" in ln for ln in described) == 2, out  # whatis, apropos


@pytest.mark.parametrize("kind", SYSTEMS)
@pytest.mark.parametrize("shell", SHELLS)
def test_load_says_why_it_cannot(kind, shell, site, tmp_path):
    mdir = tmp_path / "mf"
    write_modules(kind, mdir)
    run = run_modules(shell, mdir, ["module load isis/10.0.0"], tmp_path, "Darwin", "arm64", kind)
    assert run.failed(1), run.proc.stdout + run.proc.stderr
    assert "release isis10.0.0 is not installed for this machine" in said(run.proc)
    assert run.envs[1] == run.envs[0]
    run = run_modules(shell, mdir, ["module load isis/4.3.0"], tmp_path, "FreeBSD", "amd64", kind)
    assert run.failed(1)
    assert "no shared installation for this machine (FreeBSD amd64)" in said(run.proc)
    assert run.envs[1] == run.envs[0]


def modules_on_share(
    share: FuseShare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> Path:
    """A site whose only installation is on ``share``, and its modulefiles in ``tmp_path``."""
    root = make_installation(share.mount / "anaconda3_linux")
    add_release(root, "isis4.3.0")
    (root / "etc" / "profile.d").mkdir(parents=True)  # conda.sh is sourced too (bash, zsh)
    (root / "etc" / "profile.d" / "conda.sh").write_text(CONDA_SH.replace("{root}", str(root)))
    site = write_site(tmp_path / "site.toml", [("linux", root, "linux", "")], TIMEOUT)
    monkeypatch.setenv("CONDASHARE_SITE", str(site))
    mdir = tmp_path / "mf"
    assert run_cli("modules", "--dir", str(mdir), "--format", fmt).returncode == 0
    return mdir


@pytest.mark.parametrize("kind", SYSTEMS)
@pytest.mark.parametrize("shell", SHELLS)
def test_load_on_a_dead_share_fails_fast(kind, shell, any_share, tmp_path, monkeypatch):
    mdir = modules_on_share(any_share, tmp_path, monkeypatch, FORMAT[kind])
    # A healthy load (warming the client's caches, as a real day's use would), the server
    # dies, unload must still restore (it touches nothing on the share), a new load fails fast.
    # A new shell's module init in between must not wait for the dead share either. Not with
    # Environment Modules: its init runs man-db's manpath, which stats DIR/../share/man of each
    # PATH entry, so it hangs with any env of the dead share on PATH (docs/modules.md).
    steps = [
        "module load isis/4.3.0",
        f"/usr/bin/touch {any_share.trigger}",
        module_init(kind, shell) if kind == "lmod" else "true",
        "module unload isis",
        "module load isis/4.3.0",
    ]
    run = run_modules(shell, mdir, steps, tmp_path, kind=kind)
    before, loaded, _, _, unloaded, after = run.envs
    assert run.took(3) < 1.0 + 1.0, run.took(3)
    assert loaded["CONDA_DEFAULT_ENV"] == "isis4.3.0", run.proc.stdout + run.proc.stderr
    assert not run.failed(4) and unloaded == before
    assert run.took(4) < 1.0 + 1.0, run.took(4)  # unload never waits for the share
    assert run.failed(5)
    assert f"did not answer within {TIMEOUT:g} s" in said(run.proc)
    assert run.took(5) < TIMEOUT + 1.0, run.took(5)
    assert after == before


# --------------------------------------------------------------------------- --use


STARTUP = {
    "bash": ".bashrc",
    "zsh": ".zshrc",
    "tcsh": ".tcshrc",
    "fish": ".config/fish/config.fish",
}


@pytest.mark.parametrize("shell", SHELLS)
def test_use_adds_module_use_that_the_shell_runs_and_reverse_restores(
    shell, site, sandbox_home, tmp_path
):
    """The block is read by a real shell with real Lmod set up by the user's own line before
    it; --reverse gives back the startup file byte for byte."""
    path = need_shell(shell)
    rc = sandbox_home / STARTUP[shell]
    rc.parent.mkdir(parents=True, exist_ok=True)
    mine = f"# my own settings\n{module_init('lmod', shell)}\n"
    rc.write_text(mine)
    env = {**os.environ, "SHELL": path}
    res = run_cli("modules", "--use", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"'module use' block added to {rc}" in res.stdout
    assert rc.read_text().startswith(mine) and "module use" in rc.read_text()
    assert run_cli("modules", "--use", env=env).returncode == 0  # again: unchanged
    assert rc.read_text().count(">>> condashare modules >>>") == 1
    shell_env = {"HOME": str(sandbox_home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    interactive = ["-i"] if shell in ("bash", "zsh") else []  # (tcsh, fish: read it anyway)
    argv = [path, *interactive, "-c", "module -t avail"]
    proc = subprocess.run(argv, capture_output=True, text=True, env=shell_env, timeout=60)
    assert "isis/4.3.0" in proc.stdout + proc.stderr, proc.stdout + proc.stderr  # Lmod: stderr
    res = run_cli("modules", "--reverse", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert rc.read_text() == mine


def test_use_without_a_module_system_changes_nothing_at_start(site, sandbox_home):
    rc = sandbox_home / ".bashrc"
    env = {**os.environ, "SHELL": "/bin/bash"}
    assert run_cli("modules", "--use", env=env).returncode == 0
    shell_env = {"HOME": str(sandbox_home), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [need_shell("bash"), "-i", "-c", "echo started"],
        capture_output=True, text=True, env=shell_env, timeout=60,
    )  # fmt: skip
    assert proc.stdout == "started\n" and "module" not in proc.stderr
    assert run_cli("modules", "--reverse", env=env).returncode == 0
    assert not rc.exists()  # it held only the block: created by --use, removed by --reverse


def test_use_keeps_a_cshrc_read_and_refuses_a_broken_block(site, sandbox_home):
    env = {**os.environ, "SHELL": "/bin/tcsh"}
    cshrc = sandbox_home / ".cshrc"
    cshrc.write_text("set history = 100\n")
    assert run_cli("modules", "--use", env=env).returncode == 0
    assert not (sandbox_home / ".tcshrc").exists()  # which would hide .cshrc from tcsh
    assert "module use" in cshrc.read_text()
    bashrc = sandbox_home / ".bashrc"
    bashrc.write_text("# >>> condashare modules >>>\nalias ll='ls -l'\n")
    res = run_cli("modules", "--use", env={**os.environ, "SHELL": "/bin/bash"})
    assert res.returncode == 3 and "without its end line" in res.stdout
    assert bashrc.read_text() == "# >>> condashare modules >>>\nalias ll='ls -l'\n"


def test_use_dry_run_shows_the_diff_and_writes_nothing(site, sandbox_home):
    res = run_cli("modules", "--use", "--dry-run", env={**os.environ, "SHELL": "/usr/bin/zsh"})
    assert res.returncode == 0, res.stdout + res.stderr
    assert '+command -v module >/dev/null 2>&1 && module use "$HOME"/' in res.stdout
    assert not (sandbox_home / ".zshrc").exists()


# --------------------------------------------------------------------------- conda's function

# The installation's etc/profile.d/conda.sh, reduced to what a module must carry into the shell:
# conda's shell function (the real file comes with conda, which is not installed here).
CONDA_SH = """\
__conda_exe() ( "$CONDA_EXE" "$@" )
conda() {
  case "${1-}" in
    activate|deactivate) echo "conda-function $*" ;;
    *) __conda_exe "$@" ;;
  esac
}
export CONDA_EXE='{root}/bin/conda'
export CONDA_PYTHON_EXE='{root}/bin/python'
"""


@pytest.mark.parametrize("kind", SYSTEMS)
@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_load_defines_condas_shell_function_and_unload_removes_it(kind, shell, site, tmp_path):
    root = tmp_path / "cpkgs" / "anaconda3_linux"
    (root / "etc" / "profile.d").mkdir(parents=True)
    (root / "etc" / "profile.d" / "conda.sh").write_text(CONDA_SH.replace("{root}", str(root)))
    mdir = tmp_path / "mf"
    write_modules(kind, mdir)
    steps = [
        "module load isis/4.3.0",
        "conda activate isis4.4.0",
        "module unload isis",
        "type conda >/dev/null 2>&1 && echo 'conda still defined'",
    ]
    run = run_modules(shell, mdir, steps, tmp_path, kind=kind)
    out = run.proc.stdout
    assert not run.failed(1) and not run.failed(2), out + run.proc.stderr
    assert "conda-function activate isis4.4.0" in out
    before, loaded, _, unloaded, _ = run.envs
    # Environment Modules exports the functions it defines in bash (BASH_FUNC_conda%%): not
    # what conda.sh does, but the same function in the shell; unload removes them exactly.
    loaded = {k: v for k, v in loaded.items() if k in before or not k.startswith("BASH_FUNC_")}
    assert loaded == activated(before, root, "isis4.3.0", hook=True)
    assert unloaded == before and "conda still defined" not in out


# In tcsh conda's shell integration is an alias from conda.csh, in fish functions from
# conda.fish (the stand-ins of support/conda_shell.py, in the shape conda installs them).
# Environment Modules' source-sh reads both and undoes them exactly. Lmod 8.6's source_sh reads
# tcsh but not fish: there the module defines a 'conda' function that sources conda.fish on its
# first call, conda.fish defines conda's own in its place, and unload removes it
# (docs/modules.md says what else a real conda.fish leaves defined).
GONE = {
    "tcsh": """if ( "`alias conda`" != "" ) echo 'conda still defined'""",
    "fish": "functions -q conda; and echo 'conda still defined'",
}


@pytest.mark.parametrize("kind", SYSTEMS)
@pytest.mark.parametrize("shell", ["tcsh", "fish"])
def test_load_gives_condas_alias_or_function_in_tcsh_and_fish_and_unload_removes_it(
    kind, shell, site, tmp_path
):
    root = tmp_path / "cpkgs" / "anaconda3_linux"
    write_installation(root, str(root), "linux")
    mdir = tmp_path / "mf"
    write_modules(kind, mdir)
    steps = ["module load isis/4.3.0", "conda info --envs", "module unload isis", GONE[shell]]
    run = run_modules(shell, mdir, steps, tmp_path, kind=kind)
    out = run.proc.stdout
    assert not any(run.failed(i) for i in (1, 2, 3)), out + run.proc.stderr
    # conda's alias (tcsh) or function (fish) ran the installation's conda
    assert "conda-from-linux info --envs" in out, out + run.proc.stderr
    before, loaded, used, unloaded, _ = run.envs
    want = activated(before, root, "isis4.3.0", hook=True)
    if shell == "tcsh":  # what conda.csh exports besides CONDA_EXE and CONDA_PYTHON_EXE
        want.update(_CONDA_EXE=str(root / "bin" / "conda"), _CONDA_ROOT=str(root))
    if shell == "fish" and kind == "envmodules":  # conda.fish's first load puts condabin first
        want["PATH"] = f"{root}/envs/isis4.3.0/bin:{root}/condabin:{before['PATH']}"
    assert loaded == want
    assert used == want  # calling conda (no activate) changed nothing
    assert unloaded == before and "conda still defined" not in out
