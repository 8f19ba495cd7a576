"""Promises about the project itself: the README's commands are what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_readme_has_exactly_two_setup_commands():
    commands = readme_commands()
    assert len(commands) == 2
    assert "condashare info" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (REPO / ".ci" / "run").read_text()
    assert readme_commands()[1] in ci.splitlines()


def test_ci_installs_every_real_component():
    ci = (REPO / ".ci" / "run").read_text()
    for package in ("bash", "zsh", "dash", "tcsh", "fish", "fuse3"):
        assert re.search(rf"apt-get install[^\n]*\b{package}\b", ci), package
