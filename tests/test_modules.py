"""``condashare modules``: files, names, sync, --reverse, --dry-run, safety, and real Lmod.

Modulefiles are written by the real CLI; Lmod (Debian ``lmod``) loads them in real bash and zsh
with a fake ``uname`` first on PATH (as the init tests do) to take the Linux and macOS branches.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import FuseShare, need, need_shell, run_cli
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
    assert "dry run: 3 modulefile(s) would change" in res.stdout
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


# --------------------------------------------------------------------------- real Lmod


def lmod_init(shell: str) -> str:
    listed = subprocess.run(["dpkg", "-L", "lmod"], capture_output=True, text=True)
    init = [ln for ln in listed.stdout.splitlines() if ln.endswith(f"/init/{shell}")]
    need(bool(init), "Lmod is not installed (apt-get install lmod)")
    return init[0]


# Lmod's own bookkeeping (which modules are loaded, reference counts of PATH entries); what
# module load sets for the user is everything else.
BOOKKEEPING = ("_ModuleTable", "__LMOD_", "_LMFILES_", "LOADEDMODULES", "LMOD_FAMILY_")


def user_env(dump: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in dump.split("\0"):
        if "=" in item:
            key, value = item.split("=", 1)
            if not key.startswith(BOOKKEEPING) and key != "__CONDASHARE_HOOKS":
                out[key] = value
    return out


def run_lmod(
    shell: str,
    mdir: Path,
    steps: list[str],
    tmp_path: Path,
    system: str = "Linux",
    machine: str = "x86_64",
) -> tuple[list[dict[str, str]], subprocess.CompletedProcess[str]]:
    """Run ``steps`` (module commands) in a real shell with Lmod; the env after each step."""
    path = need_shell(shell)
    init = lmod_init(shell)
    bindir = fake_uname(tmp_path / f"uname-{system}", system, machine)
    dumps = tmp_path / f"dumps-{shell}"
    shutil.rmtree(dumps, ignore_errors=True)
    dumps.mkdir()
    lines = [f". {init}", f"module use {mdir}", "module purge"]
    lines.append(f"/usr/bin/env -0 > {dumps}/0")
    for i, step in enumerate(steps, 1):
        lines.append(f"{step} || echo 'step {i} failed'")
        lines.append(f"/usr/bin/env -0 > {dumps}/{i}")
    script = tmp_path / f"steps.{shell}"
    script.write_text("\n".join(lines) + "\n")
    env = {"HOME": os.environ["HOME"], "PATH": f"{bindir}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    argv = [path, "-f", str(script)] if shell == "zsh" else [path, "--norc", str(script)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    envs = [user_env((dumps / str(i)).read_text()) for i in range(len(steps) + 1)]
    return envs, proc


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


@pytest.mark.parametrize("shell", ["bash", "zsh"])
@pytest.mark.parametrize(
    ("system", "machine", "inst"),
    [("Linux", "x86_64", "anaconda3_linux"), ("Darwin", "arm64", "anaconda3_macOS")],
)
def test_lmod_load_is_conda_activate_and_unload_restores_exactly(
    shell, system, machine, inst, site, tmp_path
):
    mdir = tmp_path / "mf"
    assert run_cli("modules", "--dir", str(mdir)).returncode == 0
    steps = ["module load isis/4.3.0", "module unload isis"]
    (before, loaded, unloaded), proc = run_lmod(shell, mdir, steps, tmp_path, system, machine)
    assert "failed" not in proc.stdout, proc.stdout + proc.stderr
    root = tmp_path / "cpkgs" / inst
    assert loaded == activated(before, root, "isis4.3.0", hook=True)
    assert unloaded == before


def test_lmod_swap_and_purge_restore_exactly(site, tmp_path):
    mdir = tmp_path / "mf"
    assert run_cli("modules", "--dir", str(mdir)).returncode == 0
    steps = ["module load isis/4.3.0", "module load isis/4.4.0", "module purge"]
    (before, first, swapped, purged), proc = run_lmod("bash", mdir, steps, tmp_path)
    assert "failed" not in proc.stdout, proc.stdout + proc.stderr
    root = tmp_path / "cpkgs" / "anaconda3_linux"
    assert first == activated(before, root, "isis4.3.0", hook=True)
    assert swapped == activated(before, root, "isis4.4.0", hook=False)  # 4.3.0's hook undone
    assert purged == before


def test_lmod_loading_another_name_replaces_the_release(site, tmp_path):
    add_release(tmp_path / "cpkgs" / "anaconda3_linux", "tools2.0", hook=False)
    mdir = tmp_path / "mf"
    assert run_cli("modules", "--dir", str(mdir)).returncode == 0
    steps = ["module load isis/4.3.0", "module load tools/2.0", "module unload tools"]
    (before, _, replaced, unloaded), proc = run_lmod("bash", mdir, steps, tmp_path)
    assert "failed" not in proc.stdout, proc.stdout + proc.stderr
    root = tmp_path / "cpkgs" / "anaconda3_linux"
    assert replaced == activated(before, root, "tools2.0", hook=False)
    assert unloaded == before


def test_lmod_avail_and_spider_describe_each_release(site, tmp_path):
    mdir = tmp_path / "mf"
    assert run_cli("modules", "--dir", str(mdir)).returncode == 0
    _, proc = run_lmod(
        "bash",
        mdir,
        ["module -t avail 2>&1", "module spider isis 2>&1", "module whatis isis/4.3.0 2>&1"],
        tmp_path,
    )
    assert "isis/4.3.0" in proc.stdout and "isis/10.0.0" in proc.stdout
    assert "shared conda env isis4.3.0 (linux, macos)" in proc.stdout


def test_lmod_load_says_why_it_cannot(site, tmp_path):
    mdir = tmp_path / "mf"
    assert run_cli("modules", "--dir", str(mdir)).returncode == 0
    (before, after), proc = run_lmod(
        "bash", mdir, ["module load isis/10.0.0"], tmp_path, "Darwin", "arm64"
    )
    assert "step 1 failed" in proc.stdout
    assert "release isis10.0.0 is not installed for this machine" in said(proc)
    assert after == before
    (before, after), proc = run_lmod(
        "bash", mdir, ["module load isis/4.3.0"], tmp_path, "FreeBSD", "amd64"
    )
    assert "no shared installation for this machine (FreeBSD amd64)" in said(proc)
    assert after == before


def modules_on_share(
    share: FuseShare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> Path:
    """A site whose only installation is on ``share``, and its modulefiles in ``tmp_path``."""
    root = make_installation(share.mount / "anaconda3_linux")
    add_release(root, "isis4.3.0")
    site = write_site(tmp_path / "site.toml", [("linux", root, "linux", "")], TIMEOUT)
    monkeypatch.setenv("CONDASHARE_SITE", str(site))
    mdir = tmp_path / "mf"
    assert run_cli("modules", "--dir", str(mdir), "--format", fmt).returncode == 0
    return mdir


def test_lmod_load_on_a_dead_share_fails_fast(any_share, tmp_path, monkeypatch):
    mdir = modules_on_share(any_share, tmp_path, monkeypatch, "lua")
    timed = (
        "s=$(date +%s.%N); module load isis/4.3.0; rc=$?; e=$(date +%s.%N);"
        ' echo "took $(echo "$e - $s" | bc)"; [ $rc -eq 0 ]'
    )
    # A healthy load (warming the client's caches, as a real day's use would), the server
    # dies, unload must still restore (it touches nothing on the share), a new load fails fast.
    steps = ["module load isis/4.3.0", f": > {any_share.trigger}", "module unload isis", timed]
    (before, loaded, _, unloaded, after), proc = run_lmod("bash", mdir, steps, tmp_path)
    assert loaded["CONDA_DEFAULT_ENV"] == "isis4.3.0", proc.stderr
    assert "step 3 failed" not in proc.stdout and unloaded == before
    assert "step 4 failed" in proc.stdout
    assert f"did not answer within {TIMEOUT:g} s" in said(proc)
    took = float(proc.stdout.split("took ", 1)[1].split()[0])
    assert took < TIMEOUT + 1.0, took
    assert after == before


# --------------------------------------------------------------------------- Tcl, with tclsh

# Environment Modules cannot be installed next to Lmod (the packages conflict): the Tcl files
# run in the real tclsh with the module commands they use recorded, not carried out.
TCL_HARNESS = """
set mode [lindex $argv 0]
proc module-info {what} { global mode; if {$what eq "mode"} {return $mode}; return isis/4.3.0 }
proc module-whatis {text} { puts "whatis $text" }
proc family {name} { puts "family $name" }
proc prepend-path {var value} { puts "prepend-path $var $value" }
proc pushenv {var value} { puts "pushenv $var=$value" }
proc source-sh {shell script} { puts "source-sh $shell $script" }
if {[catch {source [lindex $argv 1]} msg]} { puts "error: $msg"; exit 1 }
if {$mode eq "help"} { ModulesHelp }
"""


def run_tcl(
    modulefile: Path, mode: str, tmp_path: Path, system: str = "Linux", machine: str = "x86_64"
) -> tuple[subprocess.CompletedProcess[str], float]:
    tclsh = shutil.which("tclsh")
    need(tclsh is not None, "tclsh is not installed (apt-get install tcl)")
    assert tclsh is not None
    harness = tmp_path / "harness.tcl"
    harness.write_text(TCL_HARNESS)
    bindir = fake_uname(tmp_path / f"uname-{system}", system, machine)
    env = {"HOME": os.environ["HOME"], "PATH": f"{bindir}:/usr/bin:/bin"}
    start = time.monotonic()
    proc = subprocess.run(
        [tclsh, str(harness), mode, str(modulefile)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    return proc, time.monotonic() - start


@pytest.mark.parametrize(
    ("system", "machine", "inst"),
    [("Linux", "x86_64", "anaconda3_linux"), ("Darwin", "arm64", "anaconda3_macOS")],
)
def test_tcl_load_sets_what_conda_activate_sets(system, machine, inst, site, tmp_path):
    mdir = tmp_path / "mf"
    assert run_cli("modules", "--dir", str(mdir), "--format", "tcl").returncode == 0
    proc, _ = run_tcl(mdir / "isis" / "4.3.0", "load", tmp_path, system, machine)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = tmp_path / "cpkgs" / inst
    env = root / "envs" / "isis4.3.0"
    assert proc.stdout.splitlines() == [
        "whatis shared conda env isis4.3.0 (linux, macos)",
        "family condashare",
        f"prepend-path PATH {env}/bin",
        f"pushenv CONDA_PREFIX={env}",
        "pushenv CONDA_DEFAULT_ENV=isis4.3.0",
        "pushenv CONDA_SHLVL=1",
        "pushenv CONDA_PROMPT_MODIFIER=(isis4.3.0) ",
        f"pushenv CONDA_EXE={root}/bin/conda",
        f"pushenv CONDA_PYTHON_EXE={root}/bin/python",
        "pushenv __CONDASHARE_HOOKS=isis.sh",
        f"source-sh bash {env}/etc/conda/activate.d/isis.sh",
    ]


def test_tcl_load_says_why_it_cannot_and_help_describes(site, tmp_path):
    mdir = tmp_path / "mf"
    assert run_cli("modules", "--dir", str(mdir), "--format", "tcl").returncode == 0
    proc, _ = run_tcl(mdir / "isis" / "10.0.0", "load", tmp_path, "Darwin", "arm64")
    assert proc.returncode == 1
    assert "release isis10.0.0 is not installed for this machine" in proc.stdout
    proc, _ = run_tcl(mdir / "isis" / "4.3.0", "load", tmp_path, "FreeBSD", "amd64")
    assert "no shared installation for this machine (FreeBSD amd64)" in proc.stdout
    proc, _ = run_tcl(mdir / "isis" / "4.3.0", "help", tmp_path)
    assert proc.returncode == 0 and "Shared conda environment isis4.3.0" in proc.stderr
    assert "prepend-path" not in proc.stdout  # help touches nothing


def test_tcl_load_on_a_dead_share_fails_fast(any_share, tmp_path, monkeypatch):
    mdir = modules_on_share(any_share, tmp_path, monkeypatch, "tcl")
    proc, _ = run_tcl(mdir / "isis" / "4.3.0", "load", tmp_path)
    assert proc.returncode == 0, proc.stdout  # healthy, and the client's caches warm
    any_share.block()
    proc, took = run_tcl(mdir / "isis" / "4.3.0", "load", tmp_path)
    assert proc.returncode == 1
    assert f"did not answer within {TIMEOUT:g} s" in " ".join(proc.stdout.split())
    assert took < TIMEOUT + 1.0, took
    proc, took = run_tcl(mdir / "isis" / "4.3.0", "unload", tmp_path)
    assert proc.returncode == 0 and took < 1.0 + 1.0, proc.stdout  # unload never waits
