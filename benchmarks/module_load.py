"""Wall time of ``module load`` of a condashare modulefile (real Lmod or Environment Modules,
local disk), next to ``conda activate`` of the same env.

Builds a two-OS site with one release (an activate.d script), writes its modulefiles with
``condashare modules`` (Lua for Lmod, Tcl for Environment Modules), and times, in one bash with
the module system's init sourced:

- the floor: ``module load``/``unload`` of a hand-written modulefile doing the same
  ``prepend_path``/``pushenv``/``source_sh`` for the same env, without the installation choice
  and the bounded probe;
- ``module load isis/4.3.0`` (the condashare file: a ``/bin/sh`` helper runs ``uname``, reads
  ``conda-meta/history`` racing a timer, lists activate.d) and ``module unload isis``;
- with ``--conda CMD`` (a command that runs a real conda, e.g. ``/path/python -m conda``):
  ``conda activate ENV`` and ``conda deactivate`` of the same env in a bash with conda's hook.

Each line gives the ratio to the same run's floor (and to conda activate, when timed).
Environment Modules is found as the tests find it (CONDASHARE_ENVIRONMENT_MODULES, .ci/run).

Usage: ``python3 benchmarks/module_load.py [--runs 20] [--system lmod|envmodules|both]
[--conda CMD]``.
"""

from __future__ import annotations

import argparse
import os
import shlex
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


PLAIN_TCL = """\
#%Module1.0
set prefix "{env}"
prepend-path PATH "$prefix/bin"
pushenv CONDA_PREFIX $prefix
pushenv CONDA_DEFAULT_ENV isis4.3.0
pushenv CONDA_SHLVL 1
source-sh bash "$prefix/etc/conda/activate.d/isis.sh"
"""


def lmod_init() -> str:
    listed = subprocess.run(["dpkg", "-L", "lmod"], capture_output=True, text=True, check=True)
    return next(ln for ln in listed.stdout.splitlines() if ln.endswith("/init/bash"))


def envmodules_init() -> str:
    """The bash line that sets up Environment Modules (an unpacked .deb, as in .ci/run)."""
    roots = [os.environ.get("CONDASHARE_ENVIRONMENT_MODULES", ""), "/"]
    found = sorted(p for r in roots if r for p in Path(r).glob("usr/lib/*/modulecmd.tcl"))
    if not found:
        sys.exit("Environment Modules not found: set CONDASHARE_ENVIRONMENT_MODULES (.ci/run)")
    return f'eval "$(/usr/bin/tclsh8.6 {found[0]} bash autoinit)"'


INIT = {"lmod": lambda: f". {lmod_init()}", "envmodules": envmodules_init}
FORMAT = {"lmod": "lua", "envmodules": "tcl"}


def build_site(root: Path) -> Path:
    """A two-OS site with release isis4.3.0 (an activate.d script); returns the site file."""
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
    return site


def build(root: Path, site: Path, system: str) -> Path:
    """The site's modulefiles for ``system``, and the hand-written floor beside them."""
    mdir = root / f"mf-{system}"
    run_env = {**os.environ, "HOME": str(root), "PYTHONPATH": str(REPO)}
    run_env["CONDASHARE_SITE"] = str(site)
    subprocess.run(
        [sys.executable, "-m", "condashare", "modules", "--dir", str(mdir),
         "--format", FORMAT[system]],
        check=True, env=run_env, capture_output=True,
    )  # fmt: skip
    (mdir / "plain").mkdir()
    if system == "lmod":
        (mdir / "plain" / "1.0.lua").write_text(PLAIN.format(env=linux_env(root)))
    else:
        (mdir / "plain" / "1.0").write_text(PLAIN_TCL.format(env=linux_env(root)))
    return mdir


def linux_env(root: Path) -> Path:
    return root / "cpkgs" / "anaconda3_linux" / "envs" / "isis4.3.0"


def time_loop(setup: str, pair: str, runs: int, home: Path) -> list[float]:
    """Milliseconds of each of ``runs`` runs of ``pair`` in one bash after ``setup``."""
    script = (
        f"{setup}\nfor i in $(seq {runs}); do s=$(date +%s%N); {pair}; "
        "e=$(date +%s%N); echo $((e - s)); done\n"
    )
    out = subprocess.run(
        ["bash", "--norc", "-c", script],
        capture_output=True, text=True, check=True,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "CONDA_AUTO_ACTIVATE": "false"},
    ).stdout  # fmt: skip
    return [int(x) / 1e6 for x in out.split()]


def conda_setup(conda: str) -> str:
    """conda's bash hook for ``conda`` (a command line), with conda run the way it was given
    (``python -m conda`` from a source install cannot go through its ``bin/conda`` script)."""
    words = shlex.split(conda)
    setup = f'eval "$({conda} shell.bash hook)"'
    if len(words) == 3 and words[1] == "-m":
        exe, m, mod = (shlex.quote(w) for w in words)
        setup += f"\nexport CONDA_EXE={exe} _CE_M={m} _CE_CONDA={mod}"
    return setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--system", choices=("lmod", "envmodules", "both"), default="lmod")
    parser.add_argument("--conda", metavar="CMD", help="a command running a real conda")
    args = parser.parse_args()
    systems = ["lmod", "envmodules"] if args.system == "both" else [args.system]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "home").mkdir()
        site = build_site(root)
        env = shlex.quote(str(linux_env(root)))
        # Each pair checks that it did something (a failed activation would time nothing).
        active = f'[ "$CONDA_PREFIX" = {env} ] || exit 3'
        conda_ms = None
        if args.conda:
            pair = f"conda activate {env}; {active}; conda deactivate"
            times = time_loop(conda_setup(args.conda), pair, args.runs, root / "home")
            conda_ms = statistics.median(times)
            print(f"{'conda activate':26} +deactivate: median {conda_ms:7.1f} ms, "
                  f"min {min(times):7.1f} ms over {len(times)} runs")  # fmt: skip
        for system in systems:
            mdir = build(root, site, system)
            setup = f"{INIT[system]()}\nmodule use {mdir}"
            floor = None
            for label, module in (("hand-written", "plain/1.0"), ("condashare", "isis/4.3.0")):
                pair = f"module load {module}; {active}; module unload {module.split('/')[0]}"
                times = time_loop(setup, pair, args.runs, root / "home")
                median = statistics.median(times)
                floor = floor or median
                ratios = f"x{median / floor:.2f} floor"
                if conda_ms:
                    ratios += f", x{median / conda_ms:.2f} conda activate"
                print(f"{system + ' ' + label:26} load+unload: median {median:7.1f} ms, "
                      f"min {min(times):7.1f} ms over {len(times)} runs ({ratios})")  # fmt: skip


if __name__ == "__main__":
    main()
