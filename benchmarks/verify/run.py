"""Benchmark ``condashare verify`` against what ``conda doctor`` does (not a test).

    python benchmarks/verify/run.py [--dir /work/scratch/verify-bench] [--keep] [--repeat 3]

Generates (generate.py) a large environment with real conda-meta records, warms the page
cache, then measures in one run:

  (a)  serial baseline doing exactly what conda doctor's altered-files + missing-files checks
       do: for every record, sha256 of every recorded file in 8 KiB reads compared with
       ``sha256_in_prefix``, then an existence check of every entry of ``files``
  (a') conda's own ``find_altered_packages`` + ``find_packages_with_missing_files`` when a
       conda is importable (``--conda-python``, default /work/scratch/conda-venv/bin/python)
  (b)  verify --deep, empty hash cache (and, for comparison, --deep --no-cache)
  (c)  verify --quick (no cache), and (c') --quick with the cache warm
  (d)  verify --deep again with the cache warm
  (e)  physical limit: total bytes / (single-core hashlib.sha256 throughput measured now x cores)

(b)-(d) are timed as library calls (``condashare.verify.api.verify``: the CLI minus
interpreter start-up and argument parsing) and, once each, as the real CLI in a subprocess
(wall time including Python start-up). Each library figure is the median of --repeat runs.
Peak RSS: the largest resident set of the CLI process and of any of its workers.
The tree lives under --dir and is deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

CLI_RSS = r"""
import contextlib, io, json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from condashare.cli import main
t = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[2:])
dt = time.perf_counter() - t
# VmHWM, not ru_maxrss: ru_maxrss survives exec and would report the benchmark's own size
ru_self = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
ru_kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "inner_s": dt, "rss_self_kb": ru_self, "rss_kids_kb": ru_kids}))
"""

CONDA_FUNCS = r"""
import json, sys, time
from conda.plugins.subcommands.doctor.health_checks.altered_files import find_altered_packages
from conda.plugins.subcommands.doctor.health_checks.missing_files import (
    find_packages_with_missing_files)
t = time.perf_counter()
a = find_altered_packages(sys.argv[1])
m = find_packages_with_missing_files(sys.argv[1])
print(json.dumps({"s": time.perf_counter() - t, "altered": len(a), "missing": len(m)}))
"""


def conda_doctor_serial(prefix: Path) -> tuple[int, int]:
    """What conda doctor's altered-files and missing-files do, serially, 8 KiB reads."""

    def compute_sum(path: Path) -> str:
        hasher = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(partial(fh.read, 8192), b""):
                hasher.update(chunk)
        return hasher.hexdigest()

    altered: dict[str, list[str]] = {}
    for record in (prefix / "conda-meta").glob("*.json"):
        meta = json.loads(record.read_text())
        paths = meta.get("paths_data", {})
        if paths.get("paths_version") != 1:
            continue
        for entry in paths["paths"]:
            rel = entry.get("_path")
            if rel is None or rel.endswith((".pyc", ".pyo")):
                continue
            want = entry.get("sha256_in_prefix")
            location = prefix / rel
            if want is None or not location.is_file():
                continue
            if compute_sum(location) != want:
                altered.setdefault(record.stem, []).append(rel)
    missing: dict[str, list[str]] = {}
    for record in (prefix / "conda-meta").glob("*.json"):
        for rel in json.loads(record.read_text()).get("files", []):
            if not rel.endswith((".pyc", ".pyo")) and not (prefix / rel).exists():
                missing.setdefault(record.stem, []).append(rel)
    return len(altered), len(missing)


def hashlib_throughput(seconds: float = 1.0) -> float:
    """Single-core sha256 bytes/s on 1 MiB buffers (best of a few rounds)."""
    buf = os.urandom(1 << 20)
    best = 0.0
    for _ in range(3):
        h = hashlib.sha256()
        n = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            for _ in range(16):
                h.update(buf)
            n += 16
        best = max(best, n * len(buf) / (time.perf_counter() - start))
    return best


def warm(prefix: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(prefix):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                while chunk := fh.read(1 << 20):
                    total += len(chunk)
    return total


def timed(fn, repeat: int) -> tuple[float, object]:
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def cli(args: list[str], cache_home: Path, repo: Path = REPO) -> dict[str, float]:
    """The CLI of the checkout ``repo`` in a subprocess: wall time, exit code, peak RSS."""
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home))
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CLI_RSS, str(repo), *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    wall = time.perf_counter() - start
    info = json.loads(out.stdout.strip().splitlines()[-1])
    info["wall_s"] = wall
    return info


