"""The verification engine and ``condashare verify`` against real conda-format trees.

The tree (tests/support/condatree.py) is built once per session with py-rattler-build and
py-rattler in a subprocess: a channel of three packages (one with a prefix-placeholder file, one
with a symlink, one with a 17 MiB file), an installation root with a base env, ``envs/good`` and
the package cache. rattler's cache lacks conda's markers, so the builder writes ``urls.txt``,
``info/repodata_record.json`` and the archives itself (conda-facts §6). Each test works on its
own ``cp -a`` copy (hardlinks between env and cache kept) and damages it the ways NFS does.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from condashare.bounded import children
from condashare.findings import Finding, Severity
from condashare.host.mounts import parse_mountinfo
from condashare.verify import api, protocol
from condashare.verify.api import (
    NETWORK_JOBS,
    VerifyReport,
    default_jobs,
    integrity_findings,
    verify,
)
from condashare.verify.collect import Collector
from condashare.verify.hashcache import open_hash_cache
from tests.conftest import REPO, need, run_cli

BUILD = "hb0f4dca_0"  # rattler-build's hash for these recipes (no variants): stable


def dist_name(name: str) -> str:
    return {
        "alpha": f"alpha-1.0-{BUILD}",
        "beta": f"beta-2.1-{BUILD}",
        "gamma": f"gamma-0.3-{BUILD}",
    }[name]


def replace_file(path: Path, data: bytes) -> None:
    """Give ``path`` new content through a new inode (write + rename), as an NFS client
    replacing a file would: the hardlinked cache copy keeps its old bytes."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def flip_byte(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def damage_env(env: Path) -> None:
    """Missing, truncated, emptied, dangling and same-size-altered files in two packages."""
    f3 = env / "share" / "beta" / "f3.txt"
    replace_file(f3, flip_byte(f3.read_bytes()))  # same size: only deep mode can see it
    lib = env / "lib" / "libbeta.so"
    replace_file(lib, lib.read_bytes()[:1000])  # truncated
    (env / "share" / "beta" / "f5.txt").unlink()  # deleted
    replace_file(env / "share" / "alpha" / "data.bin", b"")  # zero length
    (env / "lib" / "alpha.txt").unlink()  # and lib/alpha-link.txt now dangles


def findings_of(report: VerifyReport, check: str) -> list[Finding]:
    return [f for f in report.findings if f.check == check]


def problems(finding: Finding) -> dict[str, str]:
    return {p["path"]: p["problem"] for p in finding.data["files"]}


# --- clean trees ---------------------------------------------------------------------------


def test_clean_installation_is_clean_in_quick_and_deep_mode(inst: Path) -> None:
    env = inst / "envs" / "good"
    placeholder = env / "bin" / "alpha-config"
    packaged = inst / "pkgs" / dist_name("alpha") / "bin" / "alpha-config"
    # the fixture really has a prefix-rewritten file whose installed bytes differ from the package
    assert placeholder.read_bytes() != packaged.read_bytes()
    assert str(env).encode() not in placeholder.read_bytes()  # holds the prefix it was built for
    for deep in (False, True):
        report = verify([inst], deep=deep)
        assert report.findings == [], [f.title for f in report.findings]
        assert report.exit_code == 0
        assert report.targets[0].kind == "root"
        assert report.stats.records == 4 and report.stats.cache_entries == 3
        assert report.stats.files > 70
    assert report.stats.bytes_hashed + report.stats.cache_hits > 0


def test_a_library_call_leaves_the_callers_garbage_collector_as_it_was(inst: Path) -> None:
    """The engine pauses the cyclic collector while it runs; a program that calls verify()
    (the doctor, a site's script) gets its own setting back, on or off, even after damage."""
    import gc

    was = gc.isenabled()
    try:
        for setting in (True, False):
            (gc.enable if setting else gc.disable)()
            report = verify([inst], deep=True, use_cache=False)
            assert report.exit_code == 0
            assert gc.isenabled() is setting
    finally:
        (gc.enable if was else gc.disable)()


