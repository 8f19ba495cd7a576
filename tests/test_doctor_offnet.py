"""doctor offnet.state: writable state on a network home moved to local disk, and back.

The network home is a real FUSE share shown as ``fuse.nfs``; IPython and a Jupyter server run
for real against it. ``CONDASHARE_LOCAL_DIR`` points the local dir at the test's temp dir so no
test writes to the machine's /var/tmp.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import need, run_cli
from support.doctor_env import make_ctx

from condashare.doctor import offnet
from condashare.doctor.checks import offnet as offnet_check
from condashare.doctor.model import Severity
from condashare.host import dirs

HOST = dirs.host_key(socket.gethostname())
USER_ROOT = f"condashare-{dirs.user_name()}"


def _home_env(home: Path, local: Path) -> dict[str, str]:
    local.mkdir(parents=True, exist_ok=True)  # else the fix would choose the real /var/tmp
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        CONDASHARE_LOCAL_DIR=str(local),
        PYTHONNOUSERSITE="1",
    )
    for var in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env.pop(var, None)
    return env


def _net_home(share) -> Path:
    (share.backing / "home").mkdir()
    return share.mount / "home"


def _fixed_home(share, tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A network home on ``share`` after ``doctor offnet --fix --yes`` (run as a user would)."""
    home = _net_home(share)
    local = tmp_path / "local"
    local.mkdir()
    env = _home_env(home, local)
    done = run_cli("doctor", "offnet", "--fix", "--yes", env=env, timeout=90)
    assert "applied" in done.stdout, done.stdout + done.stderr
    return home, local, env


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every regular file under ``root`` (the backing dir: never through the mount)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "condashare" not in p.parts  # the record and backups are ours
    }


@pytest.mark.fuse
def test_state_on_a_network_home_is_found_and_fixable(fuse_share, tmp_path):
    home = _net_home(fuse_share)
    ctx = make_ctx(home, env={**_home_env(home, tmp_path / "local"), "XDG_DATA_HOME": ""})
    kinds = {f.data["kind"]: f for f in offnet_check.check_state(ctx)}
    assert set(kinds) == {"conda-pkgs", "conda-envs", "ipython", "jupyter"}
    assert all(f.severity == Severity.WARNING and f.fixable for f in kinds.values())
    assert kinds["conda-pkgs"].data["path"] == f"{home}/.conda/pkgs"
    assert kinds["ipython"].data["config"] == f"{home}/.ipython/profile_default/ipython_config.py"


def test_local_home_is_quiet(sandbox_home, tmp_path):
    ctx = make_ctx(sandbox_home, env={"CONDASHARE_LOCAL_DIR": str(tmp_path)})
    found = offnet_check.check_state(ctx)
    assert [f.severity for f in found] == [Severity.OK]


def test_local_root_refuses_a_network_candidate(fuse_share, sandbox_home):
    ctx = make_ctx(sandbox_home, env={"CONDASHARE_LOCAL_DIR": str(fuse_share.mount)})
    fuse_share.block()  # choosing must not touch the share: the mount table decides
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        chose = pool.submit(offnet.choose_local_root, ctx)
        try:
            choice = chose.result(timeout=60)  # a touch would hang until the share heals
        finally:
            fuse_share.heal()
    assert choice.base in dirs.LOCAL_BASES
    assert any("fuse.nfs" in r for r in choice.refused)