def threads_deep(env: Path, jobs: int) -> float:
    """The same worker code on threads in one process (hashlib drops the GIL on big buffers)."""
    import io
    from concurrent.futures import ThreadPoolExecutor

    from condashare.verify.reader import Reader
    from condashare.verify.worker import run

    names = sorted(p.name for p in (env / "conda-meta").glob("*.json"))
    local = {}

    def one(name: str) -> None:
        import threading

        reader = local.setdefault(threading.get_ident(), Reader(io.StringIO()))
        res = run(
            reader, {"op": "record", "path": str(env), "record": name, "deep": True, "local": True}
        )
        for job in res.get("defer", []):
            run(
                reader,
                {
                    "op": "hash",
                    "path": job["path"],
                    "rel": job["rel"],
                    "sha256": job["sha256"],
                    "local": True,
                },
            )

    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, names))
    return time.perf_counter() - start


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/work/scratch/verify-bench")
    ap.add_argument("--keep", action="store_true", help="keep the generated tree")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--conda-python", default="/work/scratch/conda-venv/bin/python")
    ns = ap.parse_args()
    base = Path(ns.dir)
    env = base / "env"
    if not (env / "conda-meta").is_dir():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(base)], check=True)
    cache_home = base / "xdg-cache"
    os.environ["XDG_CACHE_HOME"] = str(cache_home)  # never the real user's cache
    from condashare.verify.api import default_jobs, verify

    cores = default_jobs()
    print(f"machine: {os.cpu_count()} CPUs ({cores} usable), {load()}")
    total = warm(env)
    warm(env)
    records = list((env / "conda-meta").glob("*.json"))
    nfiles = sum(len(json.loads(p.read_text())["files"]) for p in records)
    print(f"tree: {nfiles} files, {total / 1e6:.0f} MB, {len(records)} records")

    tput = hashlib_throughput()
    limit = total / (tput * cores)
    print(
        f"(e) hashlib.sha256 single core: {tput / 1e6:.0f} MB/s"
        f" -> limit {limit:.3f} s on {cores} cores"
    )

    a, counts = timed(lambda: conda_doctor_serial(env), 1)
    print(f"(a) serial conda-doctor equivalent: {a:.3f} s (altered, missing = {counts})")
    conda_s = None
    if Path(ns.conda_python).exists():
        out = subprocess.run(
            [ns.conda_python, "-c", CONDA_FUNCS, str(env)], capture_output=True, text=True, cwd="/"
        )
        if out.returncode == 0:
            conda_s = json.loads(out.stdout)["s"]
            print(
                f"(a') conda's own find_altered_packages + find_packages_with_missing_files: "
                f"{conda_s:.3f} s"
            )
        else:
            print(f"(a') conda functions unavailable: {out.stderr.strip()[-200:]}")

    def deep_cold():
        shutil.rmtree(cache_home, ignore_errors=True)
        return verify([env], deep=True)

    t0 = os.times()
    b, rep_b = timed(deep_cold, ns.repeat)
    t1 = os.times()
    cpu_b = sum(t1[i] - t0[i] for i in range(4)) / ns.repeat  # user+sys, self+workers
    assert not rep_b.findings, [f.title for f in rep_b.findings]
    b_nc, _ = timed(lambda: verify([env], deep=True, use_cache=False), ns.repeat)
    c, _ = timed(lambda: verify([env], deep=False, use_cache=False), ns.repeat)
    verify([env], deep=True)  # warm the cache
    d, rep_d = timed(lambda: verify([env], deep=True), ns.repeat)
    assert rep_d.stats.cache_hits == rep_d.stats.files
    c_warm, _ = timed(lambda: verify([env], deep=False), ns.repeat)
    b_threads = statistics.median(threads_deep(env, cores) for _ in range(ns.repeat))
    print(
        f"(b) verify --deep, empty cache:  {b:.3f} s   (same work on {cores} threads instead of "
        f"processes: {b_threads:.3f} s; --no-cache, i.e. without writing the cache: "
        f"{b_nc:.3f} s)"
    )
    print(f"(c) verify --quick, no cache:    {c:.3f} s   (with warm cache {c_warm:.3f} s)")
    print(f"(d) verify --deep, warm cache:   {d:.3f} s")
    print(
        f"    CPU time of one (b) run, all processes: {cpu_b:.3f} s = "
        f"{cpu_b / (total / tput):.2f}x the bare hashing work ({total / tput:.3f} s on one core);"
        f" on {cores} idle cores (b) could take ~{cpu_b / cores:.3f} s"
    )

    shutil.rmtree(cache_home, ignore_errors=True)
    cli_b = cli(["verify", "--deep", str(env)], cache_home)
    cli_c = cli(["verify", "--quick", "--no-cache", str(env)], cache_home)
    cli_d = cli(["verify", "--deep", str(env)], cache_home)
    rss = max(max(x["rss_self_kb"], x["rss_kids_kb"]) for x in (cli_b, cli_c, cli_d)) / 1024
    print(
        f"CLI wall (incl. start-up): deep {cli_b['wall_s']:.3f} s, quick {cli_c['wall_s']:.3f} s,"
        f" deep warm {cli_d['wall_s']:.3f} s; peak RSS {rss:.0f} MiB "
        f"(CLI {cli_b['rss_self_kb'] / 1024:.0f} MiB, largest worker "
        f"{max(x['rss_kids_kb'] for x in (cli_b, cli_c, cli_d)) / 1024:.0f} MiB)"
    )

    print("ratios (targets in brackets):")
    print(f"  a/b = {a / b:5.1f}x  [>= 4]    b/e = {b / limit:4.2f}x  [<= 1.5]")
    print(
        f"  a/c = {a / c:5.1f}x  [>= 20]   b/d = {b / d:5.1f}x  [>= 10]"
        f"   peak RSS {rss:.0f} MiB [< 150]"
    )
    if conda_s:
        print(f"  conda's functions / b = {conda_s / b:.1f}x, / c = {conda_s / c:.1f}x")
    print(f"after: {load()}")
    if not ns.keep:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
