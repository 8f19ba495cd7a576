"""``condashare admin publish`` and ``admin audit`` on real conda-format installations.

The installation is the session's rattler-built tree (tests/support/condatree.py: a base env,
``envs/good`` hardlinked from ``pkgs/``), copied per test. rattler writes package archives and
``conda-meta/*.json`` with mode 0600, as conda keeps a channel file's 0600 mode: the fixture
has the problem the issue describes without any help. Permission cases use a second local uid
(setpriv) to show what users really can and cannot read, and files given to another uid with
``os.chown`` for the owner checks.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FuseShare, run_cli
from support.users import as_second_user, can_read

from condashare.admin.audit import audit, fix
from condashare.admin.tree import walk_tree

BUILD = "hb0f4dca_0"
ARCHIVE = f"alpha-1.0-{BUILD}.conda"


def cli_json(*args: str) -> tuple[int, dict]:
    res = run_cli(*args, "--json")
    assert res.stdout, res.stderr
    return res.returncode, json.loads(res.stdout)


def by_check(doc: dict) -> dict[str, dict]:
    return {f["check"]: f for f in doc["data"]["findings"]}


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under ``root``: type, mode, owner, size, mtime, link target."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames, ""]:
            path = os.path.join(dirpath, name) if name else dirpath
            st = os.lstat(path)
            target = os.readlink(path) if stat.S_ISLNK(st.st_mode) else ""
            out[os.path.relpath(path, root)] = (
                st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, target
            )  # fmt: skip
    return out


def site_toml(tmp_path: Path, prefix: Path, admin: str = "") -> Path:
    path = tmp_path / "site.toml"
    path.write_text(
        f'[[installations]]\nname = "linux"\nprefix = "{prefix}"\nos = "linux"\n{admin}'
    )
    return path


def replace_file(path: Path, data: bytes) -> None:
    """New content through a new inode: the cache's hardlinked copy keeps its bytes."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# --- audit ---------------------------------------------------------------------------------


def test_audit_finds_modes_dry_run_keeps_them_fix_repairs(inst: Path) -> None:
    archive = inst / "pkgs" / ARCHIVE
    archive.chmod(0o600)
    open_dir = inst / "envs" / "good" / "share" / "beta"
    open_dir.chmod(0o777)
    open_file = open_dir / "f3.txt"  # hardlinked with the cache's copy: one inode, two paths
    open_file.chmod(0o666)
    setuid = inst / "envs" / "good" / "bin" / "alpha-config"
    setuid.chmod(0o4755)

    code, doc = cli_json("admin", "audit", str(inst))
    assert code == 1
    found = by_check(doc)
    assert str(archive) in found["admin.archive"]["data"]["paths"]
    assert found["admin.archive"]["severity"] == "error"
    assert {str(open_dir), str(open_file)} <= set(found["admin.world-writable"]["data"]["paths"])
    assert found["admin.setuid"]["data"]["paths"] == [str(setuid)]
    assert found["admin.not-frozen"]["data"]["envs"] == [str(inst / "envs" / "good")]
    # Counts read as words: one of a thing is singular, several plural (no "file(s)").
    assert found["admin.setuid"]["title"] == "1 file with the setuid or setgid bit"
    assert found["admin.not-frozen"]["title"].startswith("1 env without the frozen marker")
    n = found["admin.world-writable"]["data"]["count"]
    assert n > 1 and found["admin.world-writable"]["title"] == (
        f"{n} files or dirs writable by everyone"
    )

    before = snapshot(inst)
    code, doc = cli_json("admin", "audit", str(inst), "--fix", "--dry-run")
    assert code == 1
    assert snapshot(inst) == before  # a dry run changes nothing, not even a timestamp
    plan = {row["path"]: row for row in doc["data"]["plan"]}
    assert (plan[str(archive)]["old_mode"], plan[str(archive)]["new_mode"]) == ("0600", "0644")
    assert plan[str(open_dir)]["new_mode"] == "0755"
    assert plan[str(setuid)]["new_mode"] == "0755"
    (linked,) = [row for row in plan.values() if row["path"].endswith("/share/beta/f3.txt")]
    assert (linked["old_mode"], linked["new_mode"]) == ("0666", "0644")
    assert len(linked["links"]) == 1  # the other path of the inode is named, changed with it
    marker = inst / "envs" / "good" / "conda-meta" / "frozen"
    assert str(marker) in plan and not marker.exists()

    code, doc = cli_json("admin", "audit", str(inst), "--fix")
    assert code == 0, doc["data"]["findings"]
    assert {row["status"] for row in doc["data"]["plan"]} == {"changed"}
    assert (mode(archive), mode(open_dir), mode(open_file), mode(setuid)) == (
        0o644, 0o755, 0o644, 0o755
    )  # fmt: skip
    assert marker.read_bytes() == b"" and mode(marker) == 0o644
    code, doc = cli_json("admin", "audit", str(inst))
    assert code == 0
    assert {f["severity"] for f in doc["data"]["findings"]} <= {"ok", "info"}