def test_quick_cli_loads_neither_hashing_nor_share_probes(inst: Path) -> None:
    """Start-up is most of a quick run: it must not import what only deep runs (hashlib,
    which loads OpenSSL) or other commands (the liveness probes) need."""
    code = (
        "import contextlib, io, sys\n"
        "from condashare.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['verify', '--quick', '--no-cache', {str(inst)!r}])\n"
        "heavy = ('hashlib', 'condashare.bounded.liveness', 'condashare.bounded.paths')\n"
        "print(rc, [m for m in heavy if m in sys.modules])\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.stdout.split() == ["0", "[]"], out.stdout + out.stderr


def test_cli_classifies_env_cache_and_installation_and_refuses_other_paths(
    inst: Path, tmp_path: Path
) -> None:
    res = run_cli("verify", str(inst / "envs" / "good"), str(inst / "pkgs"), str(inst))
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{inst / 'envs' / 'good'}: environment" in res.stdout
    assert f"{inst / 'pkgs'}: package cache" in res.stdout
    assert f"{inst}: installation (2 envs, 1 package cache)" in res.stdout
    assert res.stderr == ""  # progress only on a terminal
    plain = tmp_path / "plain"
    plain.mkdir()
    res = run_cli("verify", str(inst / "envs" / "good"), str(plain))
    assert res.returncode == 2
    assert "not a conda environment" in res.stderr
    assert f"{plain}: not verified - not a conda environment" in res.stdout
    assert "1 of 2 PATHs not verified" in res.stdout
    assert "no problems found in the other PATHs" in res.stdout
    res = run_cli("verify", str(plain))  # e.g. `verify /tmp`: nothing was checked at all
    assert res.returncode == 2
    assert "no problems found" not in res.stdout
    assert "[x] 1 of 1 PATH not verified" in res.stdout
    res = run_cli("verify", str(tmp_path / "does-not-exist"))
    assert res.returncode == 2
    assert "No such file" in res.stderr
    assert run_cli("verify", "--jobs", "0", str(inst)).returncode == 2


# --- environments --------------------------------------------------------------------------


def test_env_damage_is_reported_per_package_with_expected_found_and_fix(inst: Path) -> None:
    env = inst / "envs" / "good"
    damage_env(env)
    config = env / "bin" / "alpha-config"  # the prefix-rewritten copy
    replace_file(config, flip_byte(config.read_bytes(), 3))

    quick = verify([env])
    assert quick.exit_code == 1
    by_pkg = {f.data["package"]: f for f in findings_of(quick, "integrity.env-files")}
    assert set(by_pkg) == {dist_name("alpha"), dist_name("beta")}
    beta = by_pkg[dist_name("beta")]
    assert problems(beta) == {"lib/libbeta.so": "size", "share/beta/f5.txt": "missing"}
    size = next(p for p in beta.data["files"] if p["problem"] == "size")
    assert (size["expected"], size["found"]) == (65536, 1000)
    assert beta.fix == f"conda install -p {env} --force-reinstall beta=2.1={BUILD}"
    assert beta.severity is Severity.ERROR
    alpha = by_pkg[dist_name("alpha")]
    assert problems(alpha) == {
        "share/alpha/data.bin": "size",
        "lib/alpha.txt": "missing",
        "lib/alpha-link.txt": "broken-symlink",
    }
    assert "zero length" in alpha.detail

    deep = verify([env], deep=True)
    by_pkg = {f.data["package"]: f for f in findings_of(deep, "integrity.env-files")}
    assert problems(by_pkg[dist_name("beta")])["share/beta/f3.txt"] == "hash"
    assert problems(by_pkg[dist_name("alpha")])["bin/alpha-config"] == "hash"
    altered = next(
        p for p in by_pkg[dist_name("beta")].data["files"] if p["path"].endswith("f3.txt")
    )
    assert altered["expected"] != altered["found"] and len(altered["found"]) == 64
    assert dist_name("gamma") not in by_pkg  # untouched package, big file hashed as own task


def test_in_place_damage_of_the_cache_reaches_every_hardlinked_env(inst: Path) -> None:
    cached = inst / "pkgs" / dist_name("beta") / "share" / "beta" / "f1.txt"
    assert cached.stat().st_nlink > 1
    with open(cached, "r+b") as fh:  # NFS rewriting the shared inode in place
        first = fh.read(1)
        fh.seek(0)
        fh.write(bytes([first[0] ^ 0x20]))
    report = verify([inst], deep=True)
    cache = findings_of(report, "integrity.cache-files")
    assert [f.data["package"] for f in cache] == [dist_name("beta")]
    assert cache[0].fix.startswith(f"rm -rf {inst / 'pkgs' / dist_name('beta')}")
    env = [
        f
        for f in findings_of(report, "integrity.env-files")
        if f.data["prefix"] == str(inst / "envs" / "good")
    ]
    assert len(env) == 1 and "hardlinked" in env[0].detail
    assert env[0].fix.startswith("rm -rf ")  # the cache copy must go before reinstalling


def test_a_deep_run_hashes_each_inode_once_across_envs_and_the_cache(inst: Path) -> None:
    """A file hardlinked into several envs and the cache is read once ("MiB hashed" counts
    each inode once, plus the archives); damage of the shared inode still reaches every env
    that links it, and a damaged env-only copy only that env."""
    shutil.copytree(inst / "envs" / "good", inst / "envs" / "again", copy_function=os.link)
    # the second env: the same packages linked again from the cache, as a release env is
    inodes: dict[tuple[int, int], int] = {}
    for env in (inst, inst / "envs" / "good", inst / "envs" / "again"):
        for rec in (env / "conda-meta").glob("*.json"):
            for entry in json.loads(rec.read_text())["paths_data"]["paths"]:
                path = env / entry["_path"]
                if entry.get("path_type", "hardlink") == "hardlink":
                    st = path.stat()
                    inodes[(st.st_dev, st.st_ino)] = st.st_size
    for paths_json in (inst / "pkgs").glob("*/info/paths.json"):
        for entry in json.loads(paths_json.read_text())["paths"]:
            if entry.get("path_type", "hardlink") == "hardlink":
                st = (paths_json.parent.parent / entry["_path"]).stat()
                inodes[(st.st_dev, st.st_ino)] = st.st_size
    archives = sum(p.stat().st_size for p in (inst / "pkgs").glob("*.conda"))
    report = verify([inst], deep=True, use_cache=False)
    assert report.findings == [], [f.title for f in report.findings]
    assert report.stats.bytes_hashed == sum(inodes.values()) + archives
    # one env given twice over (two targets): still each inode once
    envs = [inst / "envs" / "good", inst / "envs" / "again"]
    report = verify(envs, deep=True, use_cache=False)
    linked = {k: v for k, v in inodes.items() if k in _inodes_of(envs)}
    assert report.stats.bytes_hashed == sum(linked.values())
    # the shared inode damaged in place: every env and the cache say so
    shared = inst / "pkgs" / dist_name("beta") / "share" / "beta" / "f1.txt"
    with open(shared, "r+b") as fh:
        first = fh.read(1)
        fh.seek(0)
        fh.write(bytes([first[0] ^ 0x20]))
    # an env-only copy damaged: only that env says so
    replace_file(
        inst / "envs" / "again" / "share" / "beta" / "f2.txt",
        flip_byte((inst / "envs" / "again" / "share" / "beta" / "f2.txt").read_bytes()),
    )
    report = verify([inst], deep=True, use_cache=False)
    env_files = {f.data["prefix"]: problems(f) for f in findings_of(report, "integrity.env-files")}
    assert env_files == {
        str(inst / "envs" / "good"): {"share/beta/f1.txt": "hash"},
        str(inst / "envs" / "again"): {
            "share/beta/f1.txt": "hash",
            "share/beta/f2.txt": "hash",
        },
    }
    (cache,) = findings_of(report, "integrity.cache-files")
    assert problems(cache) == {"share/beta/f1.txt": "hash"}


def _inodes_of(envs: list[Path]) -> set[tuple[int, int]]:
    out = set()
    for env in envs:
        for rec in (env / "conda-meta").glob("*.json"):
            for entry in json.loads(rec.read_text())["paths_data"]["paths"]:
                if entry.get("path_type", "hardlink") == "hardlink":
                    st = (env / entry["_path"]).stat()
                    out.add((st.st_dev, st.st_ino))
    return out


def _release_env(inst: Path) -> Path:
    """A second release env: ``envs/good`` linked again from the cache (records included,
    so a record changed here must be given a new inode first)."""
    again = inst / "envs" / "again"
    shutil.copytree(inst / "envs" / "good", again, copy_function=os.link)
    return again


def _damage_in_place(path: Path) -> None:
    """Flip a byte of the inode itself, as NFS rewriting it: every hard link sees it."""
    with open(path, "r+b") as fh:
        first = fh.read(1)
        fh.seek(0)
        fh.write(bytes([first[0] ^ 0x20]))


def _env_problems(report: VerifyReport) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for f in findings_of(report, "integrity.env-files"):
        out.setdefault(f.data["prefix"], {}).update(problems(f))
    return out


def _env_findings(report: VerifyReport) -> dict[str, list[tuple[str, str, Any]]]:
    out: dict[str, list[tuple[str, str, Any]]] = {}
    for f in findings_of(report, "integrity.env-files"):
        out.setdefault(f.data["prefix"], []).append((f.title, f.detail, f.data))
    return out


def test_a_whole_installation_run_gives_each_env_the_findings_it_has_alone(inst: Path) -> None:
    """One run over the installation hashes a shared inode once, yet its damage reaches every
    env that holds it in the words and paths of a run over the envs alone; a prefix-rewritten
    copy, a missing file and a record that expects another sum than the cache's stay each
    env's own."""
    good = inst / "envs" / "good"
    again = _release_env(inst)
    beta = dist_name("beta")
    _damage_in_place(inst / "pkgs" / beta / "share" / "beta" / "f1.txt")
    (again / "share" / "beta" / "f5.txt").unlink()
    config = good / "bin" / "alpha-config"  # the prefix-rewritten copy, not a link
    replace_file(config, flip_byte(config.read_bytes()))
    record = again / "conda-meta" / f"{beta}.json"
    data = json.loads(record.read_text())
    other = "ab" * 32
    for entry in data["paths_data"]["paths"]:
        if entry["_path"] == "share/beta/f2.txt":  # the cache's inode, unchanged
            entry["sha256"] = other
    replace_file(record, json.dumps(data).encode())
    whole = verify([inst], deep=True, use_cache=False)
    alone = verify([good, again], deep=True, use_cache=False)
    assert _env_problems(whole) == {
        str(good): {"share/beta/f1.txt": "hash", "bin/alpha-config": "hash"},
        str(again): {
            "share/beta/f1.txt": "hash",
            "share/beta/f2.txt": "hash",
            "share/beta/f5.txt": "missing",
        },
    }
    assert _env_findings(whole) == _env_findings(alone)
    f2 = next(
        item
        for f in findings_of(whole, "integrity.env-files")
        for item in f.data["files"]
        if item["path"] == "share/beta/f2.txt"
    )
    real = hashlib.sha256((again / "share" / "beta" / "f2.txt").read_bytes()).hexdigest()
    assert f2["expected"] == other and f2["found"] == real
    (cache,) = findings_of(whole, "integrity.cache-files")
    assert problems(cache) == {"share/beta/f1.txt": "hash"}


def test_damage_of_a_shared_inode_is_reported_for_every_env_until_repaired(inst: Path) -> None:
    """With the hash cache, a record is remembered clean only once its files hashed as
    expected: damage of an inode the cache and two envs share is reported for every env in
    every run until it is repaired, and then no more."""
    good = inst / "envs" / "good"
    again = _release_env(inst)
    shared = inst / "pkgs" / dist_name("beta") / "share" / "beta" / "f1.txt"
    _damage_in_place(shared)
    for _ in range(2):
        assert _env_problems(verify([inst], deep=True)) == {
            str(good): {"share/beta/f1.txt": "hash"},
            str(again): {"share/beta/f1.txt": "hash"},
        }
    _damage_in_place(shared)  # flipped back: the bytes the records expect
    repaired = verify([inst], deep=True)
    assert repaired.findings == [], [f.title for f in repaired.findings]
    again_run = verify([inst], deep=True)
    assert again_run.findings == []
    # the repaired run remembered both beta records clean: now each is answered from the hash
    # cache whole, its small files too (big ones are hits in every run)
    record = json.loads((good / "conda-meta" / f"{dist_name('beta')}.json").read_text())
    small = [e for e in record["paths_data"]["paths"] if e["size_in_bytes"] < 64 << 10]
    assert again_run.stats.cache_hits - repaired.stats.cache_hits == 2 * len(small)


def test_unreadable_files_are_reported_not_fatal(inst: Path) -> None:
    env = inst / "envs" / "good"
    loop = env / "share" / "beta" / "f7.txt"
    loop.unlink()
    loop.symlink_to(loop.name)  # ELOOP on every open/stat, even for root
    report = verify([env], deep=True)
    beta = next(
        f
        for f in findings_of(report, "integrity.env-files")
        if f.data["package"] == dist_name("beta")
    )
    item = next(p for p in beta.data["files"] if p["path"] == "share/beta/f7.txt")
    assert item["problem"] == "unreadable" and "ELOOP" in item["found"]
    assert report.exit_code == 1 and not report.incomplete


def _without_dac_override() -> list[str]:
    """A command prefix that runs as root minus the capabilities that bypass file modes.

    Root reads a mode-000 file only through CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH; without
    them the kernel checks the mode bits as for anyone else (uid 0 owning the file gets
    EACCES on mode 000). That is what CI (root) needs to test a real permission error.
    """
    setpriv = shutil.which("setpriv")
    need(setpriv is not None, "setpriv is missing (util-linux)")
    assert setpriv is not None
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True)
    need(probe.returncode == 0, f"cannot drop capabilities here: {probe.stderr.strip()}")
    return prefix