@pytest.mark.fuse
def test_fix_dry_run_then_apply_then_reverse_restores_every_byte(fuse_share, tmp_path):
    home = _net_home(fuse_share)
    local = tmp_path / "local"
    local.mkdir()
    backing = fuse_share.backing / "home"
    (backing / ".condarc").write_text("# my settings\nchannels:\n  - conda-forge\n")
    (backing / ".ipython" / "profile_default").mkdir(parents=True)
    (backing / ".ipython" / "profile_default" / "ipython_config.py").write_text(
        "c = get_config()\nc.TerminalInteractiveShell.confirm_exit = False\n"
    )
    before = _snapshot(backing)
    env = _home_env(home, local)

    dry = run_cli("doctor", "offnet", "--fix", "--dry-run", env=env, timeout=90)
    assert dry.returncode == 1, dry.stderr
    assert "would" in dry.stdout and f"{local}/{USER_ROOT}/conda/pkgs" in dry.stdout
    assert _snapshot(backing) == before  # --dry-run changed nothing

    done = run_cli("doctor", "offnet", "--fix", "--yes", "--json", env=env, timeout=90)
    doc = json.loads(done.stdout)
    assert doc["exit_code"] == 0, done.stdout  # re-run after the fix: all on local disk
    (fix,) = doc["data"]["fixes"]
    assert fix["applied"] and not fix["error"]
    condarc = (backing / ".condarc").read_text()
    assert condarc.startswith("# my settings\nchannels:\n  - conda-forge\n")
    assert f"pkgs_dirs:\n  - {local}/{USER_ROOT}/conda/pkgs  #!top\n" in condarc
    assert f"  - {home}/.conda/pkgs\n" in condarc  # the cache used so far stays readable
    assert f"envs_dirs:\n  - {local}/{USER_ROOT}/conda/envs  #!top\n" in condarc
    ipconf = (backing / ".ipython" / "profile_default" / "ipython_config.py").read_text()
    assert ipconf.startswith("c = get_config()\nc.TerminalInteractiveShell.confirm_exit")
    assert offnet.BEGIN in ipconf
    assert (backing / ".jupyter" / "jupyter_config.py").exists()
    assert (local / USER_ROOT / "conda" / "pkgs").is_dir()

    again = run_cli("doctor", "offnet", "--fix", "--yes", "--json", env=env, timeout=90)
    assert json.loads(again.stdout)["data"]["fixes"] == []  # nothing left to fix
    after_fix = _snapshot(backing)

    undo = run_cli("doctor", "--fix", "--reverse", "--yes", env=env, timeout=90)
    assert undo.returncode == 0, undo.stdout + undo.stderr
    assert _snapshot(backing) == before  # every byte back, the created file gone
    assert after_fix != before
    assert (local / USER_ROOT / "conda" / "pkgs").is_dir()  # local data is never deleted
    nothing = run_cli("doctor", "--fix", "--reverse", "--yes", env=env, timeout=90)
    assert "nothing to undo" in nothing.stdout


@pytest.mark.fuse
def test_reverse_after_the_user_edited_removes_only_what_the_fix_added(fuse_share, tmp_path):
    home = _net_home(fuse_share)
    backing = fuse_share.backing / "home"
    env = _home_env(home, tmp_path / "local")
    ctx = make_ctx(home, env=env)
    found = offnet_check.check_state(ctx)
    assert offnet_check.fix_state(ctx, [f for f in found if f.fixable], True).applied
    rc = backing / ".condarc"
    rc.write_text(rc.read_text() + "channels:\n  - bioconda\n")
    out = offnet_check.reverse(make_ctx(home, env=env), True)
    assert out.applied and not out.error
    assert rc.read_text() == "channels:\n  - bioconda\n"
    assert not (backing / ".jupyter" / "jupyter_config.py").exists()


def _ipython(env: dict[str, str], lines: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "IPython", "--simple-prompt", "--no-banner"],
        input=lines,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )  # fmt: skip


