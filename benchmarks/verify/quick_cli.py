"""``verify --quick`` at the CLI on one env, against its floor and conda's algorithm (not a test).

    python benchmarks/verify/quick_cli.py ENV [--baseline-repo DIR] [--runs 21]

ENV is an environment, e.g. ``ROOT/envs/release-1`` of an installation made by
``installation.py --generate-only --keep``. Page cache warm, bytecode cached (as in a user's
installation), each round runs every case once, interleaved:

  pass         ``python -c pass``; also with ``-S`` and ``-I`` (this sandbox's Python runs a
               certifi ``.pth`` at start that a user's Python lacks: ``-S`` leaves it out)
  floor        interpreter start + one process that lists ``conda-meta``, parses every record,
               lstat's every recorded path and lists every directory of ENV: what any quick
               verifier must do, without workers, findings or output
  cli          ``condashare verify --quick --no-cache ENV`` of this checkout (and of
               ``--baseline-repo``), workers included; also with ``-S``
  cli -j1      the same with one worker (does a second worker pay for itself?)

then conda's algorithm on ENV (``run.conda_doctor_serial``: ``find_altered_packages`` +
``find_packages_with_missing_files`` as conda does them), in-process, median of 3. Prints
medians of wall and CPU (user + sys of the process and its reaped children) and the ratios.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from run import conda_doctor_serial, load  # noqa: E402

FLOOR = r"""
import json, os, sys
env = sys.argv[1]
meta = os.path.join(env, "conda-meta")
dfd = os.open(env, os.O_RDONLY)
for name in os.listdir(meta):
    if name.endswith(".json"):
        with open(os.path.join(meta, name), "rb") as fh:
            rec = json.loads(fh.read())
        for entry in rec["paths_data"]["paths"]:
            os.stat(entry["_path"], dir_fd=dfd, follow_symlinks=False)
stack = [env]
while stack:
    with os.scandir(stack.pop()) as it:
        stack.extend(e.path for e in it if e.is_dir(follow_symlinks=False))
"""


def timed(argv: list[str], repo: Path | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one command (CPU of it and the children it reaped)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if repo is not None:
        env["PYTHONPATH"] = str(repo)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True, cwd="/")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("env", type=Path)
    ap.add_argument("--baseline-repo", type=Path, help="a checkout to compare with")
    ap.add_argument("--runs", type=int, default=21)
    ns = ap.parse_args()
    env = ns.env.resolve()
    py = sys.executable
    repos = {"this": REPO} | ({"baseline": ns.baseline_repo} if ns.baseline_repo else {})
    for repo in repos.values():  # bytecode as a user's installation has it
        subprocess.run([py, "-m", "compileall", "-q", str(repo / "condashare")], check=True)
    quick = ["verify", "--quick", "--no-cache", str(env)]
    cases: dict[str, tuple[list[str], Path | None]] = {
        "python -c pass": ([py, "-c", "pass"], None),
        "python -S -c pass": ([py, "-S", "-c", "pass"], None),
        "python -I -c pass": ([py, "-I", "-c", "pass"], None),
        "floor": ([py, "-c", FLOOR, str(env)], None),
        "floor, -S": ([py, "-S", "-c", FLOOR, str(env)], None),
    }
    for name, repo in repos.items():
        cases[f"cli {name}"] = ([py, "-m", "condashare", *quick], repo)
        cases[f"cli {name}, -S"] = ([py, "-S", "-m", "condashare", *quick], repo)
        cases[f"cli {name} -j1"] = ([py, "-m", "condashare", *quick, "-j", "1"], repo)
    for argv, repo in cases.values():  # warm-up: page cache, bytecode
        timed(argv, repo)
    print(f"before: {load()}")
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(ns.runs):
        for name, (argv, repo) in cases.items():
            times[name].append(timed(argv, repo))
    print(f"after {ns.runs} rounds: {load()}")
    conda = []
    for _ in range(3):
        start, cpu = time.perf_counter(), time.process_time()
        conda_doctor_serial(env)
        conda.append((time.perf_counter() - start, time.process_time() - cpu))
    print(f"after conda's algorithm: {load()}")
    a_wall = statistics.median(t[0] for t in conda)
    a_cpu = statistics.median(t[1] for t in conda)
    print(f"conda's algorithm on {env}: {a_wall:.3f} s wall, {a_cpu:.3f} s CPU (median of 3)")
    print(f"{'case':24} {'wall ms':>8} {'CPU ms':>8} {'a/wall':>7}")
    for name, rows in times.items():
        wall = statistics.median(t[0] for t in rows)
        cpu = statistics.median(t[1] for t in rows)
        print(f"{name:24} {wall * 1000:8.1f} {cpu * 1000:8.1f} {a_wall / wall:6.1f}x")
    print(f"20x needs a CLI run of at most {a_wall / 20 * 1000:.0f} ms wall")


if __name__ == "__main__":
    main()
