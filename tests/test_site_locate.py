"""locate(): the one entrance every command uses — host, mounts, site file from one request."""

from __future__ import annotations

from pathlib import Path

import pytest

from condashare.host.detect import HostInputs, PlatformError, normalize_arch, uname_spellings
from condashare.host.mounts import read_mount_table
from condashare.site.file import SiteError
from condashare.site.installations import platform_from_subdir
from condashare.site.locate import LocateRequest, locate

SITE = "[[installations]]\nname = 'linux'\nprefix = '/opt/conda'\nos = 'linux'\n"


def request(home: Path, env: dict[str, str] | None = None, **fields: object) -> LocateRequest:
    full = {"HOME": str(home), **(env or {})}
    inputs = HostInputs(system="Linux", machine="aarch64", env=full, passwd_home=str(home))
    return LocateRequest(
        env=full,
        inputs=inputs,
        mounts=read_mount_table(),
        user_config_dir=str(home / "cfg"),
        site_config_dirs=[],
        **fields,  # type: ignore[arg-type]
    )


def test_the_request_decides_host_and_site(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(SITE)
    where = locate(request(tmp_path, site_path=str(site)))
    assert str(where.host.platform) == "linux-arm64"  # uname's aarch64, one spelling
    assert where.site is not None and where.site.installations[0].prefix == "/opt/conda"
    assert where.env["HOME"] == str(tmp_path) and where.candidates[0].path == str(site)


def test_prefix_needs_no_site_file(tmp_path: Path) -> None:
    where = locate(request(tmp_path, prefix="/srv/anaconda3"))
    assert where.site is not None and where.site.installations[0].prefix == "/srv/anaconda3"
    assert where.candidates == []


def test_found_broken_site_file_is_an_error_for_commands_and_a_record_for_the_doctor(
    tmp_path: Path,
) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "site.toml").write_text("installations = 3\n")
    with pytest.raises(SiteError):
        locate(request(tmp_path))
    where = locate(request(tmp_path), lenient=True)
    assert where.site is None and "site.toml" in where.site_error


def test_named_missing_site_file_is_exit_2_even_for_the_doctor(tmp_path: Path) -> None:
    with pytest.raises(SiteError) as caught:
        locate(request(tmp_path, site_path=str(tmp_path / "nope.toml")), lenient=True)
    assert caught.value.exit_code == 2


def test_broken_platform_override(tmp_path: Path) -> None:
    bad = {"CONDASHARE_PLATFORM": "linux-sparc"}
    with pytest.raises(PlatformError):
        locate(request(tmp_path, bad, prefix="/opt/conda"))
    where = locate(request(tmp_path, bad, prefix="/opt/conda"), lenient=True)
    assert "sparc" in where.platform_error and where.host.arch == "arm64"  # detected instead


def test_one_table_of_architecture_spellings() -> None:
    assert normalize_arch("AMD64") == "x86_64" and normalize_arch("aarch64") == "arm64"
    assert set(uname_spellings("arm64")) == {"arm64", "aarch64"}
    subdir = platform_from_subdir("linux-aarch64")
    assert subdir is not None and subdir.archs == ("arm64",)
    legacy = platform_from_subdir("linux-32")
    assert legacy is not None and legacy.archs == ("x86",)
