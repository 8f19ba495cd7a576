"""Shell start-up cost of the condashare block, per shell, against a bare sourcing line.

For each of bash, zsh, dash, tcsh and fish, measures ``SHELL -i -c exit`` (median of --runs,
cases interleaved so load changes hit all alike) with:

- an empty startup file;
- a bare line sourcing the installation's conda.sh / conda.csh / conda.fish;
- the condashare block (installation on local disk: mount table says local, no probe);
- a bare sourcing line and the condashare block with the installation on a healthy FUSE share
  shown as ``fuse.nfs`` (mount table says network: the bounded probe runs; the FUSE daemon is
  Python, so reading conda.sh through it is slow in both cases: compare the two);
- the block with that share hung (every operation blocks): start-up time, a few runs.

Usage: ``python3 benchmarks/startup.py [--runs 40] [--no-fuse]``. Needs the five shells; the
FUSE cases need fuse3 and mfusepy (as the tests do).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from condashare.site import Installation, Site  # noqa: E402
from condashare.startup import render_block  # noqa: E402

SHELLS = ["bash", "zsh", "dash", "tcsh", "fish"]
DIALECT = {"bash": "posix", "zsh": "posix", "dash": "posix", "tcsh": "csh", "fish": "fish"}
HANG_TIMEOUT = 1.0


def make_installation(prefix: Path) -> None:
    """conda startup files of realistic shape: a handful of shell functions, no commands run."""
    (prefix / "etc/profile.d").mkdir(parents=True, exist_ok=True)
    (prefix / "etc/fish/conf.d").mkdir(parents=True, exist_ok=True)
    funcs = "".join(f"__bench_f{i}() {{ echo {i}; }}\n" for i in range(20))
    (prefix / "etc/profile.d/conda.sh").write_text(
        f"export CONDA_EXE='{prefix}/bin/conda'\n{funcs}conda() {{ echo conda; }}\n"
    )
    (prefix / "etc/profile.d/conda.csh").write_text(
        f"setenv CONDA_EXE '{prefix}/bin/conda'\nalias conda 'echo conda'\n"
    )
    (prefix / "etc/fish/conf.d/conda.fish").write_text(
        f"set -gx CONDA_EXE '{prefix}/bin/conda'\nfunction conda\n  echo conda\nend\n"
    )


def startup_file(home: Path, shell: str) -> Path:
    return {
        "bash": home / ".bashrc",
        "zsh": home / ".zshrc",
        "dash": home / ".shinit",
        "tcsh": home / ".tcshrc",
        "fish": home / ".config/fish/config.fish",
    }[shell]


def bare_line(shell: str, prefix: Path) -> str:
    if shell == "tcsh":
        return f"source '{prefix}/etc/profile.d/conda.csh'\n"
    if shell == "fish":
        return f"source '{prefix}/etc/fish/conf.d/conda.fish'\n"
    return f". '{prefix}/etc/profile.d/conda.sh'\n"


def command(shell: str) -> list[str]:
    exe = shutil.which(shell)
    assert exe, shell
    if shell == "tcsh":
        return [exe, "-c", "exit"]  # tcsh reads .tcshrc for every shell
    return [exe, "-i", "-c", "exit"]


def make_home(root: Path, name: str, shell: str, content: str) -> dict[str, str]:
    home = root / name / shell
    f = startup_file(home, shell)
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(content)
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "ENV": str(home / ".shinit")}


def run_cpu(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user+sys) of the shell and the children it waited for."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=env, cwd=env["HOME"],
    )  # fmt: skip
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = 0  # reaped above
    return wall, usage.ru_utime + usage.ru_stime


def run_once(cmd: list[str], env: dict[str, str]) -> float:
    return run_cpu(cmd, env)[0]


def site_for(prefix: Path, timeout: float) -> Site:
    inst = Installation("bench", str(prefix), "linux" if sys.platform != "darwin" else "macos")
    return Site("bench", timeout, (inst,), "bench", "--site")


class Fuse:
    """The test suite's hangfs share, mounted for the benchmark's network cases."""

    def __init__(self, root: Path) -> None:
        self.backing, self.mount, self.trigger = root / "backing", root / "share", root / "trig"
        root.mkdir(parents=True, exist_ok=True)
        self.backing.mkdir()
        self.mount.mkdir()
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests/support/hangfs.py"), str(self.backing),
             str(self.mount), str(self.trigger)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while f" {self.mount} " not in Path("/proc/self/mountinfo").read_text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("FUSE mount failed")
            time.sleep(0.02)

    def close(self) -> None:
        self.trigger.unlink(missing_ok=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        tool = shutil.which("fusermount3") or shutil.which("fusermount") or "fusermount"
        subprocess.run([tool, "-u", "-z", str(self.mount)], capture_output=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--no-fuse", action="store_true")
    args = parser.parse_args()
    shells = [s for s in SHELLS if shutil.which(s)]
    results: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        local = tmp / "local" / "anaconda3"
        make_installation(local)
        fuse = None if args.no_fuse else Fuse(tmp / "fuse")
        try:
            cases: dict[tuple[str, str], dict[str, str]] = {}
            for shell in shells:
                d = DIALECT[shell]
                block = render_block(site_for(local, 2.0), d).decode()
                cases[(shell, "empty")] = make_home(tmp, "empty", shell, "")
                cases[(shell, "bare")] = make_home(tmp, "bare", shell, bare_line(shell, local))
                cases[(shell, "block")] = make_home(tmp, "block", shell, block)
                if fuse is not None:
                    shared = fuse.mount / "anaconda3"
                    make_installation(fuse.backing / "anaconda3")
                    netblock = render_block(site_for(shared, HANG_TIMEOUT), d).decode()
                    cases[(shell, "bare-fuse")] = make_home(
                        tmp, "bare-fuse", shell, bare_line(shell, shared)
                    )
                    cases[(shell, "block-fuse")] = make_home(tmp, "fuse", shell, netblock)
            samples: dict[tuple[str, str], list[float]] = {k: [] for k in cases}
            cpu: dict[tuple[str, str], list[float]] = {k: [] for k in cases}
            for key, env in cases.items():  # warm-up
                run_once(command(key[0]), env)
            for _ in range(args.runs):
                for key, env in cases.items():
                    wall, used = run_cpu(command(key[0]), env)
                    samples[key].append(wall)
                    cpu[key].append(used)
            results = {k: statistics.median(v) for k, v in samples.items()}
            fast = {k: sorted(v)[len(v) // 10] for k, v in samples.items()}
            cpus = {k: statistics.median(v) for k, v in cpu.items()}
            hung: dict[str, float] = {}
            if fuse is not None:
                fuse.trigger.write_text("")
                for shell in shells:
                    env = cases[(shell, "block-fuse")]
                    hung[shell] = max(run_once(command(shell), env) for _ in range(3))
        finally:
            if fuse is not None:
                fuse.close()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; median of {args.runs}"
    )
    cols = ["empty", "bare", "block", "bare-fuse", "block-fuse"]
    for title, table in (
        ("wall time, median", results),
        ("wall time, 10th percentile", fast),
        ("CPU time (user+sys, shell and waited-for children), median", cpus),
    ):
        print(f"\n{title}")
        head = " ".join(f"{c + ' ms':>14}" for c in cols)
        print(f"{'shell':6} {head} {'block-bare ms':>14} {'fuse: blk-bare':>14}")
        for shell in shells:
            vals = [table.get((shell, c)) for c in cols]
            cells = " ".join(f"{v * 1000:14.1f}" if v is not None else f"{'-':>14}" for v in vals)
            delta = (table[(shell, "block")] - table[(shell, "bare")]) * 1000
            fuse_delta = "-"
            if (shell, "block-fuse") in table:
                diff = table[(shell, "block-fuse")] - table[(shell, "bare-fuse")]
                fuse_delta = f"{diff * 1000:.1f}"
            print(f"{shell:6} {cells} {delta:14.1f} {fuse_delta:>14}")
    if hung:
        print(f"\nhung share, probe timeout {HANG_TIMEOUT:g} s: worst of 3 start times")
        for shell, secs in hung.items():
            print(f"  {shell:6} {secs:6.2f} s  (over timeout: {secs - HANG_TIMEOUT:+.2f} s)")


if __name__ == "__main__":
    main()
