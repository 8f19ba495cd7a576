"""shared status reports, the shared-home mechanism, and the CLI round trip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, FuseShare, need, run_cli
from support.sharedsite import make_site

from condashare.conda.condarc import compute_effective
from condashare.shared_envs.status import shared_status
from condashare.shared_envs.toggle import shared_off, shared_on


def codes(status: object) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for note in status.notes:  # type: ignore[attr-defined]
        out.setdefault(note.code.removeprefix("shared."), []).append(note.title)
    return out


def test_shadowing_other_os_and_unset_variable_are_reported(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site.home / ".conda" / "envs" / "isis4.3.0" / "conda-meta").mkdir(parents=True)
    (site.home / ".condarc").write_text(
        f"envs_dirs:\n  - {site.linux}/envs\n  - {site.macos}/envs\n  - $NOT_SET_ANYWHERE/e\n"
    )
    st = shared_status(site.setup("linux", conda_root=site.own_linux))
    found = codes(st)
    assert any(str(site.macos) in m and "macos" in m for m in found["other-os-envs"])
    shadow = next(s for s in st.shadows if s.name == "isis4.3.0")
    assert shadow.winner == f"{site.linux}/envs"
    assert f"{site.home}/.conda/envs" in shadow.hidden and f"{site.macos}/envs" in shadow.hidden
    assert any("NOT_SET_ANYWHERE" in m and str(site.cwd) in m for m in found["unset-variable"])
    assert st.problems


def test_what_stays_after_off_with_the_shared_conda(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site.linux / ".condarc").write_text(f"envs_dirs:  #!final\n  - {site.linux}/envs\n")
    (site.home / ".condarc").write_text(f"envs_dirs:\n  - {site.linux}/envs\n")
    setup = site.setup("linux", conda_root=site.linux)
    shared_off(setup)
    assert (site.home / ".condarc").read_text() == "envs_dirs:\n"
    assert (site.linux / ".condarc").read_text().startswith("envs_dirs:  #!final")  # untouched
    stays = codes(shared_status(site.setup("linux", conda_root=site.linux)))["stays-after-off"]
    assert any("conda always appends" in m for m in stays)
    assert any(f"{site.linux}/.condarc marks envs_dirs #!final" in m for m in stays)


def test_shared_home_linux_and_macos_each_see_only_their_own(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    linux = site.setup("linux", conda_root=site.own_linux, shared_home=True)
    mac = site.setup("macos", conda_root=site.own_macos, shared_home=True)
    assert linux.shared_home and mac.shared_home
    shared_on(linux)
    shared_on(mac)
    assert not (site.home / ".condarc").exists()  # nothing OS-specific in the shared home
    for setup, mine, other in ((linux, site.linux, site.macos), (mac, site.macos, site.linux)):
        view = compute_effective(
            site.setup(
                setup.host.os, conda_root=Path(setup.ctx.conda_root or ""), shared_home=True
            ).ctx
        )
        envs = view.paths("envs_dirs")
        assert f"{mine}/envs" in envs
        assert not [p for p in envs if p.startswith(str(other))]
        assert codes(shared_status(setup)).get("other-os-envs") is None
    # off on Linux, then on on the Mac: the Linux memory waits for the Linux host
    linux_rc = site.own_linux / ".condarc"
    with_shared = linux_rc.read_bytes()
    shared_off(site.setup("linux", conda_root=site.own_linux, shared_home=True))
    assert not linux_rc.exists()  # `on` created it: `off` right after gives the absence back
    hidden_root = site.own_linux.rename(site.root / "elsewhere")  # not on the Mac
    mac_on = shared_on(site.setup("macos", conda_root=site.own_macos, shared_home=True))
    assert any("not on this machine" in n for n in mac_on.notes)
    hidden_root.rename(site.own_linux)
    shared_on(site.setup("linux", conda_root=site.own_linux, shared_home=True))
    assert linux_rc.read_bytes() == with_shared


def test_shared_home_users_of_the_shared_conda(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    shared_on(site.setup("linux", conda_root=site.linux, shared_home=True), pkgs=True)
    text = (site.home / ".condarc").read_text()
    assert text == "pkgs_dirs:\n  - ~/.conda/pkgs\n  - $CONDA_ROOT/pkgs\n"
    for os_name, root, other in (
        ("linux", site.linux, site.macos),
        ("macos", site.macos, site.linux),
    ):
        view = compute_effective(site.setup(os_name, conda_root=root, shared_home=True).ctx)
        assert view.paths("pkgs_dirs") == [f"{site.home}/.conda/pkgs", f"{root}/pkgs"]
        assert f"{root}/envs" in view.paths("envs_dirs")
        assert not [
            p for p in view.paths("envs_dirs") + view.paths("pkgs_dirs") if p.startswith(str(other))
        ]


def test_readonly_shared_pkgs_first_on_a_real_readonly_filesystem(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    env = site.env(
        CONDA_EXE=f"{site.linux}/bin/conda", XDG_STATE_HOME=str(site.state), PYTHONPATH=str(REPO)
    )
    cmd = [sys.executable, "-m", "condashare", "shared", "status", "--json"]
    if os.geteuid() != 0:
        (site.linux / "pkgs" / "urls.txt").chmod(0o444)
    else:  # root writes anything: make the cache a read-only bind mount in a private namespace
        need(shutil.which("unshare") is not None, "unshare (util-linux) is missing")
        pkgs = site.linux / "pkgs"
        script = f'mount --bind "{pkgs}" "{pkgs}" && mount -o remount,ro,bind "{pkgs}" && exec "$@"'
        cmd = ["unshare", "-m", "sh", "-c", script, "sh", *cmd]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=site.cwd)
    need("Operation not permitted" not in proc.stderr, f"cannot bind-mount: {proc.stderr}")
    doc = json.loads(proc.stdout)
    assert doc["command"] == "shared status" and doc["schema_version"] == 1
    pkgs_dirs = doc["data"]["pkgs_dirs"]
    assert [p["entry"]["path"] for p in pkgs_dirs] == [
        f"{site.linux}/pkgs",
        f"{site.home}/.conda/pkgs",
    ]
    assert pkgs_dirs[0]["writable"] is False and pkgs_dirs[0]["entry"]["shared"] is True
    notes = {n["code"] for n in doc["data"]["notes"]}
    assert "shared.readonly-shared-pkgs-first" in notes


def test_cli_on_off_round_trip_and_invalid_yaml(tmp_path: Path, sandbox_home: Path) -> None:
    site = make_site(tmp_path)
    rc = sandbox_home / ".condarc"
    original = "# keep me\nenvs_dirs:\n  - ~/a   # mine\n"
    rc.write_text(original)
    env = {
        **os.environ,
        "CONDASHARE_SITE": str(site.site_file),
        "CONDA_EXE": f"{site.own_linux}/bin/conda",
        "CONDASHARE_PLATFORM": "linux-x86_64",
    }
    on = run_cli("shared", "on", env=env)
    assert on.returncode == 0, on.stderr
    with_shared = rc.read_text()
    assert with_shared.startswith(original) and f"{site.linux}/envs" in with_shared
    dry = run_cli("shared", "off", "--dry-run", env=env)
    assert f"-  - {site.linux}/envs" in dry.stdout and rc.read_text() == with_shared
    assert run_cli("shared", "off", env=env).returncode == 0
    assert f"{site.linux}" not in rc.read_text()
    assert run_cli("shared", "on", env=env).returncode == 0
    assert rc.read_text() == with_shared
    rc.write_text("envs_dirs:\n  - /a\n - /b\n")
    bad = run_cli("shared", "off", env=env)
    assert bad.returncode == 2
    assert f"{rc}:3" in bad.stderr and "nothing was written" in bad.stderr
    assert rc.read_text() == "envs_dirs:\n  - /a\n - /b\n"
    status = run_cli("shared", "status", env=env)
    assert f"{rc}:3: conda stops on this file: not valid YAML" in status.stdout
    assert status.returncode == 1, status.stdout
    # a scanner error (a tab): conda skips the whole file with a warning, so its envs_dirs and
    # the shared envs vanish from conda: a problem too (exit 1), not a shrug
    rc.write_text(f"envs_dirs:\n\t- {site.linux}/envs\n")
    status = run_cli("shared", "status", env=env)
    assert f"{rc}:2: conda ignores this file with a warning, so none of its settings apply" in (
        status.stdout
    )
    assert status.returncode == 1, status.stdout


@pytest.mark.fuse
def test_status_with_a_dead_share_answers_quickly(
    fuse_share: FuseShare, tmp_path: Path, sandbox_home: Path
) -> None:
    inst = fuse_share.backing / "anaconda3_linux"
    (inst / "envs" / "isis4.3.0" / "conda-meta").mkdir(parents=True)
    (inst / "pkgs").mkdir()
    (inst / ".condarc").write_text("channels: [internal]\n")
    prefix = fuse_share.mount / "anaconda3_linux"
    site_file = tmp_path / "site.toml"
    site_file.write_text(
        f'[site]\nprobe_timeout = 1\n[[installations]]\nname = "linux"\n'
        f'prefix = "{prefix}"\nos = "linux"\n'
    )
    (sandbox_home / ".condarc").write_text(f"envs_dirs: [{prefix}/envs]\n")
    env = {
        **os.environ,
        "CONDASHARE_SITE": str(site_file),
        "CONDASHARE_PLATFORM": "linux-x86_64",
        "CONDA_EXE": f"{prefix}/bin/conda",
    }
    healthy = json.loads(run_cli("shared", "status", "--json", env=env).stdout)
    assert f"{prefix}/.condarc" in [f["path"] for f in healthy["data"]["files"]]
    fuse_share.block()
    start = time.monotonic()
    res = run_cli("shared", "status", "--json", env=env, timeout=60)
    elapsed = time.monotonic() - start
    doc = json.loads(res.stdout)
    assert res.returncode == 1
    assert any(n["code"] == "shared.condarc-unresponsive" for n in doc["data"]["notes"])
    assert doc["data"]["envs_dirs"][0]["path"] == f"{prefix}/envs"
    assert elapsed < 20  # one 1 s probe per dead mount, then the mount is skipped


def test_network_home_own_dirs_are_yours_and_a_missing_one_is_not_unreadable(
    tmp_path: Path,
) -> None:
    """A home on NFS: ``~/.conda/envs`` is the user's own dir, not a shared one, and one that
    was never created is not reported as a dir that cannot be read."""
    site = make_site(tmp_path)
    (site.home / ".condarc").write_text(f"envs_dirs:\n  - {site.linux}/envs\n")
    st = shared_status(site.setup("linux", conda_root=site.own_linux, shared_home=True))
    own = next(e for e in st.envs_dirs if e.path == f"{site.home}/.conda/envs")
    assert own.shared is False and own.shared_reason == ""
    assert [e.path for e in st.envs_dirs if e.shared] == [f"{site.linux}/envs"]
    assert "envs-dir-unreachable" not in codes(st)
    assert not st.problems


def test_a_control_character_in_condarc_is_named_with_its_line(
    tmp_path: Path, sandbox_home: Path
) -> None:
    """YAML refuses raw control characters (an ESC pasted from a coloured terminal): the user
    is told the line and the character, not ``.condarc:None:`` and the parser's own layout."""
    site = make_site(tmp_path)
    rc = sandbox_home / ".condarc"
    rc.write_text(f"envs_dirs:\n  - {site.linux}/envs\n  - /tmp/evil\x1b]0;T\x07\n")
    env = {**os.environ, "CONDASHARE_SITE": str(site.site_file)}
    for args in (("shared", "status"), ("doctor", "condarc")):
        res = run_cli(*args, env=env)
        shown = res.stdout + res.stderr
        assert res.returncode == 1, shown
        assert "None" not in shown and "<unicode string>" not in shown, shown
        assert "character U+001B is not allowed" in shown, shown
        assert "\x1b" not in shown.replace("\x1b[", ""), shown  # (no colours without a tty)
    status = run_cli("shared", "status", env=env).stdout
    assert f"{rc}:3: conda ignores this file" in status, status


