"""Benchmark ``verify`` on a whole installation, against what an admin has today (not a test).

    python benchmarks/verify/installation.py [--dir /work/scratch/verify-inst] [--keep]
    python benchmarks/verify/installation.py --slow-only [--baseline-repo DIR]   # (f) alone

Generates an installation the way conda lays one out: ``ROOT/pkgs`` holds each package
extracted (``info/index.json``, ``info/paths.json``, ``info/repodata_record.json``) next to its
``.conda`` archive (a real one: a stored zip of ``metadata.json``, ``info-*.tar.zst`` and
``pkg-*.tar.zst``); the base env ``ROOT`` and three release envs ``ROOT/envs/release-N`` each
hardlink most packages from it (files of a prefix placeholder are rewritten copies, as conda
makes them), with ``conda-meta/*.json`` records in conda's format. Then, page cache warm, in
one run:

  (a)  what an admin has today: conda's own ``find_altered_packages`` +
       ``find_packages_with_missing_files`` run over each of the four prefixes (from a conda
       installed in ``--conda-python``'s venv; without one, the same algorithm reimplemented
       from conda's source, ``run.conda_doctor_serial``)
  (b)  ``condashare verify --deep --no-cache ROOT`` at the CLI (interpreter start included),
       and the library call (``condashare.verify.api.verify``)
  (e)  the limit: unique bytes (each (device, inode) once, plus the archives) over
       (single-core hashlib speed x cores): sha256 for files, sha256 + md5 for archives
  (c)  ``verify --quick --no-cache`` at the CLI on one release env vs (a) on that env
  (f)  ``verify --quick`` on a FUSE share that sleeps ``--delay-ms`` per operation
       (tests/support/hangfs.py) against a serial ``stat`` of the same files, with 1, 2, 4,
       8 and 16 workers and the default (does it scale with them?)
  (g)  the file-system floor besides hashing (parse the records, stat every path, open and
       read each small cache file, list every directory), CPU of one process: (e) leaves it
       out, so b/(e+g) is what is left for verify's own overhead

Peak RSS: the CLI process and its largest worker (``VmHWM`` / ``ru_maxrss`` of children).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from generate import PLACEHOLDER, file_path, has_prefix, prefix_text, sizes  # noqa: E402
from run import cli, conda_doctor_serial, load, warm  # noqa: E402

RELEASES = 3
CONDA_PYTHONS = (
    "/work/scratch/verify-conda-venv/bin/python",
    "/work/scratch/admin-conda-venv/bin/python",
)

CONDA_PREFIXES = r"""
import json, sys, time
from conda.plugins.subcommands.doctor.health_checks.altered_files import find_altered_packages
from conda.plugins.subcommands.doctor.health_checks.missing_files import (
    find_packages_with_missing_files)
out = []
for prefix in sys.argv[1:]:
    t, c = time.perf_counter(), time.process_time()
    a = find_altered_packages(prefix)
    m = find_packages_with_missing_files(prefix)
    out.append({"s": time.perf_counter() - t, "cpu": time.process_time() - c,
                "altered": len(a), "missing": len(m)})
