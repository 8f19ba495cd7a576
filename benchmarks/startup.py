"""Shell start-up cost of the condashare block, per shell, against baselines from the same run.

For each of bash, zsh, dash, tcsh and fish, measures ``SHELL -i -c exit`` (tcsh: ``tcsh -c
exit``, it reads ``.tcshrc`` for every shell; median of --runs, cases interleaved so load
changes hit all alike) with:

- ``empty``: an empty startup file;
- ``bare``: a bare line sourcing the installation's conda.sh / conda.csh / conda.fish (local);
- ``block``: the condashare block, installation on local disk (mount table says local: no probe,
  the shell sources the file itself);
- ``short``: the short form (``init``'s default): the guarded line in the startup file, the block
  in the managed file in the home's state dir that it sources;
- ``bare-net`` / ``block-net`` / ``short-net``: the same with the installation on a healthy FUSE
  share shown as ``fuse.nfs`` that caches attributes for 30 s like an NFS client. The block's
  probe child opens and reads the file and the shell sources what it read, so the share is read
  once in both cases. (The FUSE daemon is Python, so a read through it is slow: compare the two.)
- ``floor`` / ``floor-net`` (bash, zsh, dash): the physical limit of any OS-branching block —
  one ``uname -sm`` (the block must ask uname), then the bare line (local), or sourcing what one
  freshly exec'd child (``cat``) read (network: the least a block that never opens the share
  itself can do, with no timeout, no verdict and no mount-table lookup).

Then the worst of 3 starts per shell with the share dead (every operation blocks) 1 s after a
warm use (one healthy start of that shell just before): the limit is probe timeout + 0.5 s.

Usage: ``python3 benchmarks/startup.py [--runs 40] [--no-fuse]``. Needs the five shells; the
FUSE cases need fuse3 and mfusepy (as the tests do). The installation's startup files have the
shape conda installs (tests/support/conda_shell.py).
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
sys.path.insert(0, str(REPO / "tests"))

from support.conda_shell import write_installation  # noqa: E402

from condashare.shells.records import DialectName  # noqa: E402
from condashare.site.file import Installation, Site  # noqa: E402
from condashare.startup.blocks import render_block  # noqa: E402
from condashare.startup.short import CodeDir, managed_text, render_short  # noqa: E402

SHELLS = ["bash", "zsh", "dash", "tcsh", "fish"]
DIALECT: dict[str, DialectName] = {
    "bash": "posix",
    "zsh": "posix",
    "dash": "posix",
    "tcsh": "csh",
    "fish": "fish",
}
CONDA_FILE = {"tcsh": "etc/profile.d/conda.csh", "fish": "etc/fish/conf.d/conda.fish"}
HANG_TIMEOUT = 1.0
COLS = [
    "empty",
    "bare",
    "floor",
    "block",
    "short",
    "bare-net",
    "floor-net",
    "block-net",
    "short-net",
]


def conda_file(shell: str, prefix: Path) -> Path:
    return prefix / CONDA_FILE.get(shell, "etc/profile.d/conda.sh")


def quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def startup_file(home: Path, shell: str) -> Path:
    return {
        "bash": home / ".bashrc",
        "zsh": home / ".zshrc",
        "dash": home / ".shinit",
        "tcsh": home / ".tcshrc",
        "fish": home / ".config/fish/config.fish",
    }[shell]


def bare_line(shell: str, prefix: Path) -> str:
    word = quoted(conda_file(shell, prefix))
    return f"source {word}\n" if shell in ("tcsh", "fish") else f". {word}\n"


def floor_line(shell: str, prefix: Path, net: bool) -> str | None:
    """uname plus the least a block can do to source the file (see the module docstring)."""
    word = quoted(conda_file(shell, prefix))
    if shell in ("bash", "zsh"):
        load = f". <(exec cat {word})" if net else f". {word}"
    elif shell == "dash":
        load = f'eval "$(cat {word})"' if net else f". {word}"
    else:
        return None
    return f"_u=$(uname -sm)\n{load}\n"


def command(shell: str) -> list[str]:
    exe = shutil.which(shell)
    assert exe, shell
    if shell == "tcsh":
        return [exe, "-c", "exit"]  # tcsh reads .tcshrc for every shell
    return [exe, "-i", "-c", "exit"]


def make_home(
    root: Path, name: str, shell: str, content: str, short: Site | None = None
) -> dict[str, str]:
    """A home whose startup file holds ``content``; with ``short``, the short line and the
    managed file (rendered for that site) it sources."""
    home = root / name / shell
    f = startup_file(home, shell)
    f.parent.mkdir(parents=True, exist_ok=True)
    if short is not None:
        code = CodeDir(str(home / ".local/state/condashare/startup"), str(home))
        managed = Path(code.file(DIALECT[shell]))
        managed.parent.mkdir(parents=True, exist_ok=True)
        managed.write_bytes(managed_text(short, DIALECT[shell]))
        content = render_short(DIALECT[shell], code).decode()
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


def site_for(prefix: Path, timeout: float) -> Site:
    inst = Installation("bench", str(prefix), "linux" if sys.platform != "darwin" else "macos")
    return Site("bench", timeout, (inst,), "bench", "--site")


class Fuse:
    """The test suite's hangfs share (``fuse.nfs``, kernel caches on like NFS's actimeo)."""

    def __init__(self, root: Path, cache_seconds: float = 30.0) -> None:
        self.backing, self.mount, self.trigger = root / "backing", root / "share", root / "trig"
        root.mkdir(parents=True, exist_ok=True)
        self.backing.mkdir()
        self.mount.mkdir()
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests/support/hangfs.py"), str(self.backing),
             str(self.mount), str(self.trigger), "nfsserver:/export/conda", "nfs",
             str(cache_seconds)],
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


def build_cases(
    tmp: Path, shells: list[str], fuse: Fuse | None
) -> dict[tuple[str, str], dict[str, str]]:
    local = tmp / "local" / "anaconda3"
    write_installation(local, str(local), "bench")
    shared = None
    if fuse is not None:
        shared = fuse.mount / "anaconda3"
        write_installation(fuse.backing / "anaconda3", str(shared), "bench")
    cases: dict[tuple[str, str], dict[str, str]] = {}
    for shell in shells:
        d = DIALECT[shell]
        texts: dict[str, str | None] = {
            "empty": "",
            "bare": bare_line(shell, local),
            "floor": floor_line(shell, local, net=False),
            "block": render_block(site_for(local, 2.0), d).decode(),
        }
        if shared is not None:
            texts["bare-net"] = bare_line(shell, shared)
            texts["floor-net"] = floor_line(shell, shared, net=True)
            texts["block-net"] = render_block(site_for(shared, HANG_TIMEOUT), d).decode()
        for name, text in texts.items():
            if text is not None:
                cases[(shell, name)] = make_home(tmp, name, shell, text)
        cases[(shell, "short")] = make_home(tmp, "short", shell, "", site_for(local, 2.0))
        if shared is not None:
            net = site_for(shared, HANG_TIMEOUT)
            cases[(shell, "short-net")] = make_home(tmp, "short-net", shell, "", net)
    return cases


def hung_starts(
    fuse: Fuse, shells: list[str], cases: dict[tuple[str, str], dict[str, str]]
) -> dict[str, float]:
    """Worst of 3 starts per shell and form, the share dead since 1 s after a warm (healthy)
    start."""
    worst: dict[str, float] = {}
    for shell in shells:
        for case in ("block-net", "short-net"):
            env = cases[(shell, case)]
            fuse.trigger.unlink(missing_ok=True)
            run_cpu(command(shell), env)  # a healthy start: the client's cache is warm
            fuse.trigger.write_text("")
            time.sleep(1.0)
            worst[f"{shell} {case[:-4]}"] = max(run_cpu(command(shell), env)[0] for _ in range(3))
    fuse.trigger.unlink(missing_ok=True)
    return worst


def print_table(title: str, table: dict[tuple[str, str], float], shells: list[str]) -> None:
    print(f"\n{title} (ms)")
    head = " ".join(f"{c:>9}" for c in COLS)
    extra = ["block-bare", "block-floor", "short-block", "net:blk-bare", "net:short-blk"]
    print(f"{'shell':6} {head} " + " ".join(f"{c:>13}" for c in extra))
    for shell in shells:
        cells = []
        for c in COLS:
            v = table.get((shell, c))
            cells.append(f"{v * 1000:9.1f}" if v is not None else f"{'-':>9}")
        diffs = []
        for a, b in (("block", "bare"), ("block", "floor"), ("short", "block"),
                     ("block-net", "bare-net"), ("short-net", "block-net")):  # fmt: skip
            va, vb = table.get((shell, a)), table.get((shell, b))
            diffs.append(f"{(va - vb) * 1000:13.1f}" if va is not None and vb is not None
                         else f"{'-':>13}")  # fmt: skip
        print(f"{shell:6} {' '.join(cells)} {' '.join(diffs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--no-fuse", action="store_true")
    args = parser.parse_args()
    shells = [s for s in SHELLS if shutil.which(s)]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        fuse = None if args.no_fuse else Fuse(tmp / "fuse")
        try:
            cases = build_cases(tmp, shells, fuse)
            samples: dict[tuple[str, str], list[float]] = {k: [] for k in cases}
            cpu: dict[tuple[str, str], list[float]] = {k: [] for k in cases}
            for key, env in cases.items():  # warm-up
                run_cpu(command(key[0]), env)
            for _ in range(args.runs):
                for key, env in cases.items():
                    wall, used = run_cpu(command(key[0]), env)
                    samples[key].append(wall)
                    cpu[key].append(used)
            hung = hung_starts(fuse, shells, cases) if fuse is not None else {}
        finally:
            if fuse is not None:
                fuse.close()
    cpu_model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model}), "
        f"{platform.platform()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"median of {args.runs}; load average before {load_before[0]:.2f}, "
        f"after {os.getloadavg()[0]:.2f}"
    )
    print_table("wall time, median", {k: statistics.median(v) for k, v in samples.items()}, shells)
    print_table(
        "wall time, 10th percentile", {k: sorted(v)[len(v) // 10] for k, v in samples.items()},
        shells,
    )  # fmt: skip
    print_table(
        "CPU time (user+sys, shell and waited-for children), median",
        {k: statistics.median(v) for k, v in cpu.items()}, shells,
    )  # fmt: skip
    if hung:
        print(f"\nshare dead 1 s after a warm use, probe timeout {HANG_TIMEOUT:g} s: worst of 3")
        for shell, secs in hung.items():
            verdict = "ok" if secs <= HANG_TIMEOUT + 0.5 else "OVER the limit"
            over = secs - HANG_TIMEOUT
            print(f"  {shell:12} {secs:6.2f} s  (over timeout: {over:+.2f} s, {verdict})")


if __name__ == "__main__":
    main()
