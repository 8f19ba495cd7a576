"""The active environment is verified by default; fixes on a shared env name who can apply
them; ``doctor --report FILE`` writes a report for them. Real conda-format envs (rattler)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import REPO, run_cli
from support.users import SECOND_UID, as_plain_root

from condashare.cli.doctor_report import JSON_MARK


def _doctor(
    *args: str, env: dict[str, str], prefix: list[str] | None = None, cwd: Path | None = None
) -> Any:
    full = dict(env, PYTHONPATH=str(REPO))
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "condashare", "doctor", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def _env_findings(stdout: str) -> list[dict[str, Any]]:
    doc = json.loads(stdout)
    found = [f for c in doc["data"]["checks"] for f in c["findings"]]
    return [f for f in found if f["code"] == "integrity.env-files"]


def test_plain_doctor_verifies_the_active_environment(inst: Path) -> None:
    env = inst / "envs" / "good"
    (env / "share" / "beta" / "f4.txt").unlink()
    quiet = run_cli("doctor", "integrity", "--json")
    assert quiet.returncode == 0 and _env_findings(quiet.stdout) == []  # not active: not seen
    active = run_cli("doctor", "integrity", "--json", env=dict(os.environ, CONDA_PREFIX=str(env)))
    assert active.returncode == 1
    [finding] = _env_findings(active.stdout)
    assert finding["data"]["prefix"] == str(env)
    assert finding["fix"].startswith(f"conda install -p {env} ")  # root can write it: true fix


def _shared_damaged_env(inst: Path) -> Path:
    """envs/good, damaged, as an admin account's env: the user cannot append to its history."""
    env = inst / "envs" / "good"
    (env / "share" / "beta" / "f4.txt").unlink()
    history = env / "conda-meta" / "history"
    history.touch()
    os.chown(history, SECOND_UID, SECOND_UID)
    history.chmod(0o644)
    return env


def test_shared_env_fix_names_who_can_apply_it(inst: Path, sandbox_home: Path) -> None:
    env = _shared_damaged_env(inst)
    user = as_plain_root()  # root without the rights that bypass modes: an ordinary user here
    res = _doctor("integrity", "--json", env=dict(os.environ, CONDA_PREFIX=str(env)), prefix=user)
    assert res.returncode == 1, res.stderr
    [finding] = _env_findings(res.stdout)
    assert not finding["fix"].startswith("conda install")
    assert f"You cannot write {env}" in finding["fix"]
    assert f"owner (uid {SECOND_UID})" in finding["fix"] and "administrators" in finding["fix"]
    assert "condashare doctor --report FILE" in finding["fix"]
    assert finding["data"]["writable"] is False


def test_report_file_is_self_contained_and_never_overwritten(
    inst: Path, sandbox_home: Path, tmp_path: Path
) -> None:
    env = _shared_damaged_env(inst)
    report = tmp_path / "for-admins.txt"
    environ = dict(os.environ, CONDA_PREFIX=str(env))
    res = _doctor("integrity", "--report", str(report), env=environ, prefix=as_plain_root())
    assert res.returncode == 1, res.stderr
    assert f"report written to {report}" in res.stderr
    text = report.read_text()
    head, _, tail = text.partition(JSON_MARK + "\n")
    assert "condashare doctor report" in head and f"active environment: {env}" in head
    assert "f4.txt" in head  # details are in (verbose), not only the titles
    doc = json.loads(tail)
    assert doc["command"] == "doctor" and _env_findings(tail)[0]["data"]["prefix"] == str(env)
    # a second run refuses before doing any work, and the first report is intact
    again = _doctor("integrity", "--report", str(report), env=environ)
    assert again.returncode == 2 and "exists already" in again.stderr
    assert report.read_text() == text
    relative = _doctor("integrity", "--report", "rel.txt", env=environ, cwd=tmp_path)
    assert relative.returncode == 1 and JSON_MARK in (tmp_path / "rel.txt").read_text()
