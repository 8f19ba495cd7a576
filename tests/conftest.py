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

    def fail(self, errno_name: str, under: str = "") -> None:
        """Fail every operation with ``errno_name``; with ``under`` (a path inside the mount,
        e.g. ``/inst/envs/good/share``) only the operations on that path and below it."""
        self.trigger.write_text(f"{errno_name} {under}" if under else errno_name)

    def heal(self) -> None:
        self.trigger.unlink(missing_ok=True)


def _unmount(path: Path) -> None:
    tool = shutil.which("fusermount3") or shutil.which("fusermount") or "fusermount"
    subprocess.run([tool, "-u", "-z", str(path)], capture_output=True, check=False)


def mount_share(
    root: Path,
    *,
    cache_seconds: float = 0.0,
    fsname: str = "nfsserver:/export/conda",
    subtype: str = "nfs",
    delay_ms: float = 0.0,
) -> FuseShare:
    """Mount a hangfs share under ``root`` (``backing/``, ``share/``); caller unmounts it.

    ``cache_seconds`` > 0 lets the kernel cache attributes, entries and access rights for that
    long, as an NFS client does (``actimeo``); 0 sends every operation to the daemon.
    ``delay_ms`` > 0 makes every operation wait that long first (a share far away).
    """
    ok, reason = fuse_available()
    need(ok, reason)
    backing, mount = root / "backing", root / "share"
    backing.mkdir(parents=True)
    mount.mkdir()
    trigger = root / "share.trigger"
    log_path = root / "hangfs.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(HANGFS), str(backing), str(mount), str(trigger), fsname,
             subtype, str(cache_seconds), str(delay_ms)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
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
        need(False, f"FUSE mount failed: {log_path.read_text()[-500:]}")
    return FuseShare(backing, mount, trigger, proc)


def unmount_share(share: FuseShare) -> None:
    """Heal, kill the daemon, lazily unmount, then reap the probes the test abandoned."""
    share.heal()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(share.proc.pid, signal.SIGKILL)
    share.proc.wait(timeout=10)
    _unmount(share.mount)
    from condashare.bounded.children import reap

    deadline = time.monotonic() + 5
    while reap() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def fuse_share(tmp_path: Path) -> Iterator[FuseShare]:
    """A FUSE filesystem shown as ``fuse.nfs`` from ``nfsserver:/export/conda``, no caching."""
    share = mount_share(tmp_path)
    try:
        yield share
    finally:
        unmount_share(share)


@pytest.fixture
def cached_share(tmp_path: Path) -> Iterator[FuseShare]:
    """Like ``fuse_share`` but the kernel caches attributes and access for 30 s, as NFS does.

    Use it once while healthy (so the cache is warm), then ``block()``: ``stat`` and
    ``[ -r F ]`` still answer, ``open()`` hangs — the share that died seconds ago.
    """
    share = mount_share(tmp_path, cache_seconds=30)
    try:
        yield share
    finally:
        unmount_share(share)


@pytest.fixture(params=["uncached", "cached"])
def any_share(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FuseShare]:
    """Both kinds of share: every never-hang test must hold with the kernel's caches off and on."""
    share = mount_share(tmp_path, cache_seconds=30 if request.param == "cached" else 0)
    try:
        yield share
    finally:
        unmount_share(share)


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
