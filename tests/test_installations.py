"""Choosing an installation, and confirming its platform from its own files."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from condashare.host.detect import Platform
from condashare.site.file import parse_site
from condashare.site.installations import (
    choose_installation,
    identify_installation,
    parse_executable_header,
)

DATA = Path(__file__).parent / "data"
SITE = parse_site(
    """
[[installations]]
name = "linux-intel"
prefix = "/nfs/cpkgs/anaconda3_linux"
os = "linux"
arch = ["x86_64"]
[[installations]]
name = "linux-any"
prefix = "/nfs/cpkgs/anaconda3_linux_any"
os = "linux"
[[installations]]
name = "macos"
prefix = "/nfs/cpkgs/anaconda3_macOS"
os = "macos"
""",
    "site.toml",
)


def test_first_match_wins_and_reason_mentions_others():
    choice = choose_installation(SITE, Platform("linux", "x86_64"))
    assert choice.installation.name == "linux-intel"
    assert "linux-any" in choice.reason
    assert [i.name for i in choice.matches] == ["linux-intel", "linux-any"]


def test_arch_filter():
    assert choose_installation(SITE, Platform("linux", "arm64")).installation.name == "linux-any"
    assert choose_installation(SITE, Platform("macos", "arm64")).installation.name == "macos"


def test_no_match_is_explained():
    site = parse_site('[[installations]]\nname="l"\nprefix="/c"\nos="linux"\n', "s")
    choice = choose_installation(site, Platform("macos", "arm64"))
    assert choice.installation is None
    assert "macos-arm64" in choice.reason and "l (linux)" in choice.reason


@pytest.mark.parametrize(
    ("sample", "os_name", "archs", "fmt"),
    [
        ("elf-x86_64.bin", "linux", ("x86_64",), "ELF"),
        ("elf-aarch64.bin", "linux", ("arm64",), "ELF"),
        ("macho-arm64.bin", "macos", ("arm64",), "Mach-O"),
        ("macho-x86_64.bin", "macos", ("x86_64",), "Mach-O"),
        ("macho-universal2.bin", "macos", ("x86_64", "arm64"), "Mach-O universal"),
    ],
)
def test_captured_headers(sample, os_name, archs, fmt):
    found = parse_executable_header((DATA / sample).read_bytes())
    assert (found.os, found.archs, found.format) == (os_name, archs, fmt)


def test_scripts_and_junk_are_not_binaries():
    assert parse_executable_header(b"#!/bin/sh\n") is None
    assert parse_executable_header(b"") is None
    assert parse_executable_header(b"\xca\xfe\xba\xbe\x00\x00\x00\x34") is None  # Java class


def make_install(root: Path, header_sample: str | None, subdir: str | None = None) -> Path:
    (root / "bin").mkdir(parents=True)
    if header_sample:
        shutil.copy(DATA / header_sample, root / "bin" / "python")
    if subdir:
        (root / "conda-meta").mkdir()
        record = {"name": "python", "version": "3.11", "build": "0", "subdir": subdir}
        (root / "conda-meta" / "python-3.11-0.json").write_text(json.dumps(record))
    return root


def test_identify_from_real_interpreter(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(Path(sys.executable).resolve())
    evidence = identify_installation(str(tmp_path), 5)
    assert evidence.found is not None and evidence.found.os == "linux"
    assert evidence.source == "bin/python"


def test_macos_install_seen_from_linux(tmp_path):
    evidence = identify_installation(str(make_install(tmp_path, "macho-arm64.bin")), 5)
    assert evidence.matches(Platform("linux", "x86_64")) is False
    assert evidence.matches(Platform("macos", "arm64")) is True
    assert "Mach-O macos-arm64" in evidence.describe()


def test_conda_meta_subdir_fallback(tmp_path):
    evidence = identify_installation(str(make_install(tmp_path, None, "osx-64")), 5)
    assert evidence.matches(Platform("macos", "x86_64")) is True
    assert evidence.source.startswith("conda-meta/")


def test_nothing_readable(tmp_path):
    evidence = identify_installation(str(tmp_path / "missing"), 5)
    assert evidence.matches(Platform("linux", "x86_64")) is None


def test_hung_share_does_not_hang_identification(fuse_share):
    make_install(fuse_share.backing, "elf-x86_64.bin")
    fuse_share.block()
    evidence = identify_installation(str(fuse_share.mount), 0.5)
    assert evidence.found is None
    assert evidence.probe.status == "unresponsive"
