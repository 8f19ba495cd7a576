"""How long `condashare doctor` takes: healthy, with the share dead, and with it dying mid-run.

Run from the checkout root: ``python3 benchmarks/doctor_runtime.py``. Needs FUSE (fuse3,
mfusepy) for the dead-share cases. Prints wall-clock seconds (noisy on a shared machine).
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from support.doctor_env import make_install, site_file  # noqa: E402


def run(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "condashare", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.monotonic() - start, proc.returncode


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="doctor-bench-"))
    home = tmp / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
        "XDG_CONFIG_HOME": str(home / ".config"),
    }
    make_install(tmp / "local")
    local_site = site_file(tmp, ("linux", str(tmp / "local"), "linux"), filename="local.toml")
    times = [run(["doctor", "--site", str(local_site)], env)[0] for _ in range(5)]
    print(
        f"healthy, local installation: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}) over 5 runs"
    )

    backing, mount, trigger = tmp / "backing", tmp / "share", tmp / "trigger"
    backing.mkdir()
    mount.mkdir()
    make_install(backing / "inst")
    daemon = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "tests/support/hangfs.py"),
            str(backing),
            str(mount),
            str(trigger),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while f" {mount} " not in Path("/proc/self/mountinfo").read_text():
            time.sleep(0.05)
        share_site = site_file(tmp, ("linux", str(mount / "inst"), "linux"), filename="nfs.toml")
        t, _ = run(["doctor", "--site", str(share_site)], env)
        print(f"healthy, installation on the FUSE share: {t:.2f} s")
        trigger.write_text("")
        for timeout in (6, 20):
            t, rc = run(["doctor", "--site", str(share_site), "--timeout", str(timeout)], env)
            print(f"share dead (probe timeout 2 s), --timeout {timeout}: {t:.2f} s, exit {rc}")
        trigger.unlink()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "condashare",
                "doctor",
                "--site",
                str(share_site),
                "--timeout",
                "6",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        start = time.monotonic()
        time.sleep(0.5)
        trigger.write_text("")
        proc.wait()
        print(
            f"share dies 0.5 s into the run, --timeout 6: {time.monotonic() - start:.2f} s, "
            f"exit {proc.returncode}"
        )
    finally:
        trigger.unlink(missing_ok=True)
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait()
        subprocess.run(["fusermount3", "-u", "-z", str(mount)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
