"""Doctor group ``releases``: your env names against the shared releases; unfrozen releases
for those who can write them (and silence for those who cannot)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import REPO
from support.doctor_env import make_ctx, make_install, site_file
from support.users import SECOND_UID, as_plain_root

from condashare.doctor.checks import releases
from condashare.findings import Severity


def _env(path: Path) -> Path:
    (path / "conda-meta").mkdir(parents=True)
    (path / "conda-meta" / "history").write_text("")
    return path


@pytest.fixture
def shared(tmp_path: Path) -> tuple[Path, Path]:
    prefix = make_install(tmp_path / "inst")
    for name in ("isis4.3.0", "isis3.6.0"):
        _env(prefix / "envs" / name)
    return prefix, site_file(tmp_path, ("linux", str(prefix), "linux"))


def test_own_env_named_like_a_release(sandbox_home: Path, shared: tuple[Path, Path]) -> None:
    prefix, site = shared
    mine = _env(sandbox_home / ".conda" / "envs" / "isis4.3.0")
    _env(sandbox_home / ".conda" / "envs" / "scratch")
    (finding,) = releases.check_name_clash(make_ctx(sandbox_home, site))
    assert finding.severity == Severity.WARNING
    assert finding.title == "your env 'isis4.3.0' has the name of a shared release"
    assert str(mine) in finding.detail and str(prefix / "envs" / "isis4.3.0") in finding.detail
    assert "replaces the release" in finding.detail
    assert finding.fix.startswith(f"Rename yours: conda rename -p {mine} ")
    mine.rename(mine.with_name("isis4.3.0-mine"))  # what the fix does
    (ok,) = releases.check_name_clash(make_ctx(sandbox_home, site))
    assert ok.severity == Severity.OK


def test_admin_told_about_unfrozen_releases(sandbox_home: Path, shared: tuple[Path, Path]) -> None:
    prefix, site = shared
    if os.geteuid() != 0 and os.stat(prefix).st_uid != os.getuid():
        pytest.skip("needs to own the installation")
    (finding,) = releases.check_frozen(make_ctx(sandbox_home, site))
    assert finding.severity == Severity.WARNING
    assert finding.data["releases"] == ["isis3.6.0", "isis4.3.0"]
    assert "condashare admin publish" in finding.fix
    for name in ("isis3.6.0", "isis4.3.0"):
        (prefix / "envs" / name / "conda-meta" / "frozen").write_text('{"message": "release"}')
    (finding,) = releases.check_frozen(make_ctx(sandbox_home, site))
    assert finding.severity == Severity.OK and "all 2" in finding.title


def test_users_who_cannot_write_the_share_are_not_told(
    sandbox_home: Path, shared: tuple[Path, Path]
) -> None:
    import subprocess
    import sys

    prefix, site = shared
    plain = as_plain_root()  # root minus the rights that bypass modes: an ordinary user here
    for dirpath, dirnames, filenames in os.walk(prefix):
        for name in [*dirnames, *filenames, ""]:
            os.chown(os.path.join(dirpath, name), SECOND_UID, SECOND_UID)
    cmd = [sys.executable, "-m", "condashare", "doctor", "releases.frozen", "--json"]
    env = dict(os.environ, PYTHONPATH=str(REPO), CONDASHARE_SITE=str(site))
    proc = subprocess.run([*plain, *cmd], capture_output=True, text=True, env=env, timeout=60)
    doc = json.loads(proc.stdout)
    (finding,) = [f for c in doc["data"]["checks"] for f in c["findings"]]
    assert finding["severity"] == "ok" and "cannot write" in finding["title"], finding
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)  # full root
    (finding,) = [f for c in json.loads(proc.stdout)["data"]["checks"] for f in c["findings"]]
    assert finding["severity"] == "warning" and "without the frozen marker" in finding["title"]
