"""Shared fixtures: a sandboxed HOME for every test, the CLI as a subprocess, FUSE shares.

Tests that need a real shell or FUSE skip locally with a reason, but fail in CI (``CI`` set):
CI installs every component, so a skip there would hide a broken install step.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HANGFS = Path(__file__).resolve().parent / "support" / "hangfs.py"
CONDATREE = Path(__file__).resolve().parent / "support" / "condatree.py"
IN_CI = bool(os.environ.get("CI"))


def need(condition: bool, reason: str) -> None:
    """Skip (locally) or fail (in CI) when a real component is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


def need_shell(name: str) -> str:
    path = shutil.which(name)
    need(path is not None, f"shell {name} is not installed (apt-get install {name})")
    assert path is not None
    return path


@pytest.fixture(autouse=True)
def sandbox_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HOME and XDG dirs: nothing may touch the real home."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_DATA_HOME", ".local/share"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(home / "etc-xdg"))
    for var in (
        "CONDASHARE_SITE",
        "CONDASHARE_PLATFORM",
        "CONDARC",
        "CONDA_ENVS_DIRS",
        "CONDA_ENVS_PATH",
        "CONDA_PKGS_DIRS",
        "CONDA_EXE",
        "CONDA_PREFIX",
        "NO_COLOR",
        "ZDOTDIR",
        "ENV",
    ):
        monkeypatch.delenv(var, raising=False)
    return home


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, cwd: str | None = None
) -> CliResult:
    """Run ``python -m condashare ARGS`` from this checkout, as a user would run the command."""
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "condashare", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


@pytest.fixture
def cli() -> object:
    return run_cli


def fuse_available() -> tuple[bool, str]:
    if not Path("/dev/fuse").exists():
        return False, "/dev/fuse is missing"
    if shutil.which("fusermount3") is None and shutil.which("fusermount") is None:
        return False, "fusermount3 is missing (apt-get install fuse3)"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError) as exc:
        return False, f"mfusepy unusable: {exc}"
    return True, ""


@dataclass
class FuseShare:
    """A mounted test share; ``block()``/``fail()``/``heal()`` change how it answers."""

    backing: Path
    mount: Path
    trigger: Path
    proc: subprocess.Popen[bytes]

    def block(self) -> None:
        self.trigger.write_text("")

    def fail(self, errno_name: str) -> None:
        self.trigger.write_text(errno_name)

    def heal(self) -> None:
        self.trigger.unlink(missing_ok=True)


def _unmount(path: Path) -> None:
    tool = shutil.which("fusermount3") or shutil.which("fusermount") or "fusermount"
    subprocess.run([tool, "-u", "-z", str(path)], capture_output=True, check=False)


@pytest.fixture
def fuse_share(tmp_path: Path) -> Iterator[FuseShare]:
    """A FUSE filesystem shown as ``fuse.nfs`` from ``nfsserver:/export/conda``."""
    ok, reason = fuse_available()
    need(ok, reason)
    backing, mount = tmp_path / "backing", tmp_path / "share"
    backing.mkdir()
    mount.mkdir()
    trigger = tmp_path / "share.trigger"
    log = open(tmp_path / "hangfs.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, str(HANGFS), str(backing), str(mount), str(trigger)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    needle = f" {mount} "
    while time.monotonic() < deadline:
        if needle in Path("/proc/self/mountinfo").read_text():
            break
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    else:
        proc.kill()
    if proc.poll() is not None:
        log.close()
        need(False, f"FUSE mount failed: {(tmp_path / 'hangfs.log').read_text()[-500:]}")
    share = FuseShare(backing, mount, trigger, proc)
    try:
        yield share
    finally:
        share.heal()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        _unmount(mount)
        log.close()
        from condashare.probe import reap_abandoned

        deadline = time.monotonic() + 5
        while reap_abandoned() and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture(scope="session")
def conda_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the real tree once; retry only py-rattler's known crash at interpreter exit."""
    last = ""
    for _ in range(3):
        out = tmp_path_factory.mktemp("condatree")
        home = tmp_path_factory.mktemp("builder-home")  # session scope: no sandbox_home yet
        env = dict(
            os.environ,
            HOME=str(home),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local"),
        )
        proc = subprocess.run(
            [sys.executable, str(CONDATREE), str(out)],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=out,
            env=env,
        )
        if "ok" in proc.stdout.split():  # built; a crash after printing ok is harmless
            return out
        last = proc.stdout[-2000:] + proc.stderr[-2000:]
    pytest.fail(f"could not build the conda tree:\n{last}")


@pytest.fixture
def inst(conda_tree: Path, tmp_path: Path) -> Path:
    """A private copy of the installation root (hardlinks between env and cache preserved)."""
    dest = tmp_path / "inst"
    subprocess.run(["cp", "-a", str(conda_tree / "inst"), str(dest)], check=True)
    return dest
