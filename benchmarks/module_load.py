"""Wall time of ``module load`` of a condashare modulefile (real Lmod, local disk).

Builds a two-OS site with one release (an activate.d script), writes its modulefiles with
``condashare modules``, and times, in one bash with Lmod's init sourced:

- the floor: ``module load``/``unload`` of a hand-written Lua modulefile doing the same
  ``prepend_path``/``pushenv``/``source_sh`` for the same env, without the installation choice
  and the bounded probe;
- ``module load isis/4.3.0`` (the condashare file: a ``/bin/sh`` helper runs ``uname``, reads
  ``conda-meta/history`` racing a timer, lists activate.d) and ``module unload isis``.

There is no real ``conda`` here, so ``conda activate`` itself is not timed; on a machine with
one, compare with ``time (conda activate isis4.3.0; conda deactivate)``.

Usage: ``python3 benchmarks/module_load.py [--runs 20]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PLAIN = """\
local env = "{env}"
prepend_path("PATH", env .. "/bin")
pushenv("CONDA_PREFIX", env)
pushenv("CONDA_DEFAULT_ENV", "isis4.3.0")
pushenv("CONDA_SHLVL", "1")
source_sh("bash", env .. "/etc/conda/activate.d/isis.sh")
"""


def lmod_init() -> str:
    listed = subprocess.run(["dpkg", "-L", "lmod"], capture_output=True, text=True, check=True)
    return next(ln for ln in listed.stdout.splitlines() if ln.endswith("/init/bash"))


def build(root: Path) -> tuple[Path, Path]:
    for inst in ("anaconda3_linux", "anaconda3_macOS"):
        env = root / "cpkgs" / inst / "envs" / "isis4.3.0"
        (env / "conda-meta").mkdir(parents=True)
        (env / "conda-meta" / "history").write_text("==> 2026-01-01 00:00:00 <==\n")
        (env / "bin").mkdir()
        (env / "etc" / "conda" / "activate.d").mkdir(parents=True)
        (env / "etc" / "conda" / "activate.d" / "isis.sh").write_text(
            'ISIS_DATA="$CONDA_PREFIX/share"; export ISIS_DATA\n'
        )
        (root / "cpkgs" / inst / "conda-meta").mkdir()
        (root / "cpkgs" / inst / "conda-meta" / "history").write_text("")
    site = root / "site.toml"
    site.write_text(
        "[site]\nname = 'bench'\nprobe_timeout = 2.0\n\n"
        f"[[installations]]\nname = 'linux'\nprefix = '{root}/cpkgs/anaconda3_linux'\n"
        "os = 'linux'\n\n"
        f"[[installations]]\nname = 'mac'\nprefix = '{root}/cpkgs/anaconda3_macOS'\nos = 'macos'\n"
    )
    mdir = root / "mf"
    env = {**os.environ, "HOME": str(root), "PYTHONPATH": str(REPO), "CONDASHARE_SITE": str(site)}
    subprocess.run(
        [sys.executable, "-m", "condashare", "modules", "--dir", str(mdir)],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    (mdir / "plain").mkdir()
    linux_env = root / "cpkgs" / "anaconda3_linux" / "envs" / "isis4.3.0"
    (mdir / "plain" / "1.0.lua").write_text(PLAIN.format(env=linux_env))
    return mdir, site


def time_pairs(mdir: Path, module: str, runs: int, home: Path) -> list[float]:
    script = (
        f". {lmod_init()}\nmodule use {mdir}\n"
        f"for i in $(seq {runs}); do s=$(date +%s%N); module load {module}; "
        f"module unload {module.split('/')[0]}; e=$(date +%s%N); echo $((e - s)); done\n"
    )
    out = subprocess.run(
        ["bash", "--norc", "-c", script],
        capture_output=True, text=True, check=True,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
    ).stdout  # fmt: skip
    return [int(x) / 1e6 for x in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mdir, _ = build(root)
        for label, module in (("hand-written", "plain/1.0"), ("condashare", "isis/4.3.0")):
            times = time_pairs(mdir, module, args.runs, root)
            print(
                f"{label:13} load+unload: median {statistics.median(times):7.1f} ms, "
                f"min {min(times):7.1f} ms over {len(times)} runs"
            )


if __name__ == "__main__":
    main()
