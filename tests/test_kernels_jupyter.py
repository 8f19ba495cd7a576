"""Real kernels: jupyter_client starts ipykernel through the kernelspec `condashare kernels` wrote.

The release env is a conda-shaped venv of the running python (support/kernelenv.py). A fake
``uname`` first on the kernel's PATH plays Linux and macOS; the macOS env's python is a ``#!``
wrapper because a Mach-O python cannot run here. The hung-share tests put the installation on a
FUSE share (kernel caches off and on) and check that a kernel start fails within the probe
timeout + 1 s with a clear message, and that the sync does not hang either.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest
from conftest import FuseShare, run_cli
from support.kernelenv import make_installation, make_release, make_template, write_site
from test_init_shells import fake_uname

pytestmark = pytest.mark.slow

TIMEOUT = 1.5


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("kernel-venv") / "venv")


def start(name: str, system: str, machine: str, tmp_path: Path, stderr: Path):
    """Start kernel ``name`` as a notebook server would, on a machine that says ``uname``."""
    from jupyter_client import KernelManager

    bindir = fake_uname(tmp_path / f"uname-{system}", system, machine)
    env = {
        "HOME": os.environ["HOME"],
        "PATH": f"{bindir}:/usr/bin:/bin",
        "XDG_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    km = KernelManager(kernel_name=name)
    km.start_kernel(env=env, cwd=str(tmp_path), stderr=stderr.open("wb"))
    return km


def run_code(km, code: str) -> str:
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        out: list[str] = []

        def hook(msg: dict[str, object]) -> None:
            content = msg.get("content")
            if msg.get("msg_type") == "stream" and isinstance(content, dict):
                out.append(str(content.get("text", "")))

        kc.execute_interactive(code, output_hook=hook, timeout=120)
        return "".join(out)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def two_os_site(root: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    linux = make_installation(root / "anaconda3_linux")
    mac = make_installation(root / "anaconda3_macOS")
    make_release(linux / "envs", "isis4.3.0", template)
    make_release(mac / "envs", "isis4.3.0", template, wrapper=True)
    site = write_site(
        root.parent / "site.toml",
        [("linux", linux, "linux", "x86_64"), ("mac", mac, "macos", "arm64")],
        TIMEOUT,
    )
    monkeypatch.setenv("CONDASHARE_SITE", str(site))
    return linux, mac


@pytest.mark.parametrize(
    ("system", "machine", "inst"),
    [("Linux", "x86_64", "anaconda3_linux"), ("Darwin", "arm64", "anaconda3_macOS")],
)
def test_real_kernel_runs_in_the_release_of_this_machine(
    system, machine, inst, tmp_path, template, monkeypatch
):
    share = tmp_path / "cpkgs"
    two_os_site(share, template, monkeypatch)
    # Shared home: the Linux and the macOS data dir both get the kernel.
    monkeypatch.setenv("CONDASHARE_SHARED_HOME", "1")
    res = run_cli("kernels")
    assert res.returncode == 0, res.stdout + res.stderr
    if system == "Darwin":  # what a Mac's Jupyter reads (jupyter_core on macOS)
        monkeypatch.setenv("JUPYTER_DATA_DIR", str(Path(os.environ["HOME"]) / "Library/Jupyter"))
    km = start("condashare-isis4.3.0", system, machine, tmp_path, tmp_path / "kernel.err")
    code = "import os, sys; print(sys.prefix); print(os.environ['CONDA_DEFAULT_ENV'])"
    out = run_code(km, code)
    assert out.split() == [str(share / inst / "envs" / "isis4.3.0"), "isis4.3.0"]


def test_hung_share_fails_the_kernel_start_fast_and_sync_does_not_hang(
    any_share: FuseShare, tmp_path, template, monkeypatch
):
    two_os_site(any_share.backing / "cpkgs", template, monkeypatch)
    site = Path(os.environ["CONDASHARE_SITE"])
    site.write_text(site.read_text().replace(str(any_share.backing), str(any_share.mount)))
    res = run_cli("kernels")
    assert res.returncode == 0, res.stdout + res.stderr
    # Healthy through the share first (this also warms the cached share's attribute cache).
    km = start("condashare-isis4.3.0", "Linux", "x86_64", tmp_path, tmp_path / "ok.err")
    prefix = any_share.mount / "cpkgs" / "anaconda3_linux" / "envs" / "isis4.3.0"
    assert run_code(km, "import sys; print(sys.prefix)").strip() == str(prefix)
    kernels = Path(os.environ["HOME"]) / ".local/share/jupyter/kernels"
    before = {p.name: (p / "kernel.json").read_bytes() for p in kernels.iterdir()}

    any_share.block()
    err = tmp_path / "hung.err"
    started = time.monotonic()
    km = start("condashare-isis4.3.0", "Linux", "x86_64", tmp_path, err)
    try:
        while km.is_alive() and time.monotonic() - started < TIMEOUT + 10:
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        assert not km.is_alive(), "the kernel start hung on the dead share"
        assert elapsed < TIMEOUT + 1, f"kernel start took {elapsed:.2f} s"
    finally:
        with contextlib.suppress(Exception):
            km.shutdown_kernel(now=True)
    message = err.read_text()
    assert "condashare kernel isis4.3.0: the share holding" in message
    assert f"did not answer within {TIMEOUT:g} s" in message

    sync = run_cli("kernels", timeout=60)
    assert sync.returncode == 3, sync.stdout
    assert "unresponsive" in sync.stdout
    assert sync.seconds < 4 * TIMEOUT + 5  # two installations, each listed once, bounded
    assert {p.name: (p / "kernel.json").read_bytes() for p in kernels.iterdir()} == before