@pytest.mark.fuse
def test_ipython_history_lives_where_the_fix_put_it_and_a_hung_home_is_not_touched(
    cached_share, tmp_path
):
    need(_has("IPython"), "IPython is not installed (pip install ipython)")
    _, local, env = _fixed_home(cached_share, tmp_path)
    first = _ipython(env, "x = 6 * 7\nprint('first', x)\n", 60)
    assert "first 42" in first.stdout, first.stderr
    db = local / USER_ROOT / HOST / "ipython" / "profile_default" / "history.sqlite"
    assert db.is_file()
    assert not (
        cached_share.backing / "home" / ".ipython" / "profile_default" / "history.sqlite"
    ).exists()

    # A second session: its config is read while the share answers, then the server dies.
    # Its history is written at exit; on the share that write would hang the session.
    proc = subprocess.Popen(
        [sys.executable, "-m", "IPython", "--simple-prompt", "--no-banner"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdin is not None
        proc.stdin.write("print('second', 1 + 1)\n")
        proc.stdin.flush()
        seen = _read_until(proc, "second 2", 60)  # started and ran the line
        cached_share.block()
        out, err = proc.communicate("exit\n", timeout=30)
        out = seen + out
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "second 2" in out, err
    import sqlite3

    with sqlite3.connect(db) as con:
        sources = [r[0] for r in con.execute("select source from history")]
    assert "x = 6 * 7" in sources and "print('second', 1 + 1)" in sources


def _read_until(proc: subprocess.Popen[str], needle: str, timeout: float) -> str:
    """Read the child's stdout until ``needle`` shows (the session is up and ran a line)."""
    import select

    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    got = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in got and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            got += chunk
    assert needle.encode() in got, got
    return got.decode()


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.mark.fuse
def test_jupyter_server_keeps_its_runtime_files_on_local_disk(fuse_share, tmp_path):
    need(_has("jupyter_server"), "jupyter_server is not installed (pip install jupyter_server)")
    _, local, env = _fixed_home(fuse_share, tmp_path)
    runtime = local / USER_ROOT / HOST / "jupyter" / "runtime"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
         "--ip=127.0.0.1", f"--ServerApp.root_dir={tmp_path}", "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(runtime.glob("jpserver-*.json")):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.2)
        assert list(runtime.glob("jpserver-*.json")), "the server wrote no runtime file locally"
        listed = subprocess.run(
            [sys.executable, "-m", "jupyter_server", "list", "--json"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert f'"port": {port}' in listed.stdout, listed.stderr
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    share_runtime = fuse_share.backing / "home" / ".local" / "share" / "jupyter" / "runtime"
    assert not list(share_runtime.glob("jpserver-*")) if share_runtime.exists() else True


@pytest.mark.fuse
def test_without_a_local_dir_locks_go_off_and_history_stays_in_memory(
    fuse_share, tmp_path, monkeypatch
):
    """A diskless node: every candidate is on the network. conda's cache cannot move, so the
    lock settings conda and mamba read are set; IPython keeps its history in memory."""
    home = _net_home(fuse_share)
    backing = fuse_share.backing / "home"
    monkeypatch.setattr(dirs, "LOCAL_BASES", (str(fuse_share.mount),))
    env = {**_home_env(home, tmp_path), "CONDASHARE_LOCAL_DIR": ""}
    ctx = make_ctx(home, env=env)
    assert not offnet.choose_local_root(ctx).usable
    found = [f for f in offnet_check.check_state(ctx) if f.fixable]
    plan = offnet_check.fix_state(ctx, found, False)
    assert "no local directory" in plan.diff and "+no_lock: true" in plan.diff
    assert offnet_check.fix_state(ctx, found, True).applied
    assert (backing / ".condarc").read_text() == "no_lock: true\nuse_lockfiles: false\n"
    ipconf = backing / ".ipython" / "profile_default" / "ipython_config.py"
    assert "_condashare_local(None, 'ipython', 'profile_default')" in ipconf.read_text()
    ran = _ipython({**os.environ, **{k: v for k, v in env.items() if v}}, "print(40 + 2)\n", 60)
    assert "42" in ran.stdout, ran.stderr
    assert not list(backing.rglob("history.sqlite"))  # in memory: nothing on the share
    assert offnet_check.reverse(make_ctx(home, env=env), True).applied
    assert not (backing / ".condarc").exists() and not ipconf.exists()


@pytest.mark.fuse
def test_a_home_shared_with_macos_edits_the_same_jupyter_config(fuse_share, tmp_path):
    """macOS keeps Jupyter's data in ~/Library/Jupyter, but both OSes read ~/.jupyter: the fix
    made on either OS is the one file the other reads too."""
    home = _net_home(fuse_share)
    env = {**_home_env(home, tmp_path), "XDG_DATA_HOME": ""}
    mac = make_ctx(home, env=env, system="Darwin", machine="arm64")
    linux = make_ctx(home, env=env)
    spots = {
        name: {s.kind: s for s in offnet.find_spots(c, offnet.choose_local_root(c))}
        for name, c in (("mac", mac), ("linux", linux))
    }
    assert spots["mac"]["jupyter"].path == f"{home}/Library/Jupyter/runtime"
    assert spots["linux"]["jupyter"].path == f"{home}/.local/share/jupyter/runtime"
    assert spots["mac"]["jupyter"].config == spots["linux"]["jupyter"].config
    assert spots["mac"]["jupyter"].config == f"{home}/.jupyter/jupyter_config.py"


@pytest.mark.fuse
def test_sqlite_check_stops_warning_about_a_database_the_fix_moved(fuse_share, tmp_path):
    import sqlite3

    from condashare.doctor.checks import sqlite_nfs

    home = _net_home(fuse_share)
    profile = fuse_share.backing / "home" / ".ipython" / "profile_default"
    profile.mkdir(parents=True)
    sqlite3.connect(profile / "history.sqlite").close()
    env = {**_home_env(home, tmp_path), "XDG_DATA_HOME": ""}
    before = sqlite_nfs.check_known_dbs(make_ctx(home, env=env))
    assert [f.severity for f in before] == [Severity.WARNING]
    assert "offnet.state --fix" in before[0].fix
    ctx = make_ctx(home, env=env)
    found = [f for f in offnet_check.check_state(ctx) if f.fixable]
    assert offnet_check.fix_state(ctx, found, True).applied
    after = sqlite_nfs.check_known_dbs(make_ctx(home, env=env))
    (after,) = after  # Jupyter's databases do not exist: nothing said about them
    assert after.severity == Severity.INFO and "no longer used" in after.title


@pytest.mark.fuse
def test_the_fix_keeps_the_history_so_far(fuse_share, tmp_path):
    """The old database is copied to its new place on this machine, once."""
    import sqlite3

    home = _net_home(fuse_share)
    profile = fuse_share.backing / "home" / ".ipython" / "profile_default"
    profile.mkdir(parents=True)
    with sqlite3.connect(profile / "history.sqlite") as con:
        con.execute("create table history (session, line, source, source_raw)")
        con.execute("insert into history values (1, 1, 'old = 1', 'old = 1')")
    con.close()
    local = tmp_path / "local"
    local.mkdir()
    env = _home_env(home, local)
    ctx = make_ctx(home, env=env)
    found = [f for f in offnet_check.check_state(ctx) if f.fixable]
    assert offnet_check.fix_state(ctx, found, True).applied
    moved = local / USER_ROOT / HOST / "ipython" / "profile_default" / "history.sqlite"
    assert moved.read_bytes() == (profile / "history.sqlite").read_bytes()
    ran = _ipython(env, "print('new', 2)\n", 60)
    assert "new 2" in ran.stdout, ran.stderr
    with sqlite3.connect(moved) as con:
        sources = [r[0] for r in con.execute("select source from history")]
    con.close()
    assert sources[0] == "old = 1" and "print('new', 2)" in sources


@pytest.mark.fuse
def test_a_local_dir_another_user_made_in_advance_is_refused(fuse_share, tmp_path):
    """/var/tmp is writable by all: a directory made there under our name by someone else
    (here: one writable by others, as root cannot be another user) is never used."""
    home = _net_home(fuse_share)
    local = tmp_path / "local"
    squat = local / USER_ROOT
    squat.mkdir(parents=True)
    squat.chmod(0o777)
    env = _home_env(home, local)
    ctx = make_ctx(home, env=env)
    choice = offnet.choose_local_root(ctx)
    assert choice.root != str(squat)
    assert any("writable by other users" in r for r in choice.refused)
    # A condarc pointing there already (the fix ran when the dir was still ours): an error.
    (fuse_share.backing / "home" / ".condarc").write_text(f"pkgs_dirs:\n  - {squat}/conda/pkgs\n")
    monkey = pytest.MonkeyPatch()
    monkey.setattr(dirs, "LOCAL_BASES", (str(local),))
    try:
        found = offnet_check.check_state(make_ctx(home, env=env))
    finally:
        monkey.undo()
    (bad,) = [f for f in found if f.severity == Severity.ERROR]
    assert str(squat) in bad.title and "not yours" in bad.title


def test_reverse_needs_fix_and_names_no_checks(sandbox_home):
    alone = run_cli("doctor", "--reverse")
    assert alone.returncode == 2 and "--reverse only apply to --fix" in alone.stderr
    named = run_cli("doctor", "offnet", "--fix", "--reverse")
    assert named.returncode == 2 and "name no checks" in named.stderr
