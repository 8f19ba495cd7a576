"""Shell start-up cost of site-file match rules in the sh/bash/zsh block (issue 14: within 3 ms
of a bare ``. conda.sh`` line).

For bash, zsh, dash, tcsh and fish, ``SHELL -i -c exit`` (tcsh: ``-c exit``; median of
--runs, cases interleaved) with:

- ``bare``: a bare line sourcing the installation's conda.sh (local disk);
- ``block``: the condashare block for a site without rules;
- ``rules``: a site whose first installation has host, CPU-level, GPU and glibc rules and a
  host pattern that fails here (so the block reads the host name and tests for the GPU, but
  reads neither the CPU level nor glibc) and whose second, rule-free installation is chosen;
- ``rules-read``: the first installation's host, CPU-level (x86-64-v2) and glibc (2.17) rules
  hold here, so the block reads ``/proc/cpuinfo`` and runs ``getconf`` once (the worst case).

Usage: ``python3 benchmarks/rules.py [--runs 40]``. Uses benchmarks/startup.py's helpers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from startup import bare_line, command, make_home, run_cpu, write_installation

from condashare.shells.records import DialectName
from condashare.site.file import parse_site
from condashare.startup import render_block

SHELLS = ["bash", "zsh", "dash", "tcsh", "fish"]
DIALECT: dict[str, DialectName] = {"tcsh": "csh", "fish": "fish"}  # the others: posix
COLS = ["bare", "block", "rules", "rules-read"]


def site_text(gpu: Path, plain: Path, read: bool) -> str:
    rules = (
        'hosts = ["*"], cpu = "x86-64-v2", glibc = "2.17"'
        if read
        else 'hosts = ["gpu*", "dgx*"], cpu = "x86-64-v4", gpu = "nvidia", glibc = "2.17"'
    )
    return (
        f'[[installations]]\nname = "gpu"\nprefix = "{gpu}"\nos = "linux"\narch = ["x86_64"]\n'
        f"match = {{ {rules} }}\n"
        f'[[installations]]\nname = "plain"\nprefix = "{plain}"\nos = "linux"\n'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    shells = [s for s in SHELLS if shutil.which(s)]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        gpu, plain = tmp / "gpu", tmp / "plain"
        write_installation(gpu, str(gpu), "gpu")
        write_installation(plain, str(plain), "plain")
        no_rules = parse_site(f'[[installations]]\nname="p"\nprefix="{plain}"\nos="linux"\n', "s")
        cases = {}
        for shell in shells:
            dialect = DIALECT.get(shell, "posix")
            texts = {
                "bare": bare_line(shell, plain),
                "block": render_block(no_rules, dialect).decode(),
                "rules": render_block(parse_site(site_text(gpu, plain, False), "s"), dialect),
                "rules-read": render_block(parse_site(site_text(gpu, plain, True), "s"), dialect),
            }
            for name, text in texts.items():
                body = text if isinstance(text, str) else text.decode()
                cases[(shell, name)] = make_home(tmp, name, shell, body)
        samples: dict[tuple[str, str], list[float]] = {k: [] for k in cases}
        for key, env in cases.items():
            run_cpu(command(key[0]), env)
        for _ in range(args.runs):
            for key, env in cases.items():
                samples[key].append(run_cpu(command(key[0]), env)[0])
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; median of {args.runs}; "
        f"load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    print(f"{'shell':6} " + " ".join(f"{c:>11}" for c in COLS) + "  rules-bare   read-bare")
    for shell in shells:
        med = {c: statistics.median(samples[(shell, c)]) * 1000 for c in COLS}
        cells = " ".join(f"{med[c]:11.1f}" for c in COLS)
        print(
            f"{shell:6} {cells}  {med['rules'] - med['bare']:10.1f}"
            f"  {med['rules-read'] - med['bare']:10.1f}"
        )


if __name__ == "__main__":
    main()
