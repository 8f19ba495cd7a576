"""Wall time of `condashare admin audit` on an installation-shaped tree of N files.

Builds a tree shaped like a conda installation (``envs/rel*/lib/pkg*/f*``, ``pkgs/`` with
archives, ``conda-meta/``) of ``--files`` files on local disk, one in ten with mode 0600 (the
archive problem), then times, in the same run:

- the floor: one process walking the tree with ``os.scandir`` and ``lstat`` of every entry
  (what any audit must do at least);
- ``condashare admin audit ROOT --json`` (interpreter start, the walk in bounded slices,
  findings and plan);
- ``condashare admin audit ROOT --fix`` (the same plus one no-follow chmod per planned file);
- the same audit again on the repaired tree.

Usage: ``python3 benchmarks/admin_audit.py [--files 100000] [--dir DIR]``. The figures depend
on the disk and the page cache: the tree is walked once before timing so all runs see a warm
cache (an NFS share adds its per-operation latency to every entry).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PER_DIR = 200


def build(root: Path, files: int) -> int:
    made = 0
    (root / "conda-meta").mkdir(parents=True)
    (root / "conda-meta" / "history").write_text("")
    (root / "pkgs").mkdir()
    (root / "pkgs" / "urls.txt").write_text("")
    env_index = 0
    while made < files:
        env = root / "envs" / f"rel{env_index}"
        (env / "conda-meta").mkdir(parents=True)
        (env / "conda-meta" / "history").write_text("")
        for pkg in range(25):
            d = env / "lib" / f"pkg{pkg}"
            d.mkdir(parents=True)
            for i in range(PER_DIR):
                f = d / f"f{i}.py"
                f.write_bytes(b"x")
                if i % 10 == 0:
                    f.chmod(0o600)
                made += 1
                if made >= files:
                    return made
            archive = root / "pkgs" / f"pkg{pkg}-{env_index}.conda"
            archive.write_bytes(b"PK")
            archive.chmod(0o600)
            made += 1
        env_index += 1
    return made


def floor(root: Path) -> tuple[float, int]:
    start = time.perf_counter()
    stack, n = [str(root)], 0
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                st = e.stat(follow_symlinks=False)
                n += 1
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                del st
    return time.perf_counter() - start, n


def timed(*args: str) -> tuple[float, int]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "condashare", "admin", "audit", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        check=False,
    )
    return time.perf_counter() - start, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--dir", default=None, help="where to build the tree (default: a tmp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp) / "inst"
        made = build(root, args.files)
        floor(root)  # warm the page cache
        seconds, entries = floor(root)
        print(f"tree: {made} files, {entries} entries; load average {os.getloadavg()[0]:.1f}")
        print(f"floor (scandir + lstat, one process): {seconds:6.2f} s")
        for label, extra in (
            ("admin audit --json", ["--json"]),
            ("admin audit --fix --dry-run --json", ["--fix", "--dry-run", "--json"]),
            ("admin audit --fix --json", ["--fix", "--json"]),
            ("admin audit --json (repaired tree)", ["--json"]),
        ):
            seconds, code = timed(str(root), *extra)
            print(f"{label:<38} {seconds:6.2f} s  (exit {code})")


if __name__ == "__main__":
    main()