def test_permission_denied_file_is_unreadable(inst: Path) -> None:
    target = inst / "envs" / "good" / "share" / "beta" / "f8.txt"
    replace_file(target, target.read_bytes())
    target.chmod(0)
    if os.geteuid() != 0:
        report = verify([inst / "envs" / "good"], deep=True)
        beta = findings_of(report, "integrity.env-files")[0]
        assert problems(beta)["share/beta/f8.txt"] == "unreadable"
        return
    # root: the real CLI, as root without the capability to bypass file modes
    drop = _without_dac_override()
    premise = subprocess.run(  # this process reads the file; the same child without the caps not
        [*drop, sys.executable, "-c", f"open({str(target)!r}, 'rb').read()"],
        capture_output=True,
        text=True,
    )
    assert premise.returncode != 0 and "PermissionError" in premise.stderr, premise.stderr
    target.read_bytes()  # while this process, root with its capabilities, still can
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [
            *drop,
            sys.executable,
            "-m",
            "condashare",
            "verify",
            "--deep",
            "--json",
            str(inst / "envs" / "good"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    beta = [f for f in doc["data"]["findings"] if f["check"] == "integrity.env-files"]
    assert len(beta) == 1 and beta[0]["data"]["package"] == dist_name("beta")
    (item,) = [p for p in beta[0]["data"]["files"] if p["path"] == "share/beta/f8.txt"]
    assert item["problem"] == "unreadable" and "EACCES" in item["found"]


def test_files_listed_only_in_files_not_paths_data_are_checked(inst: Path) -> None:
    """conda's --force-reinstall after a SafetyError leaves the relinked file in the record's
    ``files`` without a ``paths_data`` entry; a truncated file there must not pass."""
    env = inst / "envs" / "good"
    rec_path = env / "conda-meta" / (dist_name("beta") + ".json")
    rec = json.loads(rec_path.read_text())
    dropped = {"share/beta/f3.txt", "share/beta/f4.txt"}
    rec["paths_data"]["paths"] = [
        p for p in rec["paths_data"]["paths"] if p["_path"] not in dropped
    ]
    assert dropped <= set(rec["files"])
    rec_path.write_text(json.dumps(rec))
    assert not verify([env], deep=True, use_cache=False).findings  # intact: nothing to say
    replace_file(env / "share" / "beta" / "f3.txt", b"cut")  # truncated, a new inode
    (env / "share" / "beta" / "f4.txt").unlink()
    quick = verify([env], use_cache=False)
    (beta,) = findings_of(quick, "integrity.env-files")
    # size from the package's info/paths.json in the cache; existence from files alone
    assert problems(beta) == {"share/beta/f3.txt": "size", "share/beta/f4.txt": "missing"}
    assert "not in its paths_data" in beta.detail
    # same-size damage: deep mode hashes it against the cache's paths.json
    replace_file(
        env / "share" / "beta" / "f3.txt",
        flip_byte((inst / "pkgs" / dist_name("beta") / "share" / "beta" / "f3.txt").read_bytes()),
    )
    (beta,) = findings_of(verify([env], deep=True, use_cache=False), "integrity.env-files")
    assert problems(beta)["share/beta/f3.txt"] == "hash"
    # without the cache entry only existence can be checked: the missing file is still found
    shutil.rmtree(inst / "pkgs" / dist_name("beta"))
    (beta,) = findings_of(verify([env], use_cache=False), "integrity.env-files")
    assert problems(beta) == {"share/beta/f4.txt": "missing"}


def test_truncated_and_empty_records_are_reported(inst: Path) -> None:
    meta = inst / "envs" / "good" / "conda-meta"
    gamma = meta / f"{dist_name('gamma')}.json"
    gamma.write_bytes(gamma.read_bytes()[: gamma.stat().st_size // 2])
    (meta / f"{dist_name('beta')}.json").write_bytes(b"")
    report = verify([inst / "envs" / "good"])
    recs = {f.data["package"]: f for f in findings_of(report, "integrity.env-record")}
    assert set(recs) == {dist_name("gamma"), dist_name("beta")}
    assert "not valid JSON" in recs[dist_name("gamma")].detail
    assert "zero length" in recs[dist_name("beta")].detail
    assert recs[dist_name("gamma")].fix.startswith(f"mv {gamma} {gamma}.broken && conda install")
    assert report.exit_code == 1


def test_nfs_silly_rename_files_are_found_with_the_process_holding_them(inst: Path) -> None:
    env = inst / "envs" / "good"
    nfs = env / "lib" / ".nfs0000000000abcd0001"
    nfs.write_bytes(b"x" * 4096)
    trash = inst / "pkgs" / f"{dist_name('gamma')}.conda_trash"
    trash.write_bytes(b"y" * 100)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; f=open(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
            str(nfs),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        report = verify([env, inst / "pkgs"])
    finally:
        holder.kill()
        holder.wait()
    arts = {f.data["path"]: f for f in findings_of(report, "integrity.nfs-artefacts")}
    assert set(arts) == {str(env), str(inst / "pkgs")}
    item = arts[str(env)].data["items"][0]
    assert item["path"] == str(nfs) and item["bytes"] == 4096
    assert any(h.startswith(f"{holder.pid} ") for h in item["held_by"])
    assert f"held open by {holder.pid}" in arts[str(env)].detail
    assert arts[str(inst / "pkgs")].data["items"][0]["path"] == str(trash)
    assert report.exit_code == 1


def test_a_walk_handed_on_in_slices_finds_every_leftover_once(
    inst: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a slow share the walk hands the directories it has not listed back to be walked by
    every worker; sliced to one directory at a time it must find the same leftovers, once."""
    from condashare.verify import inventory

    leftovers = []
    for n, sub in enumerate(["lib", "share/beta", "share/gamma", "bin", "conda-meta"]):
        path = inst / "envs" / "good" / sub / f".nfs00000000000000{n:02d}0001"
        path.write_bytes(b"x" * (100 + n))
        leftovers.append(str(path))
    whole = verify([inst], use_cache=False)
    monkeypatch.setattr(inventory, "WALK_SLICE_DIRS", 1)  # forked workers inherit it
    monkeypatch.setattr(inventory, "WALK_SLICE_SECONDS", 0.0)
    sliced = verify([inst], use_cache=False)
    for report in (whole, sliced):
        (arts,) = findings_of(report, "integrity.nfs-artefacts")
        assert sorted(i["path"] for i in arts.data["items"]) == sorted(leftovers)
        assert arts.data["count"] == 5 and arts.data["bytes"] == sum(100 + n for n in range(5))


def test_silly_rename_names_of_each_client_are_leftovers(inst: Path) -> None:
    """Linux, macOS and FreeBSD NFS clients and libfuse (sshfs) name them differently."""
    env = inst / "envs" / "good"
    leftovers = [
        ".nfs000000000123abcd00000001",  # Linux
        ".nfs.0000abcd.0012",  # macOS
        ".nfs.0000abcd.00124.4",  # FreeBSD
        ".fuse_hidden0000000a00000001",  # libfuse
    ]
    ordinary = [".nfsrc", ".nfs.conf", ".fuse_hidden", "a.nfs00000000000000000001"]
    for name in leftovers + ordinary:
        (env / "lib" / name).write_bytes(b"x")
    report = verify([env])
    (art,) = findings_of(report, "integrity.nfs-artefacts")
    assert sorted(os.path.basename(i["path"]) for i in art.data["items"]) == sorted(leftovers)


def test_undecodable_file_names_are_shown_not_fatal(inst: Path) -> None:
    pkgs = inst / "pkgs"
    weird = os.fsencode(pkgs) + b"/caf\xe9-1.0-0.conda_trash"
    with open(weird, "wb") as fh:
        fh.write(b"w" * 10)
    res = run_cli("verify", "--json", str(pkgs))
    assert res.returncode == 1, res.stderr
    arts = [
        f
        for f in json.loads(res.stdout)["data"]["findings"]
        if f["check"] == "integrity.nfs-artefacts"
    ]
    # JSON gives the exact name (a \udce9 escape: Python's json and os.fsencode give 0xe9 back)
    assert arts[0]["data"]["items"][0]["path"] == os.fsdecode(weird)
    assert "\\udce9" in res.stdout
    text = run_cli("verify", str(pkgs))
    assert text.returncode == 1
    assert "/caf\\xe9-1.0-0.conda_trash (10 B; " in text.stdout  # the byte, visibly escaped


# --- package caches ------------------------------------------------------------------------


def test_package_cache_checks(inst: Path) -> None:
    pkgs = inst / "pkgs"
    gamma_arch = pkgs / f"{dist_name('gamma')}.conda"
    gamma_arch.write_bytes(gamma_arch.read_bytes()[:5000])  # truncated download
    alpha_arch = pkgs / f"{dist_name('alpha')}.conda"
    alpha_arch.write_bytes(flip_byte(alpha_arch.read_bytes(), 100))  # same size
    partial = pkgs / "delta-1.0-0"  # extraction interrupted before info/
    (partial / "lib").mkdir(parents=True)
    (partial / "lib" / "libdelta.so").write_bytes(b"z" * 3000)
    (pkgs / dist_name("beta") / "info" / "repodata_record.json").unlink()
    (pkgs / ".trash").mkdir()
    (pkgs / ".trash" / "old.so").write_bytes(b"t" * 7000)
    cache = pkgs / "cache"
    cache.mkdir()
    now = time.time_ns()
    day = 86400 * 10**9
    for name, refresh, control in (
        ("0a1b2c3d", now - 60 * day, "max-age=60"),
        ("1a1b2c3d", now - 3600 * 10**9, "public, max-age=60"),
        ("2a1b2c3d", now, "max-age=3600"),
    ):
        (cache / f"{name}.json").write_text("{}")
        (cache / f"{name}.info.json").write_text(
            json.dumps(
                {
                    "url": f"https://conda.anaconda.org/ch{name}/linux-64",
                    "etag": "x",
                    "mod": "",
                    "cache_control": control,
                    "size": 2,
                    "mtime_ns": refresh,
                    "refresh_ns": refresh,
                }
            )
        )

    quick = verify([pkgs])
    damaged = {f.data["package"]: f for f in findings_of(quick, "integrity.cache-files")}
    assert set(damaged) == {dist_name("gamma")}
    assert problems(damaged[dist_name("gamma")]) == {gamma_arch.name: "size"}
    assert "archive damaged" in damaged[dist_name("gamma")].title
    part = findings_of(quick, "integrity.cache-partial")[0]
    assert part.data["items"] == [
        {"package": "delta-1.0-0", "reason": "no info/ directory", "bytes": 3000}
    ]
    norec = findings_of(quick, "integrity.cache-record")[0]
    assert [i["package"] for i in norec.data["items"]] == [dist_name("beta")]
    reclaim = findings_of(quick, "integrity.cache-reclaimable")[0]
    assert reclaim.data["bytes"] == 7000 + 3000 and reclaim.severity is Severity.INFO
    old = findings_of(quick, "integrity.repodata-old")[0]
    assert [i["url"] for i in old.data["items"]] == [
        "https://conda.anaconda.org/ch0a1b2c3d/linux-64"
    ]
    assert old.fix == "conda clean --index-cache"
    stale = findings_of(quick, "integrity.repodata-stale")[0]
    assert [i["url"] for i in stale.data["items"]] == [
        "https://conda.anaconda.org/ch1a1b2c3d/linux-64"
    ]

    deep = verify([pkgs], deep=True)
    damaged = {f.data["package"]: f for f in findings_of(deep, "integrity.cache-files")}
    assert set(damaged) == {dist_name("gamma"), dist_name("alpha")}
    assert problems(damaged[dist_name("alpha")]) == {alpha_arch.name: "hash"}


def test_repodata_shards_db_on_a_network_filesystem_is_flagged(inst: Path) -> None:
    cache = inst / "pkgs" / "cache"
    cache.mkdir()
    (cache / "repodata_shards.db").write_bytes(b"SQLite format 3\0")
    mounts = parse_mountinfo(
        f"1 0 0:1 / / rw - ext4 /dev/vda rw\n"
        f"99 1 0:55 / {inst} rw,relatime - nfs4 nfsserver:/export/conda rw,vers=4.2,hard\n"
    )
    report = verify([inst / "pkgs"], mounts=mounts, use_cache=False)
    shards = findings_of(report, "integrity.repodata-shards")
    assert len(shards) == 1 and shards[0].data["fstype"] == "nfs4"
    local = verify([inst / "pkgs"], use_cache=False)
    assert findings_of(local, "integrity.repodata-shards") == []


# --- shared caches -------------------------------------------------------------------------


def test_user_env_linking_from_a_shared_cache(
    conda_tree: Path, tmp_path: Path, sandbox_home: Path
) -> None:
    # envs/good links straight from the fixture's pkgs dir; treat that one as the shared cache
    env = tmp_path / "user-env"
    subprocess.run(["cp", "-a", str(conda_tree / "inst" / "envs" / "good"), str(env)], check=True)
    shared = str(conda_tree / "inst" / "pkgs")
    own = sandbox_home / ".conda" / "pkgs"
    (own / dist_name("beta")).mkdir(parents=True)  # beta also exists in the user's own cache
    (own / "urls.txt").write_text("")
    report = verify([env], shared_pkgs_dirs=[shared], user_pkgs_dirs=[str(own)])
    link = findings_of(report, "integrity.shared-cache-link")[0]
    assert link.data["pkgs_dirs"] == [shared] and link.severity is Severity.INFO
    only = findings_of(report, "integrity.shared-only-build")[0]
    assert sorted(only.data["packages"]) == [dist_name("alpha"), dist_name("gamma")]
    assert only.severity is Severity.WARNING
    assert f"CONDA_PKGS_DIRS={own} conda install -p {env} --force-reinstall" in only.fix
    # the same cache seen as an NFS mount is shared without being named
    mounts = parse_mountinfo(
        "1 0 0:1 / / rw - ext4 /dev/vda rw\n"
        f"99 1 0:55 / {shared} ro - nfs nfsserver:/export/conda/pkgs ro,vers=3,hard\n"
    )
    report = verify([env], user_pkgs_dirs=[str(own)], mounts=mounts, use_cache=False)
    link = findings_of(report, "integrity.shared-cache-link")[0]
    assert "network filesystem (nfs)" in link.detail
    # ...while verifying the installation that owns the cache flags nothing of the sort
    assert (
        findings_of(
            verify([conda_tree / "inst"], mounts=mounts, use_cache=False),
            "integrity.shared-cache-link",
        )
        == []
    )
    # ...and nor does verifying one env of it (an admin checking a release after an install):
    # the env and the cache belong to the same installation
    one_env = verify([conda_tree / "inst" / "envs" / "good"], mounts=mounts, use_cache=False)
    assert one_env.exit_code == 0, [f.title for f in one_env.findings]
    assert not [f for f in one_env.findings if f.code.startswith("integrity.shared")]


# --- hash cache ----------------------------------------------------------------------------


def test_an_unwritable_cache_dir_is_said_in_words(
    inst: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache dir that cannot be made (here: under a file; a read-only home alike) disables
    the cache with a sentence, not Python's ``[Errno 20] ...`` text, and verify still works."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))
    res = verify([inst / "envs" / "good"], deep=True)
    assert res.exit_code == 0
    assert res.cache_note.startswith("hash cache disabled: ")
    assert "cannot be written (not a directory (ENOTDIR)); every file is hashed" in res.cache_note
    assert "Errno" not in res.cache_note


def test_hash_cache_skips_rehashing_but_never_hides_a_change(inst: Path) -> None:
    env = inst / "envs" / "good"
    first = verify([env], deep=True)
    assert first.stats.cache_hits == 0 and first.stats.bytes_hashed > 17 * 2**20
    assert "hash cache:" in first.cache_note
    second = verify([env], deep=True)
    assert second.stats.bytes_hashed == 0 and second.stats.cache_hits == second.stats.files
    f2 = env / "share" / "beta" / "f2.txt"
    data = f2.read_bytes()
    replace_file(f2, flip_byte(data))
    third = verify([env], deep=True)
    beta = findings_of(third, "integrity.env-files")[0]
    assert problems(beta) == {"share/beta/f2.txt": "hash"}
    assert 0 < third.stats.bytes_hashed < 2**20  # only the changed record was re-read
    replace_file(f2, data)
    assert verify([env], deep=True).findings == []
    # the walk remembers directory listings by the directory's stat: a leftover appearing
    # later changes the directory's mtime and is found
    nfs = env / "share" / "beta" / ".nfs000000000000abcd0002"
    nfs.write_bytes(b"n" * 10)
    arts = findings_of(verify([env], deep=True), "integrity.nfs-artefacts")
    assert [i["path"] for i in arts[0].data["items"]] == [str(nfs)]
    nfs.unlink()
    assert verify([env], deep=True).findings == []
    nocache = verify([env], deep=True, use_cache=False)
    assert nocache.stats.cache_hits == 0 and "not used" in nocache.cache_note


def test_a_damaged_hash_cache_is_replaced(inst: Path, sandbox_home: Path) -> None:
    from condashare.host import dirs

    db = Path(dirs.write_dir(dirs.CACHE)) / "verify-hashes.sqlite3"  # per host (device+inode)
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database" * 100)
    report = verify([inst / "envs" / "good"], deep=True)
    assert report.findings == [] and "replaced" in report.cache_note
    assert verify([inst / "envs" / "good"], deep=True).stats.bytes_hashed == 0


def test_hash_cache_is_disabled_when_the_user_cache_dir_is_on_nfs(sandbox_home: Path) -> None:
    mounts = parse_mountinfo(
        "1 0 0:1 / / rw - ext4 /dev/vda rw\n"
        f"99 1 0:55 / {sandbox_home} rw - nfs4 homeserver:/home/u rw,vers=4.1,hard\n"
    )
    cache, note = open_hash_cache(mounts)
    assert cache is None
    assert "network filesystem" in note and "re-hashed" in note
    assert not (sandbox_home / ".cache" / "condashare").exists()  # never touched


# --- doctor entry point, JSON, progress ----------------------------------------------------


def test_doctor_entry_point_returns_findings(inst: Path, sandbox_home: Path) -> None:
    env = inst / "envs" / "good"
    ok = integrity_findings([str(env), str(inst / "pkgs")])
    assert len(ok) == 1 and ok[0].severity is Severity.OK and "verified (quick)" in ok[0].title
    (env / "share" / "beta" / "f4.txt").unlink()
    bad = integrity_findings([str(env)], deep=True)
    assert [f.check for f in bad] == ["integrity.env-files"]
    none = integrity_findings()  # the sandbox home has no ~/.conda
    assert none[0].severity is Severity.OK and "no environments" in none[0].title
    # with no paths given it finds the user's own envs and cache
    mine = sandbox_home / ".conda" / "envs" / "mine"
    mine.parent.mkdir(parents=True)
    shutil.copytree(env, mine, symlinks=True)
    (sandbox_home / ".conda" / "pkgs").mkdir()
    (sandbox_home / ".conda" / "pkgs" / "urls.txt").write_text("")
    assert api.user_targets() == [str(mine), str(sandbox_home / ".conda" / "pkgs")]
    found = integrity_findings()
    assert [f.data["prefix"] for f in found if f.check == "integrity.env-files"] == [str(mine)]


def test_json_output(inst: Path) -> None:
    (inst / "envs" / "good" / "share" / "beta" / "f9.txt").unlink()
    res = run_cli("verify", "--deep", "--json", str(inst))
    assert res.returncode == 1
    doc = json.loads(res.stdout)
    assert doc["command"] == "verify" and doc["exit_code"] == 1
    data = doc["data"]
    assert data["mode"] == "deep" and data["targets"][0]["kind"] == "root"
    finding = data["findings"][0]
    assert finding["check"] == "integrity.env-files" and finding["severity"] == "error"
    assert finding["data"]["files"] == [{"path": "share/beta/f9.txt", "problem": "missing"}]


def test_progress_goes_to_stderr_only_on_a_terminal(inst: Path) -> None:
    master, slave = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "condashare", "verify", "--deep", "--no-cache", str(inst)],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(slave)
    out, _ = proc.communicate(timeout=60)
    seen = b""
    while select.select([master], [], [], 0.2)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.returncode == 0
    line = seen.decode()
    assert "%" in line and "files checked" in line and "hashed" in line and "ETA" in line
    assert "tasks" not in line  # not the engine's units
    assert b"ETA" not in out


# --- a share that dies -----------------------------------------------------------------------


def _rchar(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


@pytest.mark.fuse
def test_share_that_hangs_mid_run_is_reported_unresponsive_and_the_run_ends(
    conda_tree: Path, fuse_share, tmp_path: Path
) -> None:
    subprocess.run(
        ["cp", "-a", str(conda_tree / "inst"), str(fuse_share.backing / "inst")], check=True
    )
    local = tmp_path / "local-env"
    subprocess.run(["cp", "-a", str(conda_tree / "inst" / "envs" / "good"), str(local)], check=True)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    base = _rchar(fuse_share.proc.pid)
    start = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "condashare",
            "verify",
            "--deep",
            "--no-cache",
            "--timeout",
            "2",
            str(local),
            str(fuse_share.mount / "inst"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    try:
        # wait until file contents are flowing through the share, then kill the "server"
        while _rchar(fuse_share.proc.pid) - base < 256 * 1024:
            assert proc.poll() is None, "finished before the share could be blocked"
            assert time.monotonic() - start < 30
            time.sleep(0.002)
        fuse_share.block()
        out, err = proc.communicate(timeout=45)
    finally:
        if proc.poll() is None:
            fuse_share.heal()
            proc.kill()
            proc.wait()
    elapsed = time.monotonic() - start
    assert proc.returncode == 3, out + err
    assert elapsed < 40
    text = out.decode()
    assert "unresponsive (no answer in 2.0 s)" in text
    assert f"{local}: environment" in text
    assert "verification incomplete" in text
    fuse_share.heal()


@pytest.mark.fuse
def test_healthy_share_is_verified_through_the_buffered_read_path(
    conda_tree: Path, fuse_share
) -> None:
    subprocess.run(
        ["cp", "-a", str(conda_tree / "inst"), str(fuse_share.backing / "inst")], check=True
    )
    gamma = fuse_share.backing / "inst" / "envs" / "good" / "share" / "gamma" / "big.bin"
    replace_file(gamma, flip_byte(gamma.read_bytes(), 5_000_000))  # found by 1 MiB reads
    res = run_cli("verify", "--deep", "--no-cache", str(fuse_share.mount / "inst"), timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "gamma-0.3-" in res.stdout and "share/gamma/big.bin: content altered" in res.stdout
    assert "alpha-1.0-" not in res.stdout and "beta-2.1-" not in res.stdout
    res = run_cli("verify", "--json", str(fuse_share.mount / "inst"), timeout=120)
    workers = json.loads(res.stdout)["data"]["stats"]["workers"]
    assert workers == max(NETWORK_JOBS, default_jobs())  # more reads in flight on NFS


@pytest.mark.fuse
def test_stats_issued_ahead_on_a_share_find_what_a_local_run_finds(
    conda_tree: Path, fuse_share, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a share a record's stats go out ahead on threads (here for every record, however
    small, two at a time): the damage found, quick and deep, is exactly what the same tree
    shows locally."""
    from condashare.verify import records

    local = fuse_share.backing / "inst"
    subprocess.run(["cp", "-a", str(conda_tree / "inst"), str(local)], check=True)
    damage_env(local / "envs" / "good")
    monkeypatch.setattr(records, "SHARE_STAT_MIN", 1)  # forked workers inherit it
    monkeypatch.setattr(records, "SHARE_STAT_WINDOW", 2)  # the window slides in every record
    for deep in (False, True):
        found = []
        for env in (local / "envs" / "good", fuse_share.mount / "inst" / "envs" / "good"):
            report = verify([env], deep=deep, use_cache=False)
            assert not report.incomplete
            found.append(
                {f.data["package"]: problems(f) for f in findings_of(report, "integrity.env-files")}
            )
        assert found[0] == found[1], deep
        assert found[1][dist_name("beta")]["lib/libbeta.so"] == "size"
        assert found[1][dist_name("alpha")]["lib/alpha-link.txt"] == "broken-symlink"
        assert ("share/beta/f3.txt" in found[1][dist_name("beta")]) is deep


@pytest.mark.fuse
@pytest.mark.parametrize("ahead", [False, True], ids=["serial-stats", "stats-ahead"])
def test_share_that_hangs_during_batched_quick_records_is_unresponsive_and_the_run_ends(
    conda_tree: Path, fuse_share, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ahead: bool
) -> None:
    """Quick mode sends records eight to a message; a hang inside a batch must still end, also
    when the record's stats wait on threads (issued ahead, as for big records on a share)."""
    if ahead:
        from condashare.verify import records as record_ops

        monkeypatch.setattr(record_ops, "SHARE_STAT_MIN", 1)  # forked workers inherit it
    subprocess.run(
        ["cp", "-a", str(conda_tree / "inst"), str(fuse_share.backing / "inst")], check=True
    )
    local = tmp_path / "local-env"
    subprocess.run(["cp", "-a", str(conda_tree / "inst" / "envs" / "good"), str(local)], check=True)
    shared_env = str(fuse_share.mount / "inst" / "envs" / "good")
    records = len(list((local / "conda-meta").glob("*.json")))
    listed = Collector._on_env

    def block_then_queue(self: Collector, task: dict, msg: dict) -> None:
        if task["path"] == shared_env:  # the share dies right after listing the records
            fuse_share.block()
        listed(self, task, msg)

    monkeypatch.setattr(Collector, "_on_env", block_then_queue)
    start = time.monotonic()
    try:
        report = verify([local, shared_env], deep=False, use_cache=False, timeout=2)
    finally:
        fuse_share.heal()
    assert time.monotonic() - start < 30
    assert report.incomplete and report.exit_code == 3
    (hung,) = findings_of(report, "integrity.unresponsive")
    assert hung.data["path"] == shared_env and hung.data["count"] >= records
    assert [t.kind for t in report.targets] == ["env", "env"]
    assert not [f for f in report.findings if str(local) in f.title]  # the local env: verified


@pytest.mark.fuse
def test_share_failing_with_eio_is_incomplete_not_clean(conda_tree: Path, fuse_share) -> None:
    subprocess.run(
        ["cp", "-a", str(conda_tree / "inst"), str(fuse_share.backing / "inst")], check=True
    )
    fuse_share.fail("EIO")
    res = run_cli("verify", "--timeout", "3", str(fuse_share.mount / "inst"), timeout=60)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "EIO" in res.stdout


@pytest.mark.fuse
def test_a_share_that_never_answers_is_reported_with_the_time_limit_written_humanly(
    conda_tree: Path, fuse_share
) -> None:
    """``--timeout 2.481952`` reads back as ``2.5 s``, not as the float typed, and the counts
    under it agree with their number (``1 error``, not ``1 error(s)``)."""
    subprocess.run(
        ["cp", "-a", str(conda_tree / "inst"), str(fuse_share.backing / "inst")], check=True
    )
    target = fuse_share.mount / "inst"
    fuse_share.block()
    try:
        res = run_cli("verify", "--timeout", "2.481952", str(target), timeout=120)
    finally:
        fuse_share.heal()
    assert res.returncode == 3, res.stdout + res.stderr
    assert f"{target}: unresponsive (no answer in 2.5 s)" in res.stdout
    assert "2.481952" not in res.stdout and "(s)" not in res.stdout


@pytest.mark.fuse
@pytest.mark.parametrize("deep", [False, True])
def test_files_a_share_fails_with_estale_are_not_verified_never_missing_or_damaged(
    conda_tree: Path, fuse_share, deep: bool
) -> None:
    """A stale file handle (the server replaced a file this client held) says nothing about
    the file: not "missing", not "damaged, reinstall it", and never a clean run."""
    subprocess.run(
        ["cp", "-a", str(conda_tree / "inst"), str(fuse_share.backing / "inst")], check=True
    )
    root = fuse_share.mount / "inst"
    beta = dist_name("beta")
    fuse_share.fail("ESTALE", "/inst/envs/good/share/beta/f3.txt")
    mode = ["--deep", "--no-cache"] if deep else ["--no-cache"]
    res = run_cli("verify", *mode, "--timeout", "5", str(root / "envs" / "good"), timeout=60)
    assert res.returncode == 3, res.stdout + res.stderr  # incomplete, not "problems found"
    env = root / "envs" / "good"
    assert f"[x] {env}: 1 item not verified, the share fails: stale file handle (ESTALE)" in (
        res.stdout
    )
    assert f"{env}/share/beta/f3.txt: stale file handle (ESTALE)" in res.stdout
    assert "missing" not in res.stdout and "--force-reinstall" not in res.stdout
    # an entry of the package cache that fails is reported, not silently left out
    fuse_share.fail("ESTALE", f"/inst/pkgs/{beta}")
    res = run_cli("verify", *mode, "--timeout", "5", str(root / "pkgs"), timeout=60)
    assert res.returncode == 3, res.stdout + res.stderr
    assert f"{root}/pkgs/{beta}: stale file handle (ESTALE)" in res.stdout
    assert "no problems found" not in res.stdout and "partial" not in res.stdout
    fuse_share.heal()
    res = run_cli("verify", *mode, "--timeout", "5", str(root), timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_worker_death_is_reported_as_incomplete(
    inst: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from condashare.verify import worker

    def die(reader: object, task: object) -> dict[str, object]:
        os.kill(os.getpid(), signal.SIGKILL)
        return {}

    monkeypatch.setitem(worker.OPS, "walk", die)  # inherited by forked workers
    report = verify([inst / "envs" / "good"], jobs=1)
    assert report.incomplete and report.exit_code == 3
    assert any("worker died" in f.title for f in findings_of(report, "integrity.incomplete"))
    deadline = time.monotonic() + 5
    while children.reap() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert children.reap() == 0  # the dead worker was collected, no zombie left


def test_spawned_workers_as_on_macos(inst: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS cannot fork safely: workers are fresh interpreters there. Same results."""
    monkeypatch.setattr(children, "START_METHOD", "spawn")
    (inst / "envs" / "good" / "share" / "beta" / "f6.txt").unlink()
    report = verify([inst], deep=True, use_cache=False)
    beta = findings_of(report, "integrity.env-files")[0]
    assert problems(beta) == {"share/beta/f6.txt": "missing"}
    assert report.stats.records == 4 and report.stats.cache_entries == 3
    deadline = time.monotonic() + 5
    while children.reap() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert children.reap() == 0  # the workers exited at end of input and were collected


_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)


@settings(max_examples=300, deadline=None)
@given(
    path=_text,
    record=_text,
    paths=st.lists(_text, max_size=20),
    info=st.dictionaries(st.sampled_from(["name", "version", "source"]), st.none() | _text),
)
def test_the_task_size_bound_holds_for_any_path(
    path: str, record: str, paths: list[str], info: dict[str, str | None]
) -> None:
    """The coordinator keeps < 32 KiB of tasks unanswered per worker so that writing to a
    worker stuck on a dead share never blocks; that rests on this bound being a bound."""
    for task in (
        {"id": 10**9, "op": "record", "path": path, "record": record, "deep": True, "local": False},
        {"id": 1, "op": "exists", "path": path, "paths": paths, "target": path},
        {"id": 2, "op": "hash", "path": path, "rel": record, "sha256": "0" * 64, "info": info},
    ):
        wire = (json.dumps({"batch": [task]}) + "\n").encode()
        assert protocol.task_bytes(task) >= len(wire)


def test_deep_progress_shows_percentage_bytes_pace_and_time_left(inst: Path) -> None:
    """Not '4/5 tasks, 2 files, 0 MiB': a person wants how far, how much, how long."""
    from condashare.cli.verify import progress_line
    from condashare.verify.api import ProgressInfo

    seen: list[ProgressInfo] = []
    report = verify([inst], deep=True, use_cache=False, progress=seen.append)
    assert seen and not report.findings
    assert all(0 <= i.done <= i.total for i in seen)
    assert all(b.elapsed >= a.elapsed for a, b in itertools.pairwise(seen))
    first = progress_line(seen[0], deep=True)
    assert "ETA --:--" in first and "tasks" not in first
    # a run a quarter done after 3 s, 40 MiB read: 9 s left at that pace
    midway = progress_line(ProgressInfo(25, 100, 1200, 40 << 20, 3.0), deep=True)
    assert midway == "   25% · 1,200 files checked · 40.0 MiB hashed (13.3 MiB/s) · ETA 0:09"
    assert "hashed" not in progress_line(ProgressInfo(1, 2, 5, 0, 1.0), deep=False)
