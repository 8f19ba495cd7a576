"""Host detection for Linux and macOS inputs, on any machine (inputs are passed in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from condashare.host.detect import (
    HostInputs,
    Platform,
    PlatformError,
    detect_host,
    normalize_arch,
    parse_platform,
    shell_name,
)
from condashare.host.mounts import parse_mountinfo

DATA = Path(__file__).parent / "data"
SITE_MOUNTS = parse_mountinfo((DATA / "mountinfo-nfs-site.txt").read_text())


def linux(machine: str = "x86_64", distro: str = "ubuntu", **env: str) -> HostInputs:
    return HostInputs(
        system="Linux",
        machine=machine,
        env={"HOME": "/home/alice", "SHELL": "/bin/bash", **env},
        os_release_root=str(DATA / "os-release" / distro),
        glibc="2.35",
        mounts=SITE_MOUNTS,
    )


def mac(machine: str = "arm64", rosetta: bool = False, **env: str) -> HostInputs:
    return HostInputs(
        system="Darwin",
        machine=machine,
        env={"HOME": "/Users/alice", "SHELL": "/bin/zsh", **env},
        rosetta=rosetta,
        mac_version="14.4.1",
        mounts=[],
    )


@pytest.mark.parametrize(
    ("distro", "expected_id", "expected_version"),
    [("ubuntu", "ubuntu", "22.04"), ("rocky", "rocky", "8.9"), ("debian", "debian", "12")],
)
def test_linux_distro_from_captured_os_release(distro, expected_id, expected_version):
    host = detect_host(linux(distro=distro))
    assert host.platform == Platform("linux", "x86_64")
    assert (host.distro_id, host.distro_version) == (expected_id, expected_version)
    assert host.glibc == "2.35"
    assert host.platform.conda_subdir == "linux-64"


def test_linux_aarch64_is_arm64_with_conda_subdir_linux_aarch64():
    host = detect_host(linux(machine="aarch64"))
    assert str(host.platform) == "linux-arm64"
    assert host.platform.conda_subdir == "linux-aarch64"


def test_macos_apple_silicon():
    host = detect_host(mac())
    assert str(host.platform) == "macos-arm64"
    assert host.platform.conda_subdir == "osx-arm64"
    assert host.distro_id == "macos" and host.distro_version == "14.4.1"
    assert host.glibc is None
    assert host.login_shell == "/bin/zsh"


def test_macos_intel():
    host = detect_host(mac(machine="x86_64"))
    assert host.platform.conda_subdir == "osx-64"
    assert not host.rosetta


def test_rosetta_process_reports_the_real_cpu():
    # Under Rosetta 2, uname -m says x86_64 although the machine is Apple silicon.
    host = detect_host(mac(machine="x86_64", rosetta=True))
    assert str(host.platform) == "macos-arm64"
    assert host.rosetta
    assert any("Rosetta" in note for note in host.notes)


def test_override_variable_wins_over_detection():
    host = detect_host(linux(CONDASHARE_PLATFORM="macos-arm64"))
    assert str(host.platform) == "macos-arm64"
    assert host.platform_source == "CONDASHARE_PLATFORM"


def test_override_accepts_conda_subdir_spelling():
    assert detect_host(linux(CONDASHARE_PLATFORM="osx-64")).platform == Platform("macos", "x86_64")


@pytest.mark.parametrize("bad", ["macos", "windows-x86_64", "linux-sparc", "-arm64", ""])
def test_bad_override_is_a_clear_error(bad):
    if not bad:  # empty means "not set", detection applies
        assert detect_host(linux(CONDASHARE_PLATFORM=bad)).platform_source == "detected"
        return
    with pytest.raises(PlatformError, match="CONDASHARE_PLATFORM"):
        detect_host(linux(CONDASHARE_PLATFORM=bad))


def test_home_mount_found_without_touching_the_home():
    # /home/alice is an NFS v4 mount below an autofs trigger; the longest prefix wins.
    host = detect_host(linux())
    assert host.home_mount is not None
    assert host.home_mount.fstype == "nfs4"
    assert host.home_mount.is_network


def test_unknown_system_is_refused():
    with pytest.raises(PlatformError, match="unknown OS"):
        detect_host(HostInputs(system="SunOS", machine="sparc", env={}, mounts=[]))


def test_arch_aliases():
    assert normalize_arch("AMD64") == "x86_64"
    assert normalize_arch("aarch64") == normalize_arch("arm64") == "arm64"
    with pytest.raises(PlatformError):
        parse_platform("linux")


def test_shell_name_from_login_argv0_and_paths():
    assert shell_name("/usr/bin/zsh") == "zsh"
    assert shell_name("-bash") == "bash"
    assert shell_name(None) is None


def test_real_machine_detection_runs():
    host = detect_host()
    assert host.os in ("linux", "macos")
    assert host.home  # sandboxed HOME from conftest