def test_on_with_a_dead_share_writes_the_entry_and_says_conda_will_wait(
    fuse_share: FuseShare, tmp_path: Path, sandbox_home: Path
) -> None:
    """``on`` is string work and succeeds with the server down, but a bare [ok] would send the
    user to a `conda activate` that hangs: the share's state is said next to it."""
    inst = fuse_share.backing / "anaconda3_linux"
    (inst / "envs" / "isis4.3.0" / "conda-meta").mkdir(parents=True)
    (inst / "etc" / "profile.d").mkdir(parents=True)
    (inst / "etc" / "profile.d" / "conda.sh").write_text("conda() { :; }\n")
    prefix = fuse_share.mount / "anaconda3_linux"
    site_file = tmp_path / "site.toml"
    site_file.write_text(
        f'[site]\nprobe_timeout = 2\n[[installations]]\nname = "linux"\n'
        f'prefix = "{prefix}"\nos = "linux"\n'
    )
    env = {**os.environ, "CONDASHARE_SITE": str(site_file), "CONDASHARE_PLATFORM": "linux-x86_64"}
    healthy = run_cli("shared", "on", "--dry-run", env=env)
    assert healthy.returncode == 0 and "[!]" not in healthy.stdout, healthy.stdout
    for trigger, words in (("", "unresponsive"), ("ESTALE", "failing: stale file handle")):
        fuse_share.trigger.write_text(trigger)  # server down, then an export changed under it
        res = run_cli("shared", "on", "--dry-run", env=env, timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
        (warning,) = [line for line in res.stdout.splitlines() if line.startswith("[!]")]
        assert f"{prefix}: {words}" in warning and "conda will wait" in warning, warning
        fuse_share.heal()
    fuse_share.fail("EIO")
    res = run_cli("shared", "on", "--json", env=env, timeout=60)
    doc = json.loads(res.stdout)
    assert res.returncode == 0 and doc["data"]["applied"] is True
    assert f"{prefix}/envs" in (sandbox_home / ".condarc").read_text()
    assert "I/O error (EIO)" in doc["data"]["warnings"][0]


def test_on_then_off_says_which_way_the_file_goes(tmp_path: Path, sandbox_home: Path) -> None:
    """``off`` right after ``on`` and ``on`` after ``off`` both restore a file: the line says
    whether the shared entries leave or come back, not a bare "restore: FILE: ENTRIES"."""
    site = make_site(tmp_path)
    rc = sandbox_home / ".condarc"
    rc.write_text(f"envs_dirs:\n  - {site.linux}/envs\n")
    env = {**os.environ, "CONDASHARE_SITE": str(site.site_file)}
    off = run_cli("shared", "off", env=env)
    assert f"[ok] remove: {rc}: {site.linux}/envs" in off.stdout, off.stdout
    on = run_cli("shared", "on", env=env)
    assert f"[ok] restore: {rc}: as before `shared off`, with {site.linux}/envs" in on.stdout
    assert rc.read_text() == f"envs_dirs:\n  - {site.linux}/envs\n"
    rc.unlink()
    assert run_cli("shared", "on", env=env).returncode == 0
    off = run_cli("shared", "off", env=env)
    assert f"[ok] restore: {rc}: as before `shared on`, without " in off.stdout, off.stdout
    assert not rc.exists()  # the file `on` created is gone again
