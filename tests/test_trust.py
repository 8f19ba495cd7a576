"""Who can change what every shell runs: real modes, a real second user, a real FUSE share.

Each verdict is checked against what another local user can really do (``setpriv``): where the
doctor says "everyone can change it" the second user replaces the file; where it says only the
admins can, the second user's attempt fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FuseShare, need, run_cli
from support.doctor_env import make_ctx, make_install, site_file
from support.users import SECOND_UID, SYSTEM_PYTHON, as_second_user

from condashare.doctor.checks import trust as trust_check
from condashare.doctor.model import Severity
from condashare.host.mounts import read_mount_table
from condashare.site.file import SiteCandidate, load_site
from condashare.site.trust import examine_site


@pytest.fixture
def public() -> Iterator[Path]:
    """A directory every user can enter (pytest's tmp dir is 0700), owned by root in /tmp."""
    top = Path(tempfile.mkdtemp(prefix="condashare-trust-"))
    try:
        top.chmod(0o755)
        yield top
    finally:
        shutil.rmtree(top)


def _site(top: Path, prefix: Path) -> Path:
    path = site_file(top, ("linux", str(prefix), "linux"))
    path.chmod(0o644)
    return path


def _doctor(site: Path, home: Path) -> tuple[int, list[dict[str, Any]]]:
    env = dict(os.environ, HOME=str(home))
    res = run_cli("doctor", "permissions", "--site", str(site), "--json", env=env)
    doc = json.loads(res.stdout)
    found = [f for c in doc["data"]["checks"] for f in c["findings"]]
    return res.returncode, [f for f in found if f["severity"] in ("warning", "error")]


def _replace_as_other(directory: Path, name: str) -> subprocess.CompletedProcess[str]:
    """The second user swaps ``directory/name`` for a directory of their own."""
    code = (
        "import os, sys; d, n = sys.argv[1:3]; "
        "os.rename(os.path.join(d, n), os.path.join(d, n + '.old')); "
        "os.mkdir(os.path.join(d, n))"
    )
    return subprocess.run(
        [*as_second_user(), SYSTEM_PYTHON, "-I", "-c", code, str(directory), name],
        capture_output=True,
        text=True,
    )


def test_clean_site_is_trusted(public: Path, sandbox_home: Path) -> None:
    prefix = make_install(public / "share" / "inst")
    code, problems = _doctor(_site(public, prefix), sandbox_home)
    assert problems == [] and code == 0


def test_world_writable_site_file_is_an_error(public: Path, sandbox_home: Path) -> None:
    prefix = make_install(public / "share" / "inst")
    site = _site(public, prefix)
    site.chmod(0o666)
    code, problems = _doctor(site, sandbox_home)
    assert code == 1
    [finding] = problems
    assert finding["severity"] == "error" and finding["check"] == "permissions.trust"
    assert "everyone can change" in finding["title"] and str(site) in finding["title"]
    assert f"chmod o-w {site}" in finding["fix"]


def test_world_writable_parent_of_prefix_is_an_error_and_real(
    public: Path, sandbox_home: Path
) -> None:
    share = public / "share"
    prefix = make_install(share / "inst")
    share.chmod(0o777)
    code, problems = _doctor(_site(public, prefix), sandbox_home)
    assert code == 1
    [finding] = problems  # one cause, however many scripts lie below it
    assert finding["severity"] == "error"
    assert f"{share} is world-writable (mode 0777)" in finding["title"]
    assert str(prefix / "etc/profile.d/conda.sh") in finding["detail"]
    # and it is true: another user can swap the whole installation
    assert _replace_as_other(share, "inst").returncode == 0
    assert (share / "inst").stat().st_uid == SECOND_UID


def test_sticky_world_writable_parent_protects_the_prefix(public: Path, sandbox_home: Path) -> None:
    share = public / "share"
    prefix = make_install(share / "inst")
    share.chmod(0o1777)
    code, problems = _doctor(_site(public, prefix), sandbox_home)
    assert problems == [] and code == 0
    # the kernel agrees: the second user cannot move root's installation away
    proc = _replace_as_other(share, "inst")
    assert proc.returncode != 0 and "PermissionError" in proc.stderr


def test_world_writable_conda_sh(public: Path, sandbox_home: Path) -> None:
    prefix = make_install(public / "share" / "inst")
    script = prefix / "etc/profile.d/conda.sh"
    script.chmod(0o666)
    code, problems = _doctor(_site(public, prefix), sandbox_home)
    assert code == 1
    [finding] = [f for f in problems if f["check"] == "permissions.trust"]
    assert finding["title"].endswith(f"{script} is world-writable (mode 0666)")


def test_directory_owned_by_another_user_is_a_warning(public: Path, sandbox_home: Path) -> None:
    share = public / "share"
    prefix = make_install(share / "inst")
    os.chown(share, SECOND_UID, SECOND_UID)  # mode 0755: only its owner can write it
    _ = as_second_user()  # needs root and setpriv
    code, problems = _doctor(_site(public, prefix), sandbox_home)
    assert code == 1
    [finding] = problems
    assert finding["severity"] == "warning"
    assert finding["title"].startswith("user ") and f"owns {share}" in finding["title"]
    assert finding["data"]["writer"]["path"] == str(share)
    assert _replace_as_other(share, "inst").returncode == 0  # true: the owner can swap it


def test_symlinked_prefix_is_judged_by_its_target(public: Path, sandbox_home: Path) -> None:
    real = public / "real"
    make_install(real / "inst")
    real.chmod(0o777)
    link = public / "cpkgs"
    link.symlink_to(real / "inst")
    code, problems = _doctor(_site(public, link), sandbox_home)
    assert code == 1
    assert any(f"{real} is world-writable" in f["title"] for f in problems)


def test_admin_group_named_in_the_site_file_may_write(public: Path, sandbox_home: Path) -> None:
    share = public / "share"
    prefix = make_install(share / "inst")
    os.chown(share, 0, SECOND_UID)
    share.chmod(0o775)
    site = _site(public, prefix)
    code, problems = _doctor(site, sandbox_home)
    assert code == 1 and "group-writable" in problems[0]["title"]
    site.write_text(site.read_text() + f"[admin]\ngroup = {SECOND_UID}\n")
    code, problems = _doctor(site, sandbox_home)
    assert problems == [] and code == 0


def _init(site: Path, home: Path, *extra: str) -> Any:
    env = dict(os.environ, HOME=str(home), SHELL="/bin/bash")
    return run_cli("init", "--shell", "bash", "--site", str(site), *extra, env=env)


def test_init_warns_and_require_trusted_refuses(public: Path, sandbox_home: Path) -> None:
    prefix = make_install(public / "share" / "inst")
    site = _site(public, prefix)
    clean = _init(site, sandbox_home, "--dry-run")
    assert clean.returncode == 0 and "can change" not in clean.stdout + clean.stderr
    (prefix / "etc/profile.d/conda.sh").chmod(0o666)
    warned = _init(site, sandbox_home, "--dry-run")
    assert warned.returncode == 0
    lines = warned.stdout.splitlines()
    at = lines.index("[!] everyone can change what the block sources: conda.sh of linux")
    assert lines[at + 1] == f"    {prefix}/etc/profile.d/conda.sh is world-writable (mode 0666)"
    assert at < lines.index("Shells: bash")  # said before the plan, not after the diffs
    refused = _init(site, sandbox_home, "--require-trusted")
    assert refused.returncode == 2 and "refusing" in refused.stderr
    assert not (sandbox_home / ".bashrc").exists()  # nothing was written
    written = _init(site, sandbox_home)
    assert written.returncode == 0 and (sandbox_home / ".bashrc").exists()


def test_init_system_vets_the_sources_the_same_way(public: Path, tmp_path: Path) -> None:
    """``admin init-system`` shares init's flow: the warning comes before the plan, and
    --require-trusted refuses before any system file is written."""
    prefix = make_install(public / "share" / "inst")
    site = _site(public, prefix)
    (prefix / "etc/profile.d/conda.sh").chmod(0o666)
    root = tmp_path / "sysroot"
    root.mkdir()
    args = ("admin", "init-system", "--root", str(root), "--site", str(site), "--shell", "bash")
    warned = run_cli(*args, "--dry-run")
    assert warned.returncode == 0, warned.stderr
    lines = warned.stdout.splitlines()
    at = lines.index("[!] everyone can change what the block sources: conda.sh of linux")
    assert at < lines.index("Shells: bash")
    refused = run_cli(*args, "--require-trusted")
    assert refused.returncode == 2 and "refusing" in refused.stderr
    assert not (root / "etc").exists()  # nothing was written


def test_chain_on_a_share_is_walked_in_a_child(fuse_share: FuseShare, tmp_path: Path) -> None:
    share = fuse_share.backing / "cpkgs"
    make_install(share / "inst")
    share.chmod(0o777)
    site = site_file(tmp_path, ("linux", str(fuse_share.mount / "cpkgs" / "inst"), "linux"))
    found = trust_check.check_trust(make_ctx(tmp_path / "home", site))
    [finding] = [f for f in found if f.severity.is_problem]
    assert finding.severity == Severity.ERROR
    assert f"{fuse_share.mount / 'cpkgs'} is world-writable" in finding.title


def test_dead_share_gives_unknown_within_the_timeout(
    any_share: FuseShare, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    make_install(any_share.backing / "inst")
    prefix = any_share.mount / "inst"
    site_path = site_file(tmp_path, ("linux", str(prefix), "linux"), timeout=1.0)
    site = load_site(SiteCandidate(str(site_path), "--site"))
    assert all(v.status == "trusted" for v in examine_site(site, "linux", read_mount_table(), 1))
    any_share.block()
    start = time.monotonic()
    verdicts = examine_site(site, "linux", read_mount_table(), 1.0)
    assert time.monotonic() - start < 1.0 + 5
    unknown = [v for v in verdicts if v.status == "unknown"]
    assert all(v.unresponsive for v in unknown)
    assert {v.status for v in verdicts} <= {"trusted", "unknown"}
    if request.node.callspec.params["any_share"] == "uncached":
        assert unknown  # a client cache may answer the lookups for a while: then it can tell
    assert {v.role for v in verdicts} >= {"site file", "conda.sh of linux"}
    assert next(v for v in verdicts if v.role == "site file").status == "trusted"


def test_require_trusted_refuses_when_the_share_does_not_answer(
    fuse_share: FuseShare, tmp_path: Path, sandbox_home: Path
) -> None:
    make_install(fuse_share.backing / "inst")
    site = site_file(tmp_path, ("linux", str(fuse_share.mount / "inst"), "linux"), timeout=1.0)
    fuse_share.block()
    start = time.monotonic()
    res = _init(site, sandbox_home, "--require-trusted")
    assert time.monotonic() - start < 1.0 + 15  # the probe timeout, plus a loaded machine
    assert res.returncode == 2 and "refusing" in res.stderr
    assert "cannot tell who can change" in res.stdout and "did not answer" in res.stdout
    assert not (sandbox_home / ".bashrc").exists()


def test_an_acl_granting_write_is_reported(public: Path, sandbox_home: Path) -> None:
    """An ACL entry needs the mask to grant write, and the mask is what the group bits show."""
    setfacl = shutil.which("setfacl")
    need(setfacl is not None, "setfacl is missing (apt-get install acl)")
    prefix = make_install(public / "share" / "inst")
    script = prefix / "etc/profile.d/conda.sh"
    assert script.stat().st_mode & 0o777 == 0o644
    subprocess.run([str(setfacl), "-m", f"u:{SECOND_UID}:rw", str(script)], check=True)
    code, problems = _doctor(_site(public, prefix), sandbox_home)
    assert code == 1
    [finding] = [f for f in problems if f["check"] == "permissions.trust"]
    assert f"{script} is group-writable" in finding["title"]
    # and it is true: the second user, neither owner nor in the group, can change it
    append = "import sys; open(sys.argv[1], 'a').write('# planted\\n')"
    proc = subprocess.run([*as_second_user(), SYSTEM_PYTHON, "-I", "-c", append, str(script)])
    assert proc.returncode == 0 and script.read_text().endswith("# planted\n")
