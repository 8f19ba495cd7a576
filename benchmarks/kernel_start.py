"""Kernel start through condashare's launcher vs the same release's python started directly.

Builds a conda-shaped release env (a venv of this python with ipykernel reachable, as the tests
do), runs `condashare kernels` into a temporary home, and adds a plain kernelspec whose argv is
the env's python. Prints medians of: start until the kernel answers kernel_info (both specs),
and the launcher alone up to its `exec` (python replaced by `true`). Usage:

    python3 benchmarks/kernel_start.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.kernelenv import make_installation, make_release, make_template, write_site  # noqa: E402


def time_start(name: str, env: dict[str, str], cwd: str) -> float:
    from jupyter_client import KernelManager

    start = time.perf_counter()
    km = KernelManager(kernel_name=name)
    km.start_kernel(env=env, cwd=cwd)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        return time.perf_counter() - start
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "home"
        home.mkdir()
        inst = make_installation(root / "inst")
        template = make_template(root / "venv")
        prefix = make_release(inst / "envs", "isis4.3.0", template)
        site = write_site(root / "site.toml", [("linux", inst, "linux", "")], 2.0)
        env = {
            "HOME": str(home),
            "PATH": "/usr/bin:/bin",
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_RUNTIME_DIR": str(root / "run"),
            "CONDASHARE_SITE": str(site),
            "PYTHONPATH": str(REPO),
        }
        subprocess.run([sys.executable, "-m", "condashare", "kernels"], env=env, check=True)
        kernels = home / ".local/share/jupyter/kernels"
        direct = kernels / "direct"
        direct.mkdir()
        python = str(prefix / "bin" / "python")
        argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (direct / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "direct"}))
        os.environ.update(env)
        ours, plain = [], []
        for _ in range(args.runs):
            ours.append(time_start("condashare-isis4.3.0", env, tmp))
            plain.append(time_start("direct", env, tmp))
        launcher = kernels / "condashare-isis4.3.0" / "launch.sh"
        real = prefix / "bin" / "python"
        real.rename(prefix / "bin" / "python.real")
        real.write_text("#!/bin/sh\nexit 0\n")
        real.chmod(0o755)
        alone = []
        for _ in range(args.runs * 5):
            start = time.perf_counter()
            subprocess.run(["/bin/sh", str(launcher), "-f", "x"], env=env, check=True)
            alone.append(time.perf_counter() - start)
        print(f"runs: {args.runs}; load average {os.getloadavg()[0]:.2f}")
        print(f"kernel ready, condashare launcher: {statistics.median(ours):.3f} s")
        print(f"kernel ready, python directly:     {statistics.median(plain):.3f} s")
        print(f"launcher alone up to exec:         {statistics.median(alone) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
