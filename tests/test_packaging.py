"""The wheel a user installs carries the shell templates, the type marker and the entry points."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (path,) = out.glob("condashare-*.whl")
    return zipfile.ZipFile(path)


def test_shell_templates_are_in_the_wheel(wheel):
    names = set(wheel.namelist())
    templates = [p for p in (REPO / "shell").rglob("*") if p.is_file()]
    assert templates, "shell/ has no templates"
    for template in templates:
        inside = "condashare/shell/" + template.relative_to(REPO / "shell").as_posix()
        assert inside in names, inside
        assert wheel.read(inside) == template.read_bytes()


def test_typed_and_entry_points(wheel):
    names = wheel.namelist()
    assert "condashare/py.typed" in names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "condashare = condashare.cli:main" in text
    assert "[conda]" in text and "condashare.conda_plugin" in text


def test_kernel_launcher_template_is_in_the_wheel(wheel):
    inside = "condashare/kernels/launch.sh"
    assert wheel.read(inside) == (REPO / inside).read_bytes()


@pytest.mark.parametrize(
    "inside",
    [
        "condashare/modules/modulefile.lua",
        "condashare/modules/modulefile.tcl",
        "condashare/modules/probe.sh",
    ],
)
def test_modulefile_templates_are_in_the_wheel(wheel, inside):
    assert wheel.read(inside) == (REPO / inside).read_bytes()
