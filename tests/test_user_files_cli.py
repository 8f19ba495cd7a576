"""Every command with the user's files in trouble, run as a user runs it (the real CLI).

- HOME on a share that stopped answering (kernel caches off, and on after a healthy use);
- the site file on such a share;
- special files where a startup file or ``~/.condarc`` should be: a FIFO (reading it waits for
  a writer forever), a symlink to /dev/zero (reading it never ends), a directory, a symlink loop.

Each command must end within its stated bound with a message naming the file and one exit code.
Python itself stats the user site-packages dir under HOME while starting, before any condashare
code runs (docs/doctor.md): the dead-home runs set PYTHONNOUSERSITE=1, as a user must.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import CliResult, FuseShare
from support.userhome import REPO, make_install, user_env, write_site

PROBE = 1.0  # the site file's probe_timeout in these tests
# A command touching a dead home waits for one probe timeout per share (later touches of the
# same share are answered from memory), plus the interpreter's start-up on a busy machine.
BOUND = 2 * PROBE + 8.0


def run(
    args: Sequence[str], env: dict[str, str], limit: float, share: FuseShare | None
) -> CliResult:
    """The CLI in a child; a run past ``limit`` is a failure (and the share is healed first so
    the stuck process can be reaped) instead of a hung test suite."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "condashare", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd="/",
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        if share is not None:
            share.heal()
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"condashare {' '.join(args)} did not end within {limit:g} s:\n{err[-2000:]}")
    return CliResult(proc.returncode, out, err, time.monotonic() - start)


# ---------------------------------------------------------------- HOME on a dead share

# command -> (exit code, text the user must see). Why each code:
# init/shared on/off cannot do their job: 3 (could not finish), nothing written;
# shared status and info report it as a problem they found: 1;
# envs needs nothing from the home: 0;
# doctor: the checks that need the home time out or report it: 3 (some could not finish).
DEAD_HOME = {
    "init": (("init", "--shell", "bash"), 3, "nothing was changed"),
    "init-dry-run": (("init", "--dry-run", "--shell", "bash"), 3, "not answering"),
    "init-reverse": (("init", "--reverse"), 3, "nothing was changed"),
    "shared-status": (("shared", "status"), 1, "not answering"),
    "shared-on": (("shared", "on"), 3, "nothing was written"),
    "shared-off": (("shared", "off"), 3, "nothing was written"),
    "info": (("info",), 1, "not answering"),
    "envs": (("envs",), 0, "isis4.3.0"),
    "doctor": (("doctor", "--timeout", "8"), 3, "cannot read startup files"),
}


@pytest.mark.fuse
@pytest.mark.parametrize("command", list(DEAD_HOME))
def test_home_on_a_dead_share(any_share: FuseShare, tmp_path: Path, command: str) -> None:
    inst = make_install(tmp_path / "inst")
    site = write_site(tmp_path / "site.toml", inst, PROBE)
    backing = any_share.backing / "ada"
    backing.mkdir()
    (backing / ".bashrc").write_text("alias ll='ls -l'\n")
    (backing / ".condarc").write_text(f"envs_dirs:\n  - {inst}/envs\n")
    home = any_share.mount / "ada"
    env = user_env(home, site)
    # One healthy use, so that a caching share has the home's attributes in its cache.
    warm = run(("init", "--dry-run", "--shell", "bash"), env, 60, any_share)
    assert warm.returncode == 0, warm.stderr
    assert run(("shared", "status"), env, 60, any_share).returncode == 0
    any_share.block()
    args, code, text = DEAD_HOME[command]
    limit = BOUND + (8 if command == "doctor" else 0)
    res = run(args, env, limit + 20, any_share)
    assert res.seconds < limit, f"took {res.seconds:.1f} s"
    assert res.returncode == code, res.stdout + res.stderr
    shown = res.stdout + res.stderr
    assert text in shown, shown
    if code != 0 and command != "doctor":
        assert f"your home {home} is on nfsserver:/export/conda" in shown, shown
    assert "internal error" not in shown
    any_share.heal()
    assert (backing / ".bashrc").read_text() == "alias ll='ls -l'\n"
    assert (backing / ".condarc").read_text() == f"envs_dirs:\n  - {inst}/envs\n"


def _venv_with_this_checkout(root: Path) -> Path:
    """A real venv (no pip, no network) that sees this interpreter's packages and this checkout
    through a .pth file, as an install into a venv or by pipx would. Returns its python."""
    import site as pysite
    import venv

    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    user = pysite.getusersitepackages()
    paths = [p for p in sys.path if p and os.path.isdir(p) and not p.startswith(user)]
    Path(purelib, "deps.pth").write_text("\n".join([*paths, str(REPO)]) + "\n")
    return python


