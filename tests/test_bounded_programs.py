"""The child programs are real modules: standard library only, and they run under -I -S."""

from __future__ import annotations

import ast
import os
import pkgutil
import sys
from pathlib import Path

import pytest

from condashare.bounded import children, programs
from condashare.bounded.paths import run_program
from condashare.bounded.programs import (
    diskusage,
    iospeed,
    locktest,
    pathops,
    permscan,
    sqlitetest,
)

PROGRAMS_DIR = Path(programs.__file__).parent
ALL = sorted(m.name for m in pkgutil.iter_modules([str(PROGRAMS_DIR)]))


@pytest.mark.parametrize("name", ALL)
def test_programs_import_only_the_standard_library(name):
    """A child starts without site-packages: anything else would fail to import there."""
    tree = ast.parse((PROGRAMS_DIR / f"{name}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or module.startswith(
                "condashare.bounded.programs"
            ), f"{name} imports {module}"


def test_the_command_line_isolates_the_child():
    argv = children.program_argv(pathops, "stat", "/", "0")
    assert argv[:3] == [sys.executable, "-I", "-S"]
    assert argv[3] == str(PROGRAMS_DIR / "boot.py") and os.path.isabs(argv[4])
    assert argv[5:] == ["condashare.bounded.programs.pathops", "stat", "/", "0"]


def test_the_users_python_setup_cannot_break_a_child(tmp_path, monkeypatch):
    """-I: PYTHONPATH (and the user's site-packages) are ignored, so a module there that
    shadows the standard library never loads in a child."""
    poison = tmp_path / "poison"
    poison.mkdir()
    (poison / "json.py").write_text("raise SystemExit('the child read PYTHONPATH')\n")
    monkeypatch.setenv("PYTHONPATH", str(poison))
    result = run_program(pathops, ["head", str(poison / "json.py"), "5"], 30)
    assert result.status == "ok", result
    assert bytes.fromhex(result.data["data"]) == b"raise"


@pytest.mark.parametrize(
    ("program", "args", "field"),
    [
        (locktest, ["{dir}", "21"], "conflict_seen"),
        (sqlitetest, ["{dir}"], "lock_enforced"),
        (diskusage, ["{dir}", "1000", "5", "du"], "bytes"),
        (permscan, ["{dir}", "1000", "5", str(os.getuid())], "counts"),
        (iospeed, ["{dir}", "10", "1000", "5"], "stats"),
    ],
)
def test_each_doctor_program_answers_under_isolation(program, args, field, tmp_path):
    (tmp_path / "conda-meta").mkdir()
    (tmp_path / "conda-meta" / "history").write_text("x" * 100)
    argv = [a.format(dir=tmp_path) for a in args]
    result = run_program(program, argv, 30, str(tmp_path))
    assert result.status == "ok", result
    assert field in result.data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conda-meta"]  # nothing left behind


def test_a_program_that_fails_names_the_error(tmp_path):
    result = run_program(diskusage, [str(tmp_path / "gone"), "10", "5", "free"], 30)
    assert result.status == "missing" and result.errname == "ENOENT"
    (tmp_path / "file").write_text("")
    refused = run_program(locktest, [str(tmp_path / "file"), "21"], 30)
    assert refused.status == "error" and refused.errname == "ENOTDIR"
    assert refused.data["stage"] == "create"
