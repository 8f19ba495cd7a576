"""condashare envs: shared releases sorted by version, read through the probe (no hang)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import FuseShare, run_cli
from support.doctor_env import make_install, site_file
from support.sharedsite import make_site

from condashare.shared_envs.releases import list_shared_envs, parse_release


@pytest.mark.parametrize(
    "name, family, version",
    [
        ("isis4.3.0", "isis", "4.3.0"),
        ("isis10.0.0", "isis", "10.0.0"),
        ("isis_8.0.1", "isis", "8.0.1"),
        ("ale-0.9.1", "ale", "0.9.1"),
        ("isis4.3.0_rc1", "isis", "4.3.0_rc1"),
        ("scratch", "scratch", None),
        ("3.11", "3.11", None),
        ("evil\x1b]0;T\x07", "evil\x1b]0;T\x07", None),  # not a "0;T\x07" release
        ("isis4.3.0;x", "isis4.3.0;x", None),
    ],
)
def test_parse_release(name: str, family: str, version: str | None) -> None:
    assert parse_release(name) == (family, version)


def test_envs_sorted_by_version(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "linux": [
                "isis4.3.0",
                "isis10.0.0",
                "scratch",
                "isis3.6.0",
                "isis4.3.0_rc1",
                "ale-0.9.1",
            ],
            "macos": [],
        },
    )
    (site.linux / "envs" / "not-an-env").mkdir()  # no conda-meta: not listed
    report = list_shared_envs(site.setup("linux"))
    assert report.status == "ok"
    assert [e.name for e in report.envs] == [
        "ale-0.9.1",
        "isis3.6.0",
        "isis4.3.0",
        "isis4.3.0_rc1",
        "isis10.0.0",
        "scratch",
    ]
    assert report.envs[2].path == f"{site.linux}/envs/isis4.3.0"


def test_envs_cli_json_for_macos_host(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    env = {
        **os.environ,
        "CONDASHARE_SITE": str(site.site_file),
        "CONDASHARE_PLATFORM": "macos-arm64",
    }
    res = run_cli("envs", "--json", env=env)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)["data"]
    assert data["installation"]["name"] == "macos"
    assert [(e["name"], e["version"]) for e in data["envs"]] == [
        ("isis4.3.0", "4.3.0"),
        ("isis8.0.0", "8.0.0"),
    ]


@pytest.mark.fuse
def test_dead_share_does_not_hang(fuse_share: FuseShare, tmp_path: Path) -> None:
    (fuse_share.backing / "inst" / "envs" / "isis4.3.0" / "conda-meta").mkdir(parents=True)
    site_file = tmp_path / "site.toml"
    site_file.write_text(
        f'[site]\nprobe_timeout = 1\n[[installations]]\nname = "linux"\n'
        f'prefix = "{fuse_share.mount}/inst"\nos = "linux"\n'
    )
    env = {**os.environ, "CONDASHARE_SITE": str(site_file), "CONDASHARE_PLATFORM": "linux-x86_64"}
    healthy = run_cli("envs", "--json", env=env)
    assert [e["name"] for e in json.loads(healthy.stdout)["data"]["envs"]] == ["isis4.3.0"]
    fuse_share.block()
    start = time.monotonic()
    res = run_cli("envs", "--json", env=env, timeout=30)
    elapsed = time.monotonic() - start
    assert res.returncode == 3
    assert json.loads(res.stdout)["data"]["status"] == "unresponsive"
    assert elapsed < 15  # probe timeout is 1 s; generous bound for a loaded machine


def test_envs_says_when_your_own_env_hides_a_release(tmp_path: Path, sandbox_home: Path) -> None:
    """Your own ``isis4.3.0`` listed first: ``conda activate isis4.3.0`` takes yours, so the
    shared one is shown as hidden, to be activated by its path."""
    site = make_site(tmp_path)
    (sandbox_home / ".conda" / "envs" / "isis4.3.0" / "conda-meta").mkdir(parents=True)
    (sandbox_home / ".condarc").write_text(
        f"envs_dirs:\n  - ~/.conda/envs\n  - {site.linux}/envs\n"
    )
    env = {
        **os.environ,
        "CONDASHARE_SITE": str(site.site_file),
        "CONDASHARE_PLATFORM": "linux-x86_64",
        "CONDA_EXE": f"{site.own_linux}/bin/conda",
    }
    res = run_cli("envs", env=env)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == ["isis4.3.0"])
    assert f"hidden by {sandbox_home}/.conda/envs/isis4.3.0" in lines[at + 1]
    assert "use the path" in lines[at + 1]
    assert not any("hidden by" in line for line in lines if "isis3.6.0" in line)
    assert sum("hidden by" in line for line in lines) == 1
    data = json.loads(run_cli("envs", "--json", env=env).stdout)["data"]
    hidden = {e["name"]: e["hidden_by"] for e in data["envs"]}
    assert hidden == {
        "isis3.6.0": None,
        "isis4.3.0": f"{sandbox_home}/.conda/envs/isis4.3.0",
        "isis10.0.0": None,
    }


def test_envs_of_an_installation_built_for_another_os_are_flagged(tmp_path: Path) -> None:
    """A site file pointing macOS at a Linux-built tree: listing its envs as if they would run
    sends users to `conda activate` and "cannot execute binary file"; `info` says it, so does
    `envs` (exit 1)."""
    linux_built = make_install(tmp_path / "anaconda3_macOS")  # bin/python: this Linux's header
    (linux_built / "envs" / "isis4.3.0" / "conda-meta").mkdir(parents=True, exist_ok=True)
    tree = str(linux_built)
    site = site_file(tmp_path, ("macos", tree, "macos"), ("linux", tree, "linux"))
    env = {**os.environ, "CONDASHARE_SITE": str(site), "CONDASHARE_PLATFORM": "macos-arm64"}
    res = run_cli("envs", env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "isis4.3.0" in res.stdout
    (line,) = [x for x in res.stdout.splitlines() if x.startswith("[x]")]
    assert "installation 'macos' holds ELF linux-" in line and "macos-arm64 host" in line, line
    doc = json.loads(run_cli("envs", "--json", env=env).stdout)
    assert doc["exit_code"] == 1 and doc["data"]["wrong_platform"].startswith("ELF linux-")
    del env["CONDASHARE_PLATFORM"]  # this host (Linux, the tree's own CPU): nothing to say
    here = run_cli("envs", env=env)
    assert here.returncode == 0 and "[x]" not in here.stdout, here.stdout