@pytest.mark.fuse
def test_a_venv_install_starts_with_the_home_dead_without_any_setting(
    any_share: FuseShare, tmp_path: Path
) -> None:
    # Python stats ~/.local/lib/pythonX.Y/site-packages before any condashare code runs; in a
    # venv (or pipx) the user site is off, so the console script never touches the dead home.
    python = _venv_with_this_checkout(tmp_path / "venv")
    inst = make_install(tmp_path / "inst")
    site = write_site(tmp_path / "site.toml", inst, PROBE)
    (any_share.backing / "ada").mkdir()
    env = user_env(any_share.mount / "ada", site)
    del env["PYTHONNOUSERSITE"], env["PYTHONPATH"]
    script = "from condashare.cli import main; raise SystemExit(main())"  # pip's console script
    warm = subprocess.run([str(python), "-c", script, "--version"], env=env, timeout=60)
    assert warm.returncode == 0
    any_share.block()
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [str(python), "-c", script, "--version"], env=env, capture_output=True, text=True,
            timeout=BOUND + 20,
        )  # fmt: skip
    finally:
        any_share.heal()
    assert time.monotonic() - start < BOUND
    assert proc.returncode == 0 and proc.stdout.startswith("condashare "), proc.stderr


# ---------------------------------------------------------------- the site file on a dead share

DEAD_SITE = {
    "info": (("info",), 3),
    "envs": (("envs",), 3),
    "init": (("init", "--dry-run", "--shell", "bash"), 3),
    "doctor": (("doctor", "host", "--json"), 1),  # a finding of host.site, the others run
}


@pytest.mark.fuse
@pytest.mark.parametrize("command", list(DEAD_SITE))
def test_site_file_on_a_dead_share(
    any_share: FuseShare, tmp_path: Path, sandbox_home: Path, command: str
) -> None:
    inst = make_install(tmp_path / "inst")
    write_site(any_share.backing / "site.toml", inst, PROBE)
    site = any_share.mount / "site.toml"
    env = user_env(sandbox_home, site)
    env.pop("PYTHONNOUSERSITE")  # the home is fine here
    assert run(("info",), env, 60, any_share).returncode == 0  # warm
    any_share.block()
    args, code = DEAD_SITE[command]
    res = run(args, env, BOUND + 20, any_share)
    assert res.seconds < BOUND, f"took {res.seconds:.1f} s"
    assert res.returncode == code, res.stdout + res.stderr
    if command == "doctor":
        doc = json.loads(res.stdout)
        site_check = next(c for c in doc["data"]["checks"] if c["id"] == "host.site")
        assert site_check["severity"] == "error"
        assert "not answering" in json.dumps(site_check)
    else:
        assert f"{site}: site file is unresponsive" in res.stderr, res.stderr
        assert "nfsserver:/export/conda" in res.stderr and "not answering" in res.stderr


# ---------------------------------------------------------------- special files


def special(path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "directory":
        path.mkdir()
    elif kind == "loop":
        path.symlink_to(path.name)
    else:  # pragma: no cover
        raise ValueError(kind)


WHAT = {"fifo": "FIFO", "dev-zero": "character device", "directory": "directory",
        "loop": "symlink loop"}  # fmt: skip
QUICK = 20.0  # seconds: no probe involved, only start-up (generous for a loaded machine)


def local_user(tmp_path: Path, home: Path) -> dict[str, str]:
    inst = make_install(tmp_path / "inst")
    site = write_site(tmp_path / "site.toml", inst, PROBE)
    return user_env(home, site)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory", "loop"])
@pytest.mark.parametrize("dry_run", [False, True])
def test_shared_on_refuses_a_special_condarc(
    tmp_path: Path, sandbox_home: Path, kind: str, dry_run: bool
) -> None:
    env = local_user(tmp_path, sandbox_home)
    rc = sandbox_home / ".condarc"
    special(rc, kind)
    before = sorted(p.name for p in sandbox_home.iterdir())
    res = run(("shared", "on", *(["--dry-run"] if dry_run else [])), env, QUICK, None)
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"{rc}: " in res.stderr and WHAT[kind] in res.stderr
    assert "nothing was written" in res.stderr
    assert sorted(p.name for p in sandbox_home.iterdir()) == before  # no state dir, no backup
    assert rc.is_symlink() or rc.is_fifo() or rc.is_dir()


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "loop"])
def test_shared_status_says_conda_ignores_a_special_condarc(
    tmp_path: Path, sandbox_home: Path, kind: str
) -> None:
    """conda skips a ~/.condarc that is not a regular file or directory (it stats before it
    reads), so status reports the same view, warns, and exits 0 (nothing would break conda)."""
    env = local_user(tmp_path, sandbox_home)
    special(sandbox_home / ".condarc", kind)
    res = run(("shared", "status", "--json"), env, QUICK, None)
    assert res.returncode == 0, res.stderr
    notes = json.loads(res.stdout)["data"]["notes"]
    ignored = [n for n in notes if n["code"] == "shared.condarc-ignored"]
    assert ignored and ignored[0]["title"].startswith(f"{sandbox_home / '.condarc'}: ")
    assert WHAT[kind] in ignored[0]["title"] and "conda ignores it" in ignored[0]["title"]


