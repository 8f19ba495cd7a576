"""Path operations in a child: answers for healthy, missing, failing and hung paths, never hangs."""

from __future__ import annotations

import os
import time

import pytest
from support.procs import child_states, wait_reaped

from condashare.bounded.children import reap
from condashare.bounded.paths import head, probe, probe_many, run_probe


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
    assert result.errname == "ENOTDIR" == result.data["errname"]
    assert result.describe().startswith("error ENOTDIR: ")


def test_head_and_envs_ops(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").write_bytes(b"\x7fELF" + b"\0" * 60)
    first = head(str(tmp_path / "bin" / "python"), 5, 8)
    assert bytes.fromhex(first.data["data"]) == b"\x7fELF\0\0\0\0"
    for name in ("isis4.3.0", "isis3.6.0", ".hidden", "notanenv"):
        (tmp_path / "envs" / name).mkdir(parents=True)
    for name in ("isis4.3.0", "isis3.6.0", ".hidden"):
        (tmp_path / "envs" / name / "conda-meta").mkdir()
    envs = run_probe("envs", str(tmp_path / "envs"), 5, "100")
    assert envs.data["envs"] == ["isis3.6.0", "isis4.3.0"]


def test_listdir_subdir_and_appendable_ops(tmp_path):
    meta = tmp_path / "conda-meta"
    meta.mkdir()
    (meta / "a-1-0.json").write_text('{"subdir": "noarch"}')
    (meta / "b-1-0.json").write_text('{"subdir": "linux-64"}')
    (meta / "history").write_text("")
    os.symlink("history", meta / "link")
    listing = run_probe("listdir", str(meta), 5, "100")
    assert sorted(map(tuple, listing.data["entries"])) == [
        ("a-1-0.json", "file"),
        ("b-1-0.json", "file"),
        ("history", "file"),
        ("link", "link"),
    ]
    sub = run_probe("subdir", str(tmp_path), 5, "200")
    assert (sub.data["subdir"], sub.data["record"]) == ("linux-64", "b-1-0.json")
    assert run_probe("appendable", str(meta / "history"), 5).data["appendable"] is True
    assert run_probe("appendable", str(meta), 5).data["appendable"] is None
    assert (meta / "history").read_bytes() == b""  # opened for append, nothing written


@pytest.mark.fuse
def test_hung_share_is_unresponsive_within_timeout(fuse_share):
    (fuse_share.backing / "f").write_text("x")
    assert probe(str(fuse_share.mount / "f"), 5).ok
    fuse_share.block()
    start = time.monotonic()
    result = probe(str(fuse_share.mount / "f"), 0.5)
    assert time.monotonic() - start < 1.5
    assert result.status == "unresponsive"
    assert "unresponsive" in result.describe()
    assert reap() == 1  # the stuck child is still there; we did not wait for it
    fuse_share.heal()
    assert wait_reaped() == 0  # once the server answers, the abandoned probe goes away


@pytest.mark.fuse
def test_head_on_a_share_that_just_died_is_abandoned_then_reaped(any_share, request):
    """A share that answered a moment ago (its attributes cached, for the cached variant) and
    is now hung: ``head`` opens the file, so it says unresponsive within its deadline whatever
    the cache holds, leaves a stuck child behind, and that child is gone, not a zombie, once
    the share heals."""
    (any_share.backing / "conda.sh").write_text("conda() { :; }\n")
    target = str(any_share.mount / "conda.sh")
    assert head(target, 5, 64).ok
    assert probe(target, 5).ok  # a healthy use warms the kernel's caches (a read does not)
    before = set(child_states())
    any_share.block()
    if "cached" in request.node.callspec.id.split("-"):
        assert probe(target, 0.5).ok  # stat is answered from the cache: it proves nothing
    start = time.monotonic()
    result = head(target, 0.5, 64)
    elapsed = time.monotonic() - start
    assert result.status == "unresponsive", result
    assert elapsed < 0.5 + 2.0, elapsed
    stuck = set(child_states()) - before
    assert len(stuck) == 1 and reap() == 1  # abandoned, alive (in the kernel), not waited for
    any_share.heal()
    assert wait_reaped() == 0
    assert not stuck & set(child_states())  # no zombie left behind


@pytest.mark.fuse
def test_many_hung_paths_cost_one_timeout(fuse_share):
    for name in "abc":
        (fuse_share.backing / name).write_text(name)
    fuse_share.block()
    start = time.monotonic()
    results = probe_many([str(fuse_share.mount / n) for n in "abc"], 0.5)
    assert time.monotonic() - start < 1.5
    assert {r.status for r in results.values()} == {"unresponsive"}


@pytest.mark.fuse
def test_failing_share_reports_errno(fuse_share):
    (fuse_share.backing / "f").write_text("x")
    for name in ("ESTALE", "EIO", "ENOTCONN"):
        fuse_share.fail(name)
        result = probe(str(fuse_share.mount / "f"), 5)
        assert result.status == "error"
        assert result.errname == name


def test_head_never_opens_a_fifo_or_device(tmp_path):
    # A FIFO would block the open until the timeout and be called "unresponsive" (a lie about a
    # healthy disk); /dev/zero would be read. head answers their kind from stat instead.
    import stat

    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "zero").symlink_to("/dev/zero")
    start = time.monotonic()
    pipe = run_probe("head", str(tmp_path / "pipe"), 5.0, "64")
    zero = run_probe("head", str(tmp_path / "zero"), 5.0, "64")
    assert time.monotonic() - start < 4.0
    assert pipe.status == "ok" and stat.S_ISFIFO(pipe.data["stat"]["mode"])
    assert zero.status == "ok" and stat.S_ISCHR(zero.data["stat"]["mode"])
    assert pipe.data["data"] == "" and zero.data["data"] == ""
