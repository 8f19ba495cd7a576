"""Wall time of `condashare --version` and `condashare info`, against a bare interpreter.

Prints medians over many runs and ratios against `python -c pass` measured in the same run, so
figures from different machines or loads can be compared. Usage:

    python3 benchmarks/cli_startup.py [--runs 30]

`info` runs against a temporary site file whose installation is a local directory (so the
figure is condashare's own cost: host detection, mount table, one probe child, rendering).
Bytecode is cached as in a user's installation (pip compiles at install; a sandbox with
PYTHONDONTWRITEBYTECODE would otherwise compile every module on every run), in a temporary
PYTHONPYCACHEPREFIX warmed by one run of each case; cases are interleaved, so load changes
hit all alike.
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


def medians(cases: dict[str, list[str]], runs: int, env: dict[str, str]) -> dict[str, float]:
    """Median wall seconds of each case, the runs interleaved, after one warm-up run each."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for lap in range(runs + 1):
        for name, cmd in cases.items():
            start = time.perf_counter()
            subprocess.run(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False
            )
            if lap:  # lap 0 fills the bytecode cache
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONPYCACHEPREFIX=str(Path(tmp) / "pyc"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
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
        results = medians(cases, args.runs, env)
    base = results["python -c pass (baseline)"]
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{'case':32} {'median ms':>10} {'x baseline':>11} {'over baseline ms':>17}")
    for name, secs in results.items():
        print(f"{name:32} {secs * 1000:10.1f} {secs / base:11.2f} {(secs - base) * 1000:17.1f}")


if __name__ == "__main__":
    main()
