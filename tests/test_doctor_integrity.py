"""``condashare doctor`` runs the verification engine: quick by default, deep with --deep."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from conftest import run_cli


def replace_keeping_size(path: Path) -> None:
    """Flip one byte through a new inode (the cache's hardlinked copy keeps its bytes)."""
    data = path.read_bytes()
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    os.replace(tmp, path)


def doctor(*args: str) -> tuple[int, dict]:
    res = run_cli("doctor", "integrity", "--json", *args)
    return res.returncode, json.loads(res.stdout)


def findings(doc: dict) -> list[dict]:
    return [f for c in doc["data"]["checks"] for f in c["findings"]]


def test_target_env_quick_then_deep(inst: Path) -> None:
    env = inst / "envs" / "good"
    code, doc = doctor("--target", str(env))
    assert code == 0, doc
    assert "verified (quick)" in findings(doc)[0]["title"]
    (env / "share" / "beta" / "f4.txt").unlink()
    code, doc = doctor("--target", str(env))
    assert code == 1
    (bad,) = [f for f in findings(doc) if f["code"] == "integrity.env-files"]
    assert {"path": "share/beta/f4.txt", "problem": "missing"} in bad["data"]["files"]


def test_verify_and_doctor_report_one_finding_under_one_code(inst: Path) -> None:
    """The doctor names its check but keeps the engine's code and data: one id scheme."""
    env = inst / "envs" / "good"
    (env / "share" / "beta" / "f4.txt").unlink()
    _, doc = doctor("--target", str(env))
    (in_doctor,) = [f for f in findings(doc) if f["code"] == "integrity.env-files"]
    assert in_doctor["check"] == "integrity.files"
    res = run_cli("verify", "--json", str(env))
    (in_verify,) = json.loads(res.stdout)["data"]["findings"]
    assert in_verify["code"] == in_verify["check"] == "integrity.env-files"
    assert in_verify["data"] == in_doctor["data"] and in_verify["title"] == in_doctor["title"]


def test_same_size_corruption_needs_deep(inst: Path) -> None:
    env = inst / "envs" / "good"
    replace_keeping_size(env / "share" / "beta" / "f5.txt")
    code, _ = doctor("--target", str(env))
    assert code == 0  # stat-only: same size, nothing to see
    code, doc = doctor("--target", str(env), "--deep")
    assert code == 1
    (bad,) = [f for f in findings(doc) if f["code"] == "integrity.env-files"]
    assert bad["data"]["files"][0]["path"] == "share/beta/f5.txt"


def test_users_own_envs_by_default(inst: Path, sandbox_home: Path) -> None:
    mine = sandbox_home / ".conda" / "envs" / "mine"
    mine.parent.mkdir(parents=True)
    shutil.copytree(inst / "envs" / "good", mine, symlinks=True)
    (mine / "share" / "beta" / "f4.txt").unlink()
    code, doc = doctor()
    assert code == 1
    prefixes = [
        f["data"].get("prefix") for f in findings(doc) if f["code"] == "integrity.env-files"
    ]
    assert prefixes == [str(mine)]


def test_fix_removes_conda_trash_and_never_nfs_files(inst: Path) -> None:
    env = inst / "envs" / "good"
    trash = env / "share" / "beta" / "f4.txt.c0ffee.conda_trash"
    trash.write_bytes(b"old")
    nfs = env / "share" / "beta" / ".nfs000000000000abcd0003"
    nfs.write_bytes(b"in use")
    dry = run_cli("doctor", "integrity.files", "--target", str(env), "--fix", "--dry-run")
    assert str(trash) in dry.stdout and "remove 1 *.conda_trash leftover" in dry.stdout
    assert trash.exists()
    done = run_cli("doctor", "integrity.files", "--target", str(env), "--fix", "--yes")
    assert "removed 1 of 1 *.conda_trash leftover" in done.stdout, done.stdout
    assert not trash.exists() and nfs.exists()


def test_fix_leaves_a_shared_installation_alone(inst: Path, sandbox_home: Path) -> None:
    from support.doctor_env import make_ctx, site_file

    from condashare.doctor.checks import integrity

    env = inst / "envs" / "good"
    (env / "x.conda_trash").write_bytes(b"old")
    site = site_file(inst.parent, ("linux", str(inst), "linux"))
    ctx = make_ctx(sandbox_home, site, target=str(env))
    found = integrity.check_integrity(ctx)
    assert not any(f.fixable for f in found)  # listed, but inside the shared installation
    assert integrity.fix_conda_trash(ctx, found, True).changed == ()
    assert (env / "x.conda_trash").exists()
