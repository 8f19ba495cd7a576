"""Wall time of the commands that read and write the user's files, by where the home is.

Three homes: local disk; a healthy FUSE share (shown as ``fuse.nfs``, so every user file is
read by bounded probe children); the same share dead after a healthy use, with the kernel's
caches off and on (30 s, like NFS ``actimeo``). The site file is local, probe_timeout 1 s.

Run from the checkout root: ``python3 benchmarks/user_files.py [runs]``. Needs FUSE (fuse3,
mfusepy). Prints the median wall-clock seconds and exit codes (noisy on a shared machine; say
the load when you quote it). Python is started with PYTHONNOUSERSITE=1: with the home dead,
the interpreter's own user-site lookup would hang before condashare starts (docs/doctor.md).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import mount_share, unmount_share  # noqa: E402
from support.userhome import make_install, user_env, write_site  # noqa: E402

COMMANDS = [
    ["init", "--dry-run", "--shell", "bash"],
    ["init", "--shell", "bash"],
    ["init", "--reverse"],
    ["shared", "status"],
    ["shared", "on", "--dry-run"],
    ["info"],
]


def run(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "condashare", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        cwd="/",
        start_new_session=True,
    )
    try:
        rc = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return float("inf"), -1
    return time.monotonic() - start, rc


def setup_home(home: Path, inst: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / ".bashrc").write_text("alias ll='ls -l'\n")
    (home / ".condarc").write_text(f"envs_dirs:\n  - {inst}/envs\n")


def measure(label: str, env: dict[str, str], runs: int) -> None:
    for args in COMMANDS:
        results = [run(args, env) for _ in range(runs)]
        median = statistics.median(t for t, _ in results)
        codes = sorted({rc for _, rc in results})
        print(f"{label:28} {' '.join(args):34} {median:6.2f} s  exit {codes}")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs, {runs} runs each")
    tmp = Path(tempfile.mkdtemp(prefix="user-files-bench-"))
    inst = make_install(tmp / "inst")
    site = write_site(tmp / "site.toml", inst)
    setup_home(tmp / "home", inst)
    measure("home on local disk", user_env(tmp / "home", site, NO_COLOR="1"), runs)
    for cache in (0.0, 30.0):
        share = mount_share(tmp / f"share-{cache:g}", cache_seconds=cache)
        try:
            setup_home(share.backing / "ada", inst)
            env = user_env(share.mount / "ada", site, NO_COLOR="1")
            if cache == 0:
                measure("home on a healthy share", env, runs)
            run(["shared", "status"], env)  # a healthy use: the caching share is warm
            share.block()
            measure(f"home dead ({'cached' if cache else 'uncached'})", env, runs)
        finally:
            unmount_share(share)


if __name__ == "__main__":
    main()
