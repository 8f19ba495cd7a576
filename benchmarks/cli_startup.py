"""Wall time of `condashare --version` and `condashare info`, against a bare interpreter.

Prints medians over many runs and ratios against `python -c pass` measured in the same run, so
figures from different machines or loads can be compared. Usage:

    python3 benchmarks/cli_startup.py [--runs 30]

`info` runs against a temporary site file whose installation is a local directory (so the
figure is condashare's own cost: host detection, mount table, one probe child, rendering).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def median_seconds(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with tempfile.TemporaryDirectory() as tmp:
        install = Path(tmp) / "anaconda3_linux"
        (install / "bin").mkdir(parents=True)
        (install / "bin" / "python").symlink_to(Path(sys.executable).resolve())
        site = Path(tmp) / "site.toml"
        site.write_text(
            f"[[installations]]\nname='here'\nprefix='{install}'\nos='{platform.system().lower()}'\n".replace(
                "'darwin'", "'macos'"
            )
        )
        py = [sys.executable]
        cases = {
            "python -c pass (baseline)": [*py, "-c", "pass"],
            "condashare --version": [*py, "-m", "condashare", "--version"],
            "condashare info": [*py, "-m", "condashare", "info", "--site", str(site)],
        }
        results = {name: median_seconds(cmd, args.runs, env) for name, cmd in cases.items()}
    base = results["python -c pass (baseline)"]
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{'case':32} {'median ms':>10} {'x baseline':>11} {'over baseline ms':>17}")
    for name, secs in results.items():
        print(f"{name:32} {secs * 1000:10.1f} {secs / base:11.2f} {(secs - base) * 1000:17.1f}")


if __name__ == "__main__":
    main()