@pytest.fixture
def public_inst(inst: Path) -> Iterator[Path]:
    """The installation under a directory every user can enter (pytest's tmp dir is 0700)."""
    top = Path(tempfile.mkdtemp(prefix="condashare-admin-"))
    try:
        top.chmod(0o755)
        dest = top / "inst"
        subprocess.run(["cp", "-a", str(inst), str(dest)], check=True)
        yield dest
    finally:
        shutil.rmtree(top)


def test_second_user_cannot_read_until_fix(public_inst: Path) -> None:
    other = as_second_user()
    archive = public_inst / "pkgs" / ARCHIVE
    record = public_inst / "envs" / "good" / "conda-meta" / f"alpha-1.0-{BUILD}.json"
    assert mode(archive) == 0o600 and mode(record) == 0o600  # as rattler (and conda) left them
    assert can_read(other, str(public_inst / "pkgs" / "urls.txt"))  # the user reaches the tree
    assert not can_read(other, str(archive)) and not can_read(other, str(record))
    code, _ = cli_json("admin", "audit", str(public_inst), "--fix")
    assert code == 0
    assert can_read(other, str(archive)) and can_read(other, str(record))


def test_symlink_leaving_the_tree_reported_and_never_followed(inst: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("not part of the release")
    secret.chmod(0o600)
    outside.chmod(0o777)
    lib = inst / "envs" / "good" / "lib"
    (lib / "escape.txt").symlink_to(secret)
    (lib / "escape-dir").symlink_to(outside)
    (lib / "up.txt").symlink_to("../../../../outside/secret.txt")
    code, doc = cli_json("admin", "audit", str(inst), "--fix")
    assert code == 1  # the symlinks stay a problem: --fix does not touch them
    links = {li["path"]: li["target"] for li in by_check(doc)["admin.symlink-out"]["data"]["links"]}
    assert links == {
        str(lib / "escape.txt"): str(secret),
        str(lib / "escape-dir"): str(outside),
        str(lib / "up.txt"): "../../../../outside/secret.txt",
    }
    assert mode(secret) == 0o600 and mode(outside) == 0o777
    assert all(str(p).startswith(str(inst)) for p in (r["path"] for r in doc["data"]["plan"]))


def test_symlink_planted_after_the_audit_is_not_followed(inst: Path, tmp_path: Path) -> None:
    beta = inst / "envs" / "good" / "share" / "beta"
    beta.chmod(0o777)
    replace_file(beta / "f1.txt", b"beta file 1\n")
    (beta / "f1.txt").chmod(0o666)
    record = inst / "envs" / "good" / "conda-meta" / f"gamma-0.3-{BUILD}.json"
    report = audit(str(inst))
    planned = {c.path for c in report.plan}
    assert {str(beta), str(beta / "f1.txt"), str(record)} <= planned
    # between the audit and the repair, someone who could write there plants symlinks
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "f1.txt").write_text("outside")
    (evil / "f1.txt").chmod(0o666)
    evil.chmod(0o777)
    beta.rename(beta.with_name("beta.moved"))
    beta.symlink_to(evil)
    victim = tmp_path / "victim.json"
    victim.write_text("{}")
    victim.chmod(0o600)
    record.unlink()
    record.symlink_to(victim)

    fix(report)
    outcome = {a.path: a for a in report.applied}
    assert outcome[str(beta)].status == "skipped" and "symlink" in outcome[str(beta)].detail
    assert outcome[str(beta / "f1.txt")].status == "failed"
    assert outcome[str(record)].status == "skipped"
    assert mode(evil) == 0o777 and mode(evil / "f1.txt") == 0o666 and mode(victim) == 0o600
    assert report.exit_code == 1  # what could not be repaired is still a problem


