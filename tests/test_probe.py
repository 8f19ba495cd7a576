"""The liveness probe: answers for healthy, missing, failing and hung paths, never hangs."""

from __future__ import annotations

import time

from condashare.probe import probe, probe_many, reap_abandoned, run_probe


def test_ok_with_latency(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    result = probe(str(tmp_path / "f"), 5)
    assert result.status == "ok"
    assert 0 <= result.latency < 5
    assert result.data["stat"]["size"] == 3


def test_missing(tmp_path):
    result = probe(str(tmp_path / "nope"), 5)
    assert result.status == "missing"
    assert result.describe() == "missing"


def test_error_carries_errno(tmp_path):
    (tmp_path / "file").write_text("x")
    result = probe(str(tmp_path / "file" / "below"), 5)  # ENOTDIR
    assert result.status == "error"
    assert result.data["errname"] == "ENOTDIR"


def test_head_and_envs_ops(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").write_bytes(b"\x7fELF" + b"\0" * 60)
    head = run_probe("head", str(tmp_path / "bin" / "python"), 5, "8")
    assert bytes.fromhex(head.data["data"]) == b"\x7fELF\0\0\0\0"
    for name in ("isis4.3.0", "isis3.6.0", ".hidden", "notanenv"):
        (tmp_path / "envs" / name).mkdir(parents=True)
    for name in ("isis4.3.0", "isis3.6.0", ".hidden"):
        (tmp_path / "envs" / name / "conda-meta").mkdir()
    envs = run_probe("envs", str(tmp_path / "envs"), 5, "100")
    assert envs.data["envs"] == ["isis3.6.0", "isis4.3.0"]


def test_hung_share_is_unresponsive_within_timeout(fuse_share):
    (fuse_share.backing / "f").write_text("x")
    assert probe(str(fuse_share.mount / "f"), 5).ok
    fuse_share.block()
    start = time.monotonic()
    result = probe(str(fuse_share.mount / "f"), 0.5)
    assert time.monotonic() - start < 1.5
    assert result.status == "unresponsive"
    assert "unresponsive" in result.describe()
    assert reap_abandoned() == 1  # the stuck child is still there; we did not wait for it
    fuse_share.heal()
    deadline = time.monotonic() + 5
    while reap_abandoned() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reap_abandoned() == 0  # once the server answers, the abandoned probe goes away


def test_many_hung_paths_cost_one_timeout(fuse_share):
    for name in "abc":
        (fuse_share.backing / name).write_text(name)
    fuse_share.block()
    start = time.monotonic()
    results = probe_many([str(fuse_share.mount / n) for n in "abc"], 0.5)
    assert time.monotonic() - start < 1.5
    assert {r.status for r in results.values()} == {"unresponsive"}


def test_failing_share_reports_errno(fuse_share):
    (fuse_share.backing / "f").write_text("x")
    for name in ("ESTALE", "EIO", "ENOTCONN"):
        fuse_share.fail(name)
        result = probe(str(fuse_share.mount / "f"), 5)
        assert result.status == "error"
        assert result.data["errname"] == name