def test_shared_status_reads_a_condarc_directory_as_conda_does(
    tmp_path: Path, sandbox_home: Path
) -> None:
    env = local_user(tmp_path, sandbox_home)
    (sandbox_home / ".condarc").mkdir()
    (sandbox_home / ".condarc" / "mine.yml").write_text("envs_dirs:\n  - /opt/mine/envs\n")
    res = run(("shared", "status", "--json"), env, QUICK, None)
    assert res.returncode == 0, res.stderr
    envs = [e["path"] for e in json.loads(res.stdout)["data"]["envs_dirs"]]
    assert envs[0] == "/opt/mine/envs"


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory", "loop"])
def test_init_refuses_a_special_bashrc(tmp_path: Path, sandbox_home: Path, kind: str) -> None:
    env = local_user(tmp_path, sandbox_home)
    rc = sandbox_home / ".bashrc"
    special(rc, kind)
    for args in (("init", "--dry-run", "--shell", "bash"), ("init", "--shell", "bash")):
        res = run(args, env, QUICK, None)
        assert res.returncode == 2, res.stdout + res.stderr
        assert f"{rc}: " in res.stderr and WHAT[kind] in res.stderr
    assert "nothing was changed" in res.stderr
    assert not (sandbox_home / ".profile").exists()  # the other file of the plan: untouched
    assert not (sandbox_home / ".local" / "state" / "condashare" / "backups").exists()


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_commands_that_do_not_need_the_file_do_not_touch_it(
    tmp_path: Path, sandbox_home: Path, kind: str
) -> None:
    """A special ~/.bashrc does not concern `shared`, and a special ~/.condarc not `init`."""
    env = local_user(tmp_path, sandbox_home)
    special(sandbox_home / ".bashrc", kind)
    for args in (("shared", "on", "--dry-run"), ("shared", "status")):
        res = run(args, env, QUICK, None)
        assert res.returncode == 0, res.stdout + res.stderr
    (sandbox_home / ".bashrc").unlink()
    special(sandbox_home / ".condarc", kind)
    res = run(("init", "--dry-run", "--shell", "bash"), env, QUICK, None)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_doctor_reports_special_startup_and_condarc_files(
    tmp_path: Path, sandbox_home: Path, kind: str
) -> None:
    """Found problems are the doctor's findings (exit 1), and no shell is started on a startup
    file it refused (bash blocks on a FIFO ~/.bashrc and fills memory from /dev/zero)."""
    env = local_user(tmp_path, sandbox_home)
    special(sandbox_home / ".bashrc", kind)
    special(sandbox_home / ".condarc", kind)
    res = run(("doctor", "startup", "condarc", "--json"), env, QUICK + 10, None)
    assert res.returncode == 1, res.stdout + res.stderr
    checks = {c["id"]: c for c in json.loads(res.stdout)["data"]["checks"]}
    files = checks["startup.files"]
    assert files["severity"] == "error"
    assert any(
        f["title"].startswith(f"{sandbox_home / '.bashrc'} is") and WHAT[kind] in f["title"]
        for f in files["findings"]
    )
    for cid in ("startup.stdout", "startup.start_time"):
        assert "bash not started" in checks[cid]["findings"][0]["title"]
    parse = checks["condarc.parse"]["findings"]
    assert any(str(sandbox_home / ".condarc") in f["title"] for f in parse)
    assert res.seconds < QUICK + 10
    # the fix names the file (not "FILE"), and pasted into a shell it clears the finding
    (bashrc,) = [f for f in files["findings"] if str(sandbox_home / ".bashrc") in f["title"]]
    command = bashrc["fix"].split("`")[1]
    assert "FILE" not in command
    subprocess.run(["bash", "-c", command], check=True, timeout=60, cwd=tmp_path)
    assert (sandbox_home / ".bashrc").is_file() and os.path.lexists(
        f"{sandbox_home}/.bashrc.broken"
    )
    again = run(("doctor", "startup.files", "--json"), env, QUICK + 10, None)
    checks = {c["id"]: c for c in json.loads(again.stdout)["data"]["checks"]}
    assert checks["startup.files"]["severity"] == "ok", again.stdout