def test_owner_and_write_rules_from_the_site_file(inst: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give files to another uid")
    lib = inst / "envs" / "good" / "lib" / "libbeta.so"
    replace_file(lib, lib.read_bytes())
    os.chown(lib, 54321, 54321)
    shared = inst / "envs" / "good" / "share" / "gamma" / "small.txt"
    replace_file(shared, b"small\n")
    shared.chmod(0o664)  # group root: the default admins' group (the root's group)
    drop = inst / "envs" / "good" / "share" / "beta"
    drop.chmod(0o777)

    code, doc = cli_json("admin", "audit", str(inst))
    assert code == 1
    found = by_check(doc)
    (owner,) = found["admin.owner"]["data"]["owners"]
    assert (owner["uid"], owner["count"], owner["paths"]) == (54321, 1, [str(lib)])
    assert str(shared) in found["admin.group-writable"]["data"]["paths"]
    assert str(drop) in found["admin.world-writable"]["data"]["paths"]

    admin = (
        '[admin]\nowners = [54321]\ngroup_writable = true\nwritable = ["envs/good/share/beta"]\n'
    )
    site = site_toml(tmp_path, inst, admin)
    code, doc = cli_json("admin", "audit", str(inst), "--site", str(site))
    assert code == 1  # the 0600 records and archives are still there
    found = by_check(doc)
    assert "admin.owner" not in found
    assert "admin.world-writable" not in found  # the site lets others write there
    assert str(shared) not in found.get("admin.group-writable", {}).get("data", {}).get("paths", [])
    os.chown(shared, 0, 54321)  # group-writable, but by a group that is not the admins'
    _, doc = cli_json("admin", "audit", str(inst), "--site", str(site))
    assert str(shared) in by_check(doc)["admin.group-writable"]["data"]["paths"]


def test_unreadable_marker_rewritten_with_its_text(inst: Path) -> None:
    marker = inst / "envs" / "good" / "conda-meta" / "frozen"
    marker.write_text("release 4.3 - do not touch\n")
    code, doc = cli_json("admin", "audit", str(inst))
    assert "not JSON" in by_check(doc)["admin.frozen-invalid"]["title"]
    code, doc = cli_json("admin", "audit", str(inst), "--fix")
    assert code == 0
    assert json.loads(marker.read_text()) == {"message": "release 4.3 - do not touch"}


@pytest.mark.parametrize("method", ["fork", "spawn"])  # Linux, macOS
def test_walk_in_tiny_slices_sees_what_one_walk_sees(
    inst: Path, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from condashare.bounded import children

    (inst / "envs" / "good" / "share" / "beta").chmod(0o777)
    whole = walk_tree(str(inst), 10.0)
    monkeypatch.setattr(children, "START_METHOD", method)
    sliced = walk_tree(str(inst), 10.0, slice_entries=3)  # every big dir split across children
    assert whole.complete and sliced.complete
    assert (whole.entries, whole.dirs, whole.files, whole.links) == (
        sliced.entries, sliced.dirs, sliced.files, sliced.links
    )  # fmt: skip
    assert sorted(whole.flagged) == sorted(sliced.flagged)
    assert (
        sorted(e.rel for e in whole.envs) == sorted(e.rel for e in sliced.envs) == ["", "envs/good"]
    )
    assert whole.owners == sliced.owners
    report = audit(str(inst))
    fix(report)  # applied by children started the same way
    assert report.exit_code == 0 and mode(inst / "envs" / "good" / "share" / "beta") == 0o755


def test_audit_of_a_hung_share_ends_unresponsive(any_share: FuseShare, inst: Path) -> None:
    subprocess.run(["cp", "-a", str(inst), str(any_share.backing / "inst")], check=True)
    root = any_share.mount / "inst"
    warm = run_cli("admin", "audit", str(root), "--timeout", "10")
    assert warm.returncode == 1, warm.stderr  # healthy: the 0600 archives (and caches warm)
    any_share.block()
    res = run_cli("admin", "audit", str(root), "--timeout", "2", "--json", timeout=90)
    assert res.returncode == 3, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["data"]["status"] == "unresponsive"
    assert "admin.unresponsive" in by_check(doc)
    assert res.seconds < 2 + 1 + 15  # one slice, the timeout, start-up: not a hang


def test_publish_on_a_failing_share_says_it_in_the_words_of_every_command(
    fuse_share: FuseShare, inst: Path, tmp_path: Path
) -> None:
    """``stale file handle (ESTALE)``, as info, envs and doctor say it, not ``ESTALE: Stale
    file handle``: one vocabulary for a failing share."""
    subprocess.run(["cp", "-a", str(inst), str(fuse_share.backing / "inst")], check=True)
    root = fuse_share.mount / "inst"
    site = site_toml(tmp_path, root)
    fuse_share.fail("ESTALE")
    res = run_cli("admin", "publish", str(root / "envs" / "good"), "--site", str(site),
                  "--dry-run", "--timeout", "10", timeout=90)  # fmt: skip
    assert res.returncode == 3, res.stdout + res.stderr
    assert f"[x] {root}/envs/good: stale file handle (ESTALE)" in res.stdout, res.stdout
    assert "Stale file handle" not in res.stdout


def test_audit_of_a_missing_prefix_is_a_usage_error(tmp_path: Path) -> None:
    res = run_cli("admin", "audit", str(tmp_path / "nope"))
    assert res.returncode == 2 and "does not exist" in res.stderr


# --- publish -------------------------------------------------------------------------------


def test_publish_dry_run_lists_and_changes_nothing(inst: Path, tmp_path: Path) -> None:
    site = site_toml(tmp_path, inst)
    env = inst / "envs" / "good"
    before = snapshot(inst)
    res = run_cli(
        "admin", "publish", str(env), "--site", str(site), "--dry-run", "--message", "isis 4.3"
    )
    assert res.returncode == 1, res.stdout + res.stderr  # changes are pending
    assert snapshot(inst) == before
    assert "write conda-meta/frozen" in res.stdout
    assert "mode 0600 -> 0644" in res.stdout and str(inst / "pkgs" / ARCHIVE) in res.stdout
    assert "users of linux machines will see it as 'good'" in res.stdout
    assert "nothing was changed" in res.stdout


def test_publish_freezes_with_message_and_repairs(inst: Path, tmp_path: Path) -> None:
    site = site_toml(tmp_path, inst)
    env = inst / "envs" / "good"
    before = snapshot(inst)
    code, doc = cli_json("admin", "publish", str(env), "--site", str(site), "--message", "isis 4.3")
    assert code == 0, doc["data"]["findings"]
    data = doc["data"]
    after = snapshot(inst)
    changed = {rel for rel in after if before.get(rel) != after[rel]}
    listed = {
        os.path.relpath(p, inst) for row in data["plan"] for p in (row["path"], *row["links"])
    }
    # exactly what it listed, plus the directory the new marker went into
    assert changed == listed | {"envs/good/conda-meta"}
    assert {row["status"] for row in data["plan"]} == {"changed"}
    assert data["publishable"] is True
    assert data["site_view"]["status"] == "release" and data["site_view"]["name"] == "good"
    assert data["site_view"]["installation"]["name"] == "linux"
    assert data["verify"]["mode"] == "deep" and data["verify"]["problems"] == 0
    marker = env / "conda-meta" / "frozen"
    assert json.loads(marker.read_text()) == {"message": "isis 4.3"}  # CEP 22: {"message": str}
    assert mode(marker) == 0o644
    assert mode(inst / "pkgs" / ARCHIVE) == 0o644  # the installation's cache too
    assert mode(inst / "conda-meta" / f"alpha-1.0-{BUILD}.json") == 0o600  # base: not this env
    code, doc = cli_json("admin", "publish", str(env), "--site", str(site), "--message", "isis 4.3")
    assert code == 0 and doc["data"]["plan"] == []


def test_publish_reports_a_damaged_env(inst: Path, tmp_path: Path) -> None:
    target = inst / "envs" / "good" / "share" / "beta" / "f5.txt"
    data = target.read_bytes()
    replace_file(target, bytes([data[0] ^ 1]) + data[1:])  # same size: only a hash sees it
    code, doc = cli_json(
        "admin", "publish", str(inst / "envs" / "good"), "--site", str(site_toml(tmp_path, inst))
    )
    assert code == 1
    assert doc["data"]["publishable"] is False
    assert doc["data"]["verify"]["problems"] >= 1
    assert "integrity.env-files" in by_check(doc)


def test_publish_refuses_what_is_not_an_env(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    res = run_cli("admin", "publish", str(tmp_path / "plain"))
    assert res.returncode == 2 and "not a conda environment" in res.stderr
    res = run_cli("admin", "publish", str(tmp_path / "missing"))
    assert res.returncode == 2 and "does not exist" in res.stderr
    res = run_cli("admin", "publish", str(tmp_path / "plain"), "--message", " ")
    assert res.returncode == 2 and "--message" in res.stderr


def test_publish_outside_the_site_says_users_will_not_see_it(inst: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    site = site_toml(tmp_path, other)
    code, doc = cli_json("admin", "publish", str(inst / "envs" / "good"), "--site", str(site))
    assert code == 1
    view = by_check(doc)["admin.site-view"]
    assert view["severity"] == "warning" and "none of the installations" in view["title"]


# --- the real conda ------------------------------------------------------------------------


def test_real_conda_refuses_to_remove_a_published_env(inst: Path, tmp_path: Path) -> None:
    from test_conda_plugin import conda_command  # the one way the suite finds a real conda

    conda = conda_command()
    if conda is None:
        pytest.skip(
            "no real conda: set CONDASHARE_TEST_CONDA (e.g. '/path/venv/bin/python -m conda'); "
            "see docs/development.md"
        )
    env = inst / "envs" / "good"
    site = str(site_toml(tmp_path, inst))
    code, _ = cli_json(
        "admin", "publish", str(env), "--site", site, "--message", "isis 4.3: ask the admins"
    )
    assert code == 0
    assert (env / "conda-meta" / "frozen").is_file()
    home = tmp_path / "conda-home"
    home.mkdir()
    proc = subprocess.run(
        [*conda, "remove", "-p", str(env), "--all", "-y"],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, HOME=str(home), CONDA_PKGS_DIRS=str(home / "pkgs")),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "EnvironmentIsFrozenError" in out and "isis 4.3: ask the admins" in out
    assert (env / "conda-meta" / "history").is_file() and (env / "bin" / "alpha-config").exists()


def test_hostile_names_neither_fake_lines_nor_reach_the_terminal(inst: Path) -> None:
    evil = inst / "envs" / "good" / "share" / "x\n[ok] all clean\x1b]0;pwned\x07"
    evil.write_text("")
    evil.chmod(0o666)
    res = run_cli("admin", "audit", str(inst), "--fix", "--dry-run")
    assert res.returncode == 1
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout
    lines = res.stdout.splitlines()
    assert not any(line.lstrip().startswith("[ok] all clean") for line in lines)
    assert any("x\\n[ok] all clean" in line for line in lines)  # shown, escaped, in its line
    _, doc = cli_json("admin", "audit", str(inst))
    assert str(evil) in by_check(doc)["admin.world-writable"]["data"]["paths"]  # JSON: exact
