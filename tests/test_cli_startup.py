"""Every command builds the whole parser first, ``--version`` too: building it must not import
what only running a command needs (shell records, startup, doctor, verify), so a start of the
CLI stays cheap."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from condashare.cli import COMMAND_MODULES
from condashare.cli.init import SHELL_CHOICES
from condashare.shells.records import all_aliases

REPO = Path(__file__).resolve().parents[1]

# Modules (and packages, with everything below them) only running a command may import.
HEAVY = (
    "condashare.shells",
    "condashare.startup",
    "condashare.doctor",
    "condashare.verify",
    "condashare.findings",
    "condashare.render",
    "condashare.cli.syncflow",
)

_PROBE = """
import runpy, sys
sys.argv = ["condashare", *sys.argv[1:]]
try:
    runpy.run_module("condashare", run_name="__main__")
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
print(" ".join(sorted(m for m in sys.modules if m.startswith("condashare"))))
"""


def _loaded(tmp_path: Path, *argv: str) -> tuple[str, list[str]]:
    """What ``condashare ARGV`` printed (it must exit 0) and the condashare modules it loaded."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    printed, _, loaded = proc.stdout.strip().rpartition("\n")
    return printed, loaded.split()


def test_version_imports_nothing_a_command_runs_with(tmp_path: Path) -> None:
    version, names = _loaded(tmp_path, "--version")
    assert version.startswith("condashare "), version
    assert "condashare.cli.init" in names  # the parser really was built
    heavy = [n for n in names if any(n == h or n.startswith(h + ".") for h in HEAVY)]
    assert heavy == [], heavy


def test_a_command_builds_only_its_own_parser_and_help_lists_every_command(
    tmp_path: Path,
) -> None:
    """``condashare verify ...`` (``--color`` before it too) loads no other command's module;
    ``condashare --help`` still lists every command."""
    commands = {"condashare.cli." + c for c in COMMAND_MODULES}
    # the option as argparse takes it: whole, abbreviated, with "=" or its value apart
    for before in (["--color", "never"], ["--col", "always"], ["--color=never"], ["--co=auto"]):
        out, names = _loaded(tmp_path, *before, "verify", "--help")
        assert sorted(commands.intersection(names)) == ["condashare.cli.verify"], before
        assert "usage: condashare verify" in out, before
    listing, names = _loaded(tmp_path, "--help")
    assert commands <= set(names)
    assert all(f"    {c}" in listing for c in COMMAND_MODULES), listing


def test_the_shell_choices_are_the_shell_records() -> None:
    """``--shell`` offers exactly the names the records know (spelled out for start-up)."""
    assert sorted(SHELL_CHOICES) == sorted(all_aliases())
    assert len(set(SHELL_CHOICES)) == len(SHELL_CHOICES)
