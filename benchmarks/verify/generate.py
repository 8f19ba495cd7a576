"""Generate a large, realistic conda environment for the verify benchmark.

    python benchmarks/verify/generate.py OUT [--files 21000] [--mb 950]

Writes ``OUT/env`` with ``conda-meta/<name>-<version>-<build>.json`` records in conda's own
format (conda-facts §6): the repodata fields (name, version, build, build_number, channel,
subdir, fn, url, md5, sha256, size, depends), ``files``, ``paths_data`` (``paths_version: 1``;
per path ``_path``, ``path_type``, ``sha256``, ``sha256_in_prefix``, ``size_in_bytes`` and, for
prefix-rewritten text files, ``prefix_placeholder`` + ``file_mode``), ``link`` {source, type},
``extracted_package_dir``, ``package_tarball_full_path`` and ``requested_spec``.

The records are generated directly (no solver) so the tree can be big without a channel. The
shape mimics a scientific env: ~300 packages; most files are small (Python sources, headers,
text: a log-normal with a median of a few KiB), a few hundred are shared libraries of
0.1-8 MiB, and a handful are huge (100+ MiB, like libLLVM or MKL). About 2 % of text files
contain the prefix (written with the real prefix, recorded with the packaged placeholder's
hash and size, as conda does). Content is random bytes so no compression or dedupe helps.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
from pathlib import Path

PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"


def sizes(rng: random.Random, nfiles: int, total: int) -> list[int]:
    huge = [int(x * total) for x in (0.13, 0.09, 0.06, 0.04)]
    medium_n = max(1, nfiles // 60)
    small_n = nfiles - medium_n - len(huge)
    small = [max(64, int(rng.lognormvariate(8.4, 1.2))) for _ in range(small_n)]
    rest = total - sum(huge) - sum(small)
    medium = [rng.uniform(0.2, 1.8) for _ in range(medium_n)]
    scale = rest / sum(medium)
    medium_sizes = [max(100_000, int(m * scale)) for m in medium]
    out = huge + medium_sizes + small
    rng.shuffle(out)
    return out


DIRS = ("lib", "lib/python3.11/site-packages", "include", "share", "bin", "etc")


def file_path(name: str, pkg: int, idx: int, count: int, size: int) -> str:
    """Where file ``idx`` of package number ``pkg`` (of ``count`` files) lives: a package
    spreads its files over a few directories (~15 files per directory, as in real envs:
    site-packages/<pkg>/<subpkg>/, lib/, include/<pkg>/)."""
    top = DIRS[(pkg + idx % 3) % len(DIRS)]
    sub = f"/m{(idx // 7) % 4}" if count > 40 else ""
    return f"{top}/{name}{sub}/f{idx}.{'so' if size > 100_000 else 'py'}"


def has_prefix(idx: int, size: int) -> bool:
    """About 2 % of the small files are text files holding the prefix."""
    return size < 20_000 and idx % 50 == 0


def prefix_text(size: int) -> bytes:
    """A text file as packaged: it names the placeholder prefix."""
    body = os.urandom(size // 2).hex()[:size]
    return f"#!{PLACEHOLDER}/bin/python\n{body}\n".encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--files", type=int, default=21000)
    ap.add_argument("--mb", type=int, default=950)
    ap.add_argument("--packages", type=int, default=300)
    ap.add_argument(
        "--prefix", help="the path the env will be verified at (default OUT/env), e.g. a mount"
    )
    ns = ap.parse_args()
    rng = random.Random(20261127)
    env = Path(ns.out).resolve() / "env"
    meta = env / "conda-meta"
    meta.mkdir(parents=True)
    prefix = ns.prefix or str(env)
    file_sizes = sizes(rng, ns.files, ns.mb * 1000 * 1000)
    # spread files over packages: a few big packages, many small ones
    weights = [rng.paretovariate(1.2) for _ in range(ns.packages)]
    owner = rng.choices(range(ns.packages), weights=weights, k=len(file_sizes))
    per_pkg: dict[int, list[int]] = {}
    for i, pkg in enumerate(owner):
        per_pkg.setdefault(pkg, []).append(i)
    total = 0
    for pkg in range(ns.packages):
        name = f"pkg{pkg:03d}-{rng.choice(['core', 'io', 'lib', 'py', 'tools'])}"
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        build = f"py311h{rng.getrandbits(28):07x}_{rng.randint(0, 3)}"
        dist = f"{name}-{version}-{build}"
        paths = []
        for idx in per_pkg.get(pkg, []):
            size = file_sizes[idx]
            rel = file_path(name, pkg, idx, len(per_pkg[pkg]), size)
            full = env / rel
            full.parent.mkdir(parents=True, exist_ok=True)
            entry = {"_path": rel, "path_type": "hardlink"}
            if has_prefix(idx, size):
                # a prefix-rewritten text file: packaged with the placeholder, installed with
                # the real prefix; sha256/size are the packaged values
                packaged = prefix_text(size)
                installed = packaged.replace(PLACEHOLDER.encode(), prefix.encode())
                full.write_bytes(installed)
                entry.update(
                    sha256=hashlib.sha256(packaged).hexdigest(),
                    sha256_in_prefix=hashlib.sha256(installed).hexdigest(),
                    size_in_bytes=len(packaged),
                    prefix_placeholder=PLACEHOLDER,
                    file_mode="text",
                )
                total += len(installed)
            else:
                data = os.urandom(size)
                full.write_bytes(data)
                digest = hashlib.sha256(data).hexdigest()
                entry.update(sha256=digest, sha256_in_prefix=digest, size_in_bytes=size)
                total += size
            paths.append(entry)
        fn = f"{dist}.conda"
        record = {
            "name": name,
            "version": version,
            "build": build,
            "build_number": int(build.rsplit("_", 1)[1]),
            "channel": "https://conda.anaconda.org/conda-forge/linux-64",
            "subdir": "linux-64",
            "fn": fn,
            "url": f"https://conda.anaconda.org/conda-forge/linux-64/{fn}",
            "md5": hashlib.md5(dist.encode()).hexdigest(),
            "sha256": hashlib.sha256(dist.encode()).hexdigest(),
            "size": rng.randint(10_000, 50_000_000),
            "depends": ["python >=3.11,<3.12.0a0", "libgcc-ng >=12"],
            "license": "BSD-3-Clause",
            "timestamp": 1_700_000_000_000,
            "files": [p["_path"] for p in paths],
            "paths_data": {"paths_version": 1, "paths": paths},
            "link": {"source": f"/opt/conda/pkgs/{dist}", "type": 1},
            "extracted_package_dir": f"/opt/conda/pkgs/{dist}",
            "package_tarball_full_path": f"/opt/conda/pkgs/{fn}",
            "requested_spec": "",
        }
        (meta / f"{dist}.json").write_text(json.dumps(record, indent=2))
    print(
        json.dumps(
            {"env": prefix, "files": len(file_sizes), "bytes": total, "packages": ns.packages}
        )
    )


if __name__ == "__main__":
    main()
