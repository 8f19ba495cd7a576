"""``condashare info`` end to end, as a user runs it, including on a hung and a failing share."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import run_cli

DATA = Path(__file__).parent / "data"


def site_file(tmp_path: Path, prefix: Path | str, timeout: float = 2.0, extra: str = "") -> Path:
    path = tmp_path / "site.toml"
    path.write_text(
        f"[site]\nname = 'Test Centre'\nprobe_timeout = {timeout}\n"
        f"[[installations]]\nname = 'linux'\nprefix = '''{prefix}'''\nos = 'linux'\n"
        "[[installations]]\nname = 'macos'\nprefix = '/nfs/cpkgs/anaconda3_macOS'\n"
        f"os = 'macos'\n{extra}"
    )
    return path


def fake_install(root: Path, sample: str = "elf-x86_64.bin") -> Path:
    (root / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / sample, root / "bin" / "python")
    return root


def env_for(platform: str = "linux-x86_64", **extra: str) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["CONDASHARE_PLATFORM"] = platform
    env.update(extra)
    return env


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("condashare ")


def test_no_site_file_still_useful():
    result = run_cli("info", env=env_for())
    assert result.returncode == 0
    assert "none found; looked at:" in result.stdout
    assert "site.toml" in result.stdout
    assert "linux-x86_64 (from CONDASHARE_PLATFORM)" in result.stdout


def test_healthy_installation_chosen_and_confirmed(tmp_path):
    install = fake_install(tmp_path / "anaconda3_linux")
    result = run_cli("info", "--site", str(site_file(tmp_path, install)), env=env_for())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "* linux: " + str(install) in result.stdout
    assert "responsive" in result.stdout
    assert "ELF linux-x86_64 (from bin/python)" in result.stdout
    assert "not probed (another OS)" in result.stdout  # the macOS entry is never touched


def test_site_file_from_environment_variable(tmp_path):
    install = fake_install(tmp_path / "i")
    env = env_for(CONDASHARE_SITE=str(site_file(tmp_path, install)))
    result = run_cli("info", env=env)
    assert "(found by CONDASHARE_SITE)" in result.stdout


def test_wrong_platform_files_are_a_problem(tmp_path):
    install = fake_install(tmp_path / "i", "macho-arm64.bin")
    result = run_cli("info", "--site", str(site_file(tmp_path, install)), env=env_for())
    assert result.returncode == 1
    assert "is for Mach-O macos-arm64" in result.stdout


def test_a_conda_meta_record_is_quoted_with_its_own_subdir(tmp_path):
    """Without bin/python the packages' record tells: shown with conda's name for it
    (``linux-aarch64``, ``linux-64``), which the user finds in the file, not ours alone."""
    install = tmp_path / "i"
    (install / "conda-meta").mkdir(parents=True)
    (install / "etc" / "profile.d").mkdir(parents=True)
    (install / "etc" / "profile.d" / "conda.sh").write_text("")
    record = {"name": "python", "version": "3.11.9", "build": "h0", "subdir": "linux-64"}
    (install / "conda-meta" / "python-3.11.9-h0.json").write_text(json.dumps(record))
    result = run_cli("info", "--site", str(site_file(tmp_path, install)), env=env_for())
    assert result.returncode == 0, result.stdout + result.stderr
    said = "packages for linux-x86_64 (subdir linux-64 in conda-meta/python-3.11.9-h0.json)"
    assert f"files say:         {said}" in result.stdout, result.stdout
    assert "subdir linux-x86_64" not in result.stdout


def test_missing_installation_is_a_problem(tmp_path):
    result = run_cli("info", "--site", str(site_file(tmp_path, tmp_path / "gone")), env=env_for())
    assert result.returncode == 1
    assert "is missing" in result.stdout


def test_no_installation_for_this_platform(tmp_path):
    only_mac = tmp_path / "mac.toml"
    only_mac.write_text("[[installations]]\nname='m'\nprefix='/m'\nos='macos'\n")
    result = run_cli("info", "--site", str(only_mac), env=env_for())
    assert result.returncode == 1
    assert "no installation in the site file is for linux-x86_64" in result.stdout


def test_bad_site_file_is_a_clear_error_without_traceback(tmp_path):
    bad = tmp_path / "site.toml"
    bad.write_text("[[installations]]\nname='l'\nprefix='relative/path'\nos='linux'\n")
    result = run_cli("info", "--site", str(bad), env=env_for())
    assert result.returncode == 2
    assert f"{bad}: installations[0].prefix: must be an absolute path" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_bad_platform_override_is_usage_error():
    result = run_cli("info", env=env_for("amiga-68k"))
    assert result.returncode == 2
    assert "CONDASHARE_PLATFORM" in result.stderr and "Traceback" not in result.stderr


def test_prefix_bypasses_site_file(tmp_path):
    install = fake_install(tmp_path / "mine")
    result = run_cli("info", "--prefix", str(install), env=env_for())
    assert result.returncode == 0
    assert "--prefix (site file ignored)" in result.stdout


def test_json_document(tmp_path):
    install = fake_install(tmp_path / "i")
    result = run_cli("info", "--json", "--site", str(site_file(tmp_path, install)), env=env_for())
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1 and doc["command"] == "info" and doc["exit_code"] == 0
    data = doc["data"]
    assert data["host"]["platform"] == {"os": "linux", "arch": "x86_64"}
    assert data["choice"]["installation"]["name"] == "linux"
    statuses = {s["installation"]["name"]: s for s in data["installations"]}
    assert statuses["linux"]["probe"]["status"] == "ok"
    assert statuses["macos"]["probe"] is None


def test_color_never_and_no_color(tmp_path):
    result = run_cli("--color", "always", "info", env=env_for())
    assert "\033[" in result.stdout
    result = run_cli("--color", "always", "info", env=env_for(NO_COLOR="1"))
    assert "\033[" in result.stdout  # an explicit --color always wins over NO_COLOR
    result = run_cli("info", env=env_for(NO_COLOR="1"))
    assert "\033[" not in result.stdout


def test_hung_share_reported_unresponsive_within_bound(tmp_path, fuse_share):
    fake_install(fuse_share.backing)
    site = site_file(tmp_path, fuse_share.mount, timeout=1.0)
    fuse_share.block()
    result = run_cli("info", "--site", str(site), env=env_for(), timeout=30)
    assert result.seconds < 1.0 + 1.0, result.seconds  # probe timeout + 1 s, start-up included
    assert result.returncode == 1
    assert "unresponsive (no answer in 1.0 s)" in result.stdout
    assert "fuse.nfs from nfsserver:/export/conda; network" in result.stdout


def test_failing_share_reported_as_error(tmp_path, fuse_share):
    fake_install(fuse_share.backing)
    site = site_file(tmp_path, fuse_share.mount)
    for name, words in (("ESTALE", "stale file handle"), ("EIO", "I/O error")):
        fuse_share.fail(name)
        result = run_cli("info", "--site", str(site), env=env_for())
        assert result.returncode == 1
        assert f"[x] failing: {words} ({name})" in result.stdout


def test_healthy_network_share(tmp_path, fuse_share):
    fake_install(fuse_share.backing)
    result = run_cli("info", "--site", str(site_file(tmp_path, fuse_share.mount)), env=env_for())
    assert result.returncode == 0, result.stdout
    assert "ELF linux-x86_64" in result.stdout
