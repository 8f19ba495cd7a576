"""Shell start-up cost of site-file match rules in the sh/bash/zsh block (issue 14: within 3 ms
of a bare ``. conda.sh`` line).

For bash, zsh, dash, tcsh and fish, ``SHELL -i -c exit`` (tcsh: ``-c exit``; median of
--runs, cases interleaved; CPU time of the shell and its children) with:

- ``bare``: a bare line sourcing the installation's conda.sh (local disk);
- ``block``: the condashare block for a site without rules;
- ``rules``: a site whose first installation has host, CPU-level, GPU and glibc rules and a
  host pattern that fails here (so the block reads the host name and tests for the GPU, but
  reads neither the CPU level nor glibc) and whose second, rule-free installation is chosen;
- ``read-cold``: the first installation's host, CPU-level (x86-64-v2) and glibc (2.17) rules
  hold here, so the block needs both costly facts (the worst case), with no facts cache (its
  file is deleted before each start): it reads ``/proc/cpuinfo``, runs ``getconf`` and writes
  the cache (``touch -r``; the cache dir exists, as after a host's first start);
- ``read-warm``: the same, the cache written by the start before (every start after the first
  on a host, until a reboot or a glibc change);
- ``rules-before``, ``read-before`` (with ``--baseline DIR``): the ``rules`` case and the worst
  case rendered by the condashare checkout in DIR (e.g. the commit before the cache), the A/B
  baseline in the same run.

Usage: ``python3 benchmarks/rules.py [--runs 40] [--baseline /path/to/checkout]``. Uses
benchmarks/startup.py's helpers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
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
COLS = ["bare", "block", "rules", "read-cold", "read-warm"]
BASELINE = ["rules-before", "read-before"]


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


def render_with(checkout: str, site: str, dialect: DialectName) -> str:
    """The block the condashare in ``checkout`` renders for the site text (a baseline)."""
    code = (
        "import sys\nfrom condashare.site.file import parse_site\n"
        "from condashare.startup import render_block\n"
        "sys.stdout.buffer.write(render_block(parse_site(sys.stdin.read(), 's'), sys.argv[1]))\n"
    )
    env = {**os.environ, "PYTHONPATH": checkout}
    out = subprocess.run([sys.executable, "-c", code, dialect], input=site.encode(),
                         capture_output=True, check=True, env=env, cwd=checkout)  # fmt: skip
    return out.stdout.decode()


def drop_facts_cache(env: dict[str, str]) -> None:
    """A cold start: the block's facts file goes (its directory stays)."""
    for path in Path(env["HOME"]).glob(".cache/condashare/hosts/*/machine-facts"):
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--baseline", help="a condashare checkout to render read-before with")
    args = parser.parse_args()
    shells = [s for s in SHELLS if shutil.which(s)]
    cols = COLS + (BASELINE if args.baseline else [])
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        gpu, plain = tmp / "gpu", tmp / "plain"
        write_installation(gpu, str(gpu), "gpu")
        write_installation(plain, str(plain), "plain")
        no_rules = parse_site(f'[[installations]]\nname="p"\nprefix="{plain}"\nos="linux"\n', "s")
        cheap, read = site_text(gpu, plain, False), site_text(gpu, plain, True)
        cases = {}
        for shell in shells:
            dialect = DIALECT.get(shell, "posix")
            texts = {
                "bare": bare_line(shell, plain),
                "block": render_block(no_rules, dialect).decode(),
                "rules": render_block(parse_site(cheap, "s"), dialect),
                "read-cold": render_block(parse_site(read, "s"), dialect),
                "read-warm": render_block(parse_site(read, "s"), dialect),
            }
            if args.baseline:
                texts["rules-before"] = render_with(args.baseline, cheap, dialect)
                texts["read-before"] = render_with(args.baseline, read, dialect)
            for name, text in texts.items():
                body = text if isinstance(text, str) else text.decode()
                cases[(shell, name)] = make_home(tmp, name, shell, body)
        samples: dict[tuple[str, str], list[float]] = {k: [] for k in cases}
        for key, env in cases.items():
            run_cpu(command(key[0]), env)
        for _ in range(args.runs):
            for key, env in cases.items():
                if key[1] == "read-cold":
                    drop_facts_cache(env)
                samples[key].append(run_cpu(command(key[0]), env)[0])
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; median of {args.runs}; "
        f"load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    minus = [c for c in cols if c not in ("bare", "block")]
    print(f"{'shell':6} " + " ".join(f"{c:>11}" for c in cols) + "".join(
        f" {c + '-bare':>16}" for c in minus))  # fmt: skip
    for shell in shells:
        med = {c: statistics.median(samples[(shell, c)]) * 1000 for c in cols}
        cells = " ".join(f"{med[c]:11.1f}" for c in cols)
        diffs = "".join(f" {med[c] - med['bare']:16.1f}" for c in minus)
        print(f"{shell:6} {cells}{diffs}")


if __name__ == "__main__":
    main()