print(json.dumps(out))
"""


def conda_archive(path: Path, dist: str, src: Path, names: list[str]) -> None:
    """A real ``.conda``: a stored zip of metadata.json and two zstd-compressed tars."""

    def tar_zst(members: list[str]) -> bytes:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            for name in members:
                tar.add(src / name, arcname=name, recursive=False)
        out = subprocess.run(
            ["zstd", "-1", "-q", "-c"], input=raw.getvalue(), capture_output=True, check=True
        )
        return out.stdout

    info = sorted(str(p.relative_to(src)) for p in (src / "info").iterdir())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("metadata.json", json.dumps({"conda_pkg_format_version": 2}))
        zf.writestr(f"pkg-{dist}.tar.zst", tar_zst(names))
        zf.writestr(f"info-{dist}.tar.zst", tar_zst(info))


def generate(root: Path, nfiles: int, mb: int, npkgs: int) -> dict[str, Any]:
    rng = random.Random(20261202)
    pkgs = root / "pkgs"
    pkgs.mkdir(parents=True)
    file_sizes = sizes(rng, nfiles, mb * 1000 * 1000)
    big = sorted(range(len(file_sizes)), key=lambda i: -file_sizes[i])[:8]
    # packages 0..3 are each left out of one env (so envs differ, as releases do); the big
    # files belong to packages every env has, so each env keeps >= 900 MB
    owner = [rng.randrange(4, npkgs) if i in big else rng.randrange(npkgs) for i in range(nfiles)]
    per_pkg: dict[int, list[int]] = {}
    for i, pkg in enumerate(owner):
        per_pkg.setdefault(pkg, []).append(i)
    envs = [root] + [root / "envs" / f"release-{n}" for n in range(1, RELEASES + 1)]
    for env in envs:
        (env / "conda-meta").mkdir(parents=True)
        (env / "conda-meta" / "history").write_text("")
    urls = []
    for pkg in range(npkgs):
        name = f"pkg{pkg:03d}-{rng.choice(['core', 'io', 'lib', 'py', 'tools'])}"
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        build = f"py311h{rng.getrandbits(28):07x}_{rng.randint(0, 3)}"
        dist = f"{name}-{version}-{build}"
        entry_dir = pkgs / dist
        paths = []
        for idx in per_pkg.get(pkg, []):
            size = file_sizes[idx]
            rel = file_path(name, pkg, idx, len(per_pkg[pkg]), size)
            full = entry_dir / rel
            full.parent.mkdir(parents=True, exist_ok=True)
            item: dict[str, Any] = {"_path": rel, "path_type": "hardlink"}
            if has_prefix(idx, size):
                data = prefix_text(size)
                item.update(prefix_placeholder=PLACEHOLDER, file_mode="text")
            else:
                data = os.urandom(size)
            full.write_bytes(data)
            item.update(sha256=hashlib.sha256(data).hexdigest(), size_in_bytes=len(data))
            paths.append(item)
        info = entry_dir / "info"
        info.mkdir(parents=True, exist_ok=True)
        fn = f"{dist}.conda"
        url = f"https://conda.anaconda.org/conda-forge/linux-64/{fn}"
        index = {
            "name": name,
            "version": version,
            "build": build,
            "build_number": int(build.rsplit("_", 1)[1]),
            "subdir": "linux-64",
            "depends": ["python >=3.11,<3.12.0a0"],
            "license": "BSD-3-Clause",
            "timestamp": 1_700_000_000_000,
        }
        (info / "index.json").write_text(json.dumps(index))
        (info / "paths.json").write_text(json.dumps({"paths_version": 1, "paths": paths}))
        (info / "files").write_text("".join(p["_path"] + "\n" for p in paths))
        archive = pkgs / fn
        conda_archive(archive, dist, entry_dir, [p["_path"] for p in paths])
        blob = archive.read_bytes()
        record = dict(
            index,
            channel="https://conda.anaconda.org/conda-forge/linux-64",
            url=url,
            fn=fn,
            md5=hashlib.md5(blob).hexdigest(),
            sha256=hashlib.sha256(blob).hexdigest(),
            size=len(blob),
        )
        del blob
        (info / "repodata_record.json").write_text(json.dumps(record))
        urls.append(url)
        for n, env in enumerate(envs):
            if pkg == n:  # each env lacks one package the others have
                continue
            in_prefix = []
            for item in paths:
                src, dest = entry_dir / item["_path"], env / item["_path"]
                dest.parent.mkdir(parents=True, exist_ok=True)
                linked = dict(item)
                if "prefix_placeholder" in item:  # a rewritten copy, as conda makes it
                    text = src.read_bytes().replace(PLACEHOLDER.encode(), str(env).encode())
                    dest.write_bytes(text)
                    linked["sha256_in_prefix"] = hashlib.sha256(text).hexdigest()
                else:
                    os.link(src, dest)
                    linked["sha256_in_prefix"] = item["sha256"]
                in_prefix.append(linked)
            meta = dict(
                record,
                files=[p["_path"] for p in paths],
                paths_data={"paths_version": 1, "paths": in_prefix},
                link={"source": str(entry_dir), "type": 1},
                extracted_package_dir=str(entry_dir),
                package_tarball_full_path=str(archive),
                requested_spec="",
            )
            (env / "conda-meta" / f"{dist}.json").write_text(json.dumps(meta))
    (pkgs / "urls.txt").write_text("".join(u + "\n" for u in urls))
    (pkgs / "urls").write_text("")
    return {"envs": [str(e) for e in envs]}


def tree_figures(root: Path, envs: list[Path]) -> dict[str, Any]:
    """Files and bytes per env; unique bytes (each inode once) and archive bytes."""
    inodes: dict[tuple[int, int], int] = {}
    per_env = []
    for env in envs:
        files = nbytes = 0
        for rec in (env / "conda-meta").glob("*.json"):
            for item in json.loads(rec.read_text())["paths_data"]["paths"]:
                st = (env / item["_path"]).stat()
                inodes[(st.st_dev, st.st_ino)] = st.st_size
                files += 1
                nbytes += st.st_size
        per_env.append((files, nbytes))
    for paths_json in (root / "pkgs").glob("*/info/paths.json"):
        for item in json.loads(paths_json.read_text())["paths"]:
            st = (paths_json.parent.parent / item["_path"]).stat()
            inodes[(st.st_dev, st.st_ino)] = st.st_size
    archives = sum(p.stat().st_size for p in (root / "pkgs").glob("*.conda"))
    return {
        "per_env": per_env,
        "unique_bytes": sum(inodes.values()),
        "unique_files": len(inodes),
        "archive_bytes": archives,
    }


def throughput(both: bool, seconds: float = 1.0) -> float:
    """Single-core bytes per CPU second of sha256 (``both``: sha256 and md5 over the same
    buffers, an archive's pass) on 1 MiB buffers. CPU seconds, not wall: on a machine shared
    with other jobs the wall clock counts their time slices too."""
    buf = os.urandom(1 << 20)
    best = 0.0
    for _ in range(3):
        sha, md5 = hashlib.sha256(), hashlib.md5()
        n = 0
        start = time.process_time()
        while time.process_time() - start < seconds / 3:
            for _ in range(8):
                sha.update(buf)
                if both:
                    md5.update(buf)
            n += 8
        best = max(best, n * len(buf) / (time.process_time() - start))
    return best


def syscall_floor(root: Path, envs: list[Path]) -> dict[str, float]:
    """CPU seconds, in this one process, of the file-system work any verifier of this tree
    does besides hashing: parse every record, stat every recorded path of every env and of the
    cache, open + fstat + read + close each cache file under 1 MiB (the rest are mapped), list
    every directory (for leftovers). Not in the issue's limit, which counts hashing only."""
    env_paths = [
        env / item["_path"]
        for env in envs
        for rec in (env / "conda-meta").glob("*.json")
        for item in json.loads(rec.read_bytes())["paths_data"]["paths"]
    ]
    cache_paths = [
        paths_json.parent.parent / item["_path"]
        for paths_json in (root / "pkgs").glob("*/info/paths.json")
        for item in json.loads(paths_json.read_bytes())["paths"]
    ]
    out: dict[str, float] = {}
    start = time.process_time()
    for env in envs:
        for rec in (env / "conda-meta").glob("*.json"):
            json.loads(rec.read_bytes())
    out["parse"] = time.process_time() - start
    start = time.process_time()
    for path in env_paths + cache_paths:
        os.stat(path)
    out["stat"] = time.process_time() - start
    start = time.process_time()
    for path in cache_paths:
        fd = os.open(path, os.O_RDONLY)
        size = os.fstat(fd).st_size
        if size < 1 << 20:
            os.read(fd, size + 1)
        os.close(fd)
    out["open+read"] = time.process_time() - start
    start = time.process_time()
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as it:
            stack.extend(e.path for e in it if e.is_dir(follow_symlinks=False))
    out["list"] = time.process_time() - start
    return out


def imports_conda(python: str) -> bool:
    if not Path(python).exists():
        return False
    out = subprocess.run([python, "-c", "import conda.plugins"], capture_output=True, cwd="/")
    return out.returncode == 0


def conda_functions(
    python: str | None, prefixes: list[Path]
) -> tuple[list[float], list[float], str]:
    """Wall and CPU seconds of conda's two functions per prefix (one process, start-up
    excluded)."""
    if python:
        out = subprocess.run(
            [python, "-c", CONDA_PREFIXES, *map(str, prefixes)],
            capture_output=True,
            text=True,
            cwd="/",
        )
        if out.returncode == 0:
            rows = json.loads(out.stdout)
            how = f"conda's own functions ({python})"
            return [r["s"] for r in rows], [r["cpu"] for r in rows], how
    times, cpus = [], []
    for prefix in prefixes:
        start, cpu = time.perf_counter(), time.process_time()
        conda_doctor_serial(prefix)
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return times, cpus, "conda's algorithm reimplemented (no conda importable)"


def cli_cpu(
    args: list[str], cache_home: Path, runs: int, repo: Path = REPO
) -> tuple[list[dict[str, Any]], float]:
    """``runs`` CLI runs (of the checkout ``repo``) and the CPU seconds of one (the CLI and
    its workers): what a run costs whatever else the machine does."""
    before = os.times()
    results = [cli(args, cache_home, repo) for _ in range(runs)]
    after = os.times()
    used = after.children_user - before.children_user
    used += after.children_system - before.children_system
    return results, used / runs


def bare_python() -> tuple[float, float]:
    """Wall and CPU seconds of ``python -c pass``: what any CLI run pays before its first
    import (site-packages' ``.pth`` files included, as the CLI runs)."""
    before, start = os.times(), time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, cwd="/")
    wall, after = time.perf_counter() - start, os.times()
    return wall, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def slow_share(
    base: Path, delay_ms: float, nfiles: int, npackages: int, baseline: Path | None
) -> None:
    """verify --quick on a share that waits ``delay_ms`` per operation vs a serial stat, for
    1 to 16 workers (does it scale with them?), and the checkout ``baseline`` beside it."""
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import mount_share, unmount_share

    shutil.rmtree(base / "slow", ignore_errors=True)
    share = mount_share(base / "slow", delay_ms=delay_ms)
    try:
        subprocess.run(
            [sys.executable, str(HERE / "generate.py"), str(share.backing), "--files",
             str(nfiles), "--mb", "20", "--packages", str(npackages), "--prefix",
             str(share.mount / "env")],
            check=True,
            capture_output=True,
        )  # fmt: skip
        env = share.mount / "env"
        rels = [
            item["_path"]
            for rec in (share.backing / "env" / "conda-meta").glob("*.json")
            for item in json.loads(rec.read_text())["paths_data"]["paths"]
        ]
        start = time.perf_counter()
        for rel in rels:
            os.stat(env / rel)
        serial = time.perf_counter() - start
        print(
            f"(f) share with {delay_ms:g} ms per operation, {len(rels)} files in {npackages} "
            f"packages: serial stat "
            f"{serial:.2f} s"
        )
        repos = [("this checkout", REPO)] + ([("baseline", baseline)] if baseline else [])
        one: dict[str, float] = {}
        for jobs in (1, 2, 4, 8, 16, None):
            for name, repo in repos:
                args = ["verify", "--quick", "--no-cache", str(env)]
                if jobs:
                    args[1:1] = ["--jobs", str(jobs)]
                wall = cli(args, base / "xdg-slow", repo)["wall_s"]
                one.setdefault(name, wall)
                label = f"--jobs {jobs}" if jobs else "default jobs"
                print(
                    f"    {name}, verify --quick {label}: {wall:.2f} s at the CLI "
                    f"({serial / wall:.1f}x faster than the serial stat, "
                    f"{one[name] / wall:.1f}x faster than one worker)"
                )
    finally:
        unmount_share(share)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/work/scratch/verify-inst")
    ap.add_argument("--keep", action="store_true", help="keep the generated tree")
    ap.add_argument("--files", type=int, default=22500, help="files in the package cache")
    ap.add_argument("--mb", type=int, default=1000, help="MB of package files in the cache")
    ap.add_argument("--packages", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--conda-python", default=None)
    ap.add_argument("--delay-ms", type=float, default=1.0)
    ap.add_argument("--slow-files", type=int, default=1000)
    ap.add_argument("--slow-packages", type=int, default=40)
    ap.add_argument("--generate-only", action="store_true", help="make the tree, measure nothing")
    ap.add_argument(
        "--slow-only", action="store_true", help="only (f), the share with a delay per operation"
    )
    ap.add_argument(
        "--baseline-repo",
        help="a checkout whose verify is timed on the same tree in the same run (e.g. the "
        "engine before inodes were hashed once: git archive ed372db | tar -x -C DIR)",
    )
    ns = ap.parse_args()
    base = Path(ns.dir)
    baseline = Path(ns.baseline_repo) if ns.baseline_repo else None
    if ns.slow_only:
        base.mkdir(parents=True, exist_ok=True)
        slow_share(base, ns.delay_ms, ns.slow_files, ns.slow_packages, baseline)
        return
    root = base / "inst"
    if not (root / "pkgs" / "urls.txt").is_file():
        shutil.rmtree(base, ignore_errors=True)
        start = time.perf_counter()
        generate(root, ns.files, ns.mb, ns.packages)
        print(f"generated in {time.perf_counter() - start:.0f} s")
    if ns.generate_only:
        return
    envs = [root, *sorted((root / "envs").iterdir())]
    cache_home = base / "xdg-cache"
    os.environ["XDG_CACHE_HOME"] = str(cache_home)  # never the real user's cache
    # an installed condashare has its .pyc files: let the CLI runs keep theirs (outside the
    # repo), or every run would compile every module again
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
    cli(["verify", "--quick", "--no-cache", str(root / "envs" / "release-1")], cache_home)
    from condashare.verify.api import default_jobs, verify

    cores = default_jobs()
    with open("/proc/cpuinfo") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if "model name" in ln), "?")
    print(f"machine: {os.cpu_count()} CPUs ({cores} usable), {cpu}; {load()}")
    fig = tree_figures(root, envs)
    for env, (files, nbytes) in zip(envs, fig["per_env"], strict=True):
        print(f"  {env}: {files} files, {nbytes / 1e6:.0f} MB")
    warm(root)
    warm(root)
    sha = throughput(both=False)
    both = throughput(both=True)
    limit = (fig["unique_bytes"] / sha + fig["archive_bytes"] / both) / cores
    print(
        f"unique: {fig['unique_files']} inodes, {fig['unique_bytes'] / 1e6:.0f} MB, archives "
        f"{fig['archive_bytes'] / 1e6:.0f} MB; sha256 {sha / 1e6:.0f} MB/s, sha256+md5 "
        f"{both / 1e6:.0f} MB/s per CPU second -> (e) limit {limit:.3f} s on {cores} idle cores"
    )
    floor = syscall_floor(root, envs)
    floor_cpu = sum(floor.values())
    print(
        f"(g) the file-system floor besides hashing, one process: {floor_cpu:.2f} s CPU ("
        + ", ".join(f"{k} {v:.2f}" for k, v in floor.items())
        + f"); limit + floor {(limit * cores + floor_cpu) / cores:.3f} s on {cores} idle cores"
    )
    python = ns.conda_python or next((p for p in CONDA_PYTHONS if imports_conda(p)), None)
    per_prefix, conda_cpu, how = conda_functions(python, envs)
    a = sum(per_prefix)
    print(
        f"(a) {how}, over the {len(envs)} prefixes: {a:.2f} s "
        f"({', '.join(f'{t:.2f}' for t in per_prefix)}); CPU {sum(conda_cpu):.2f} s"
    )
    lib = []
    for _ in range(ns.repeat):
        start = time.perf_counter()
        rep = verify([root], deep=True, use_cache=False)
        lib.append(time.perf_counter() - start)
        assert not rep.findings, [f.title for f in rep.findings]
    b_lib = statistics.median(lib)
    hashed = rep.stats.bytes_hashed
    clis, cpu = cli_cpu(["verify", "--deep", "--no-cache", str(root)], cache_home, 2)
    b_cli = min(x["wall_s"] for x in clis)
    rss = max(max(x["rss_self_kb"], x["rss_kids_kb"]) for x in clis) / 1024
    print(
        f"(b) verify --deep --no-cache ROOT: CLI {b_cli:.3f} s (best of 2, exit "
        f"{clis[0]['code']}), library {b_lib:.3f} s (median of {ns.repeat}); "
        f"{hashed / 1e6:.0f} MB hashed; peak RSS {rss:.0f} MiB (CLI "
        f"{max(x['rss_self_kb'] for x in clis) / 1024:.0f}, largest worker "
        f"{max(x['rss_kids_kb'] for x in clis) / 1024:.0f})"
    )
    print(
        f"    CPU of one CLI run, all processes: {cpu:.2f} s; the limit's hashing work: "
        f"{limit * cores:.2f} s of one core"
    )
    deep_args = ["verify", "--deep", "--no-cache", str(root)]
    if ns.baseline_repo:
        base_runs, base_cpu = cli_cpu(deep_args, cache_home, 2, Path(ns.baseline_repo))
        base_wall = min(x["wall_s"] for x in base_runs)
        print(
            f"    baseline {ns.baseline_repo}: CLI {base_wall:.3f} s, CPU {base_cpu:.2f} s, exit "
            f"{base_runs[0]['code']} ({base_cpu / cpu:.2f}x the CPU of this one)"
        )
    release = envs[1]
    quick_args = ["verify", "--quick", "--no-cache", str(release)]
    quick, c_cpu = cli_cpu(quick_args, cache_home, 5)
    c_cli = statistics.median(x["wall_s"] for x in quick)
    a_one = per_prefix[1]
    print(
        f"(c) verify --quick --no-cache {release.name} ({fig['per_env'][1][0]} files): CLI "
        f"{c_cli:.3f} s (median of 5; CPU {c_cpu:.3f} s) vs (a) on it {a_one:.2f} s "
        f"(CPU {conda_cpu[1]:.2f} s)"
    )
    bare = [bare_python() for _ in range(5)]
    bare_wall = statistics.median(b[0] for b in bare)
    bare_cpu = statistics.median(b[1] for b in bare)
    print(
        f"    of which the interpreter alone (python -c pass, site included): wall "
        f"{bare_wall:.3f} s, CPU {bare_cpu:.3f} s"
    )
    if ns.baseline_repo:
        base_quick, base_c_cpu = cli_cpu(quick_args, cache_home, 5, Path(ns.baseline_repo))
        print(
            f"    baseline {ns.baseline_repo}: CLI "
            f"{statistics.median(x['wall_s'] for x in base_quick):.3f} s, CPU "
            f"{base_c_cpu:.3f} s ({base_c_cpu / c_cpu:.2f}x the CPU of this one)"
        )
    print("ratios (targets in brackets):")
    print(f"  b/e = {b_cli / limit:.2f}x at the CLI, {b_lib / limit:.2f}x library  [<= 1.3]")
    print(f"  a/b = {a / b_cli:.1f}x at the CLI   a/c = {a_one / c_cli:.1f}x at the CLI  [>= 20]")
    print(
        f"  by CPU seconds (load-proof; idle cores would show about this): b/e = "
        f"{cpu / (limit * cores):.2f}x  b/(e+g) = {cpu / (limit * cores + floor_cpu):.2f}x  "
        f"a/b = {sum(conda_cpu) / cpu:.1f}x  "
        f"a/c = {conda_cpu[1] / c_cpu:.1f}x"
    )
    print(f"  peak RSS {rss:.0f} MiB  [< 150]")
    print(f"after: {load()}")
    if ns.delay_ms > 0:
        slow_share(base, ns.delay_ms, ns.slow_files, ns.slow_packages, baseline)
    if not ns.keep:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
