"""The doctor runner: concurrency, crash and overrun guards, the global deadline, the registry."""

from __future__ import annotations

import os
import time

import pytest
from support.doctor_env import make_ctx

from condashare.bounded import children
from condashare.doctor import registry, runner
from condashare.doctor.model import Check, Finding, Severity


def _ok(ctx):
    return [Finding("t.ok", Severity.OK, "fine")]


def _crash(ctx):
    raise RuntimeError("boom in check")


def _sleep(ctx):
    time.sleep(30)
    return []


def _bad_return(ctx):
    return "not findings"


def _die(ctx):
    os._exit(7)


@pytest.mark.parametrize("method", ["fork", "spawn"])  # Linux forks, macOS spawns
def test_crash_and_overrun_become_findings_and_the_rest_still_report(
    sandbox_home, method, monkeypatch
):
    monkeypatch.setattr(children, "START_METHOD", method)
    ctx = make_ctx(sandbox_home)
    checks = [
        Check("t.ok", "t", "healthy", _ok),
        Check("t.crash", "t", "crashes", _crash),
        Check("t.sleep", "t", "overruns", _sleep, budget=1.0),
        Check("t.bad", "t", "returns junk", _bad_return),
        Check("t.die", "t", "dies", _die),
    ]
    start = time.monotonic()
    report = runner.run_checks(checks, ctx, deadline=time.monotonic() + 20)
    elapsed = time.monotonic() - start
    by_id = {r.id: r for r in report.results}
    assert by_id["t.ok"].state == runner.DONE and by_id["t.ok"].severity == Severity.OK
    assert by_id["t.crash"].state == runner.CRASHED
    assert "boom in check" in by_id["t.crash"].findings[0].title
    assert "RuntimeError" in by_id["t.crash"].findings[0].detail  # traceback tail
    assert by_id["t.sleep"].state == runner.TIMEOUT
    assert "did not finish within 1.0 s" in by_id["t.sleep"].findings[0].title
    assert by_id["t.bad"].state == runner.CRASHED
    assert by_id["t.die"].state == runner.CRASHED
    assert sorted(report.incomplete) == ["t.bad", "t.crash", "t.die", "t.sleep"]
    assert runner.exit_code(report) == 3
    # the overrunning check was cut at its 1 s budget, not the 20 s deadline (a spawned child
    # first imports this test module: seconds on a loaded machine)
    assert elapsed < 15


def test_checks_run_concurrently(sandbox_home):
    ctx = make_ctx(sandbox_home)

    def nap(ctx):
        time.sleep(1.0)
        return []

    checks = [Check(f"t.nap{i}", "t", "naps", nap) for i in range(6)]
    start = time.monotonic()
    report = runner.run_checks(checks, ctx, deadline=time.monotonic() + 20)
    assert all(r.complete for r in report.results)
    assert time.monotonic() - start < 4.5  # six 1 s checks, not 6 s in a row


def test_global_deadline_cuts_every_check(sandbox_home):
    ctx = make_ctx(sandbox_home)
    checks = [Check(f"t.s{i}", "t", "sleeps", _sleep, budget=60) for i in range(3)]
    start = time.monotonic()
    report = runner.run_checks(checks, ctx, deadline=time.monotonic() + 1.5)
    assert time.monotonic() - start < 3.5
    assert report.incomplete == ["t.s0", "t.s1", "t.s2"]


@pytest.mark.fuse
def test_a_check_stuck_in_stat_on_a_hung_share_does_not_hold_the_run(sandbox_home, fuse_share):
    (fuse_share.backing / "f").write_text("x")
    target = str(fuse_share.mount / "f")

    def stat_directly(ctx):  # the kind of check that must never run in the doctor's process
        os.stat(target)
        return []

    def via_probe(ctx):
        res = ctx.probe(target)
        return [Finding("t.probe", Severity.ERROR if not res.ok else Severity.OK, res.status)]

    ctx = make_ctx(sandbox_home)
    ctx.timeout = 1.0
    fuse_share.block()
    checks = [
        Check("t.stat", "t", "stats the share", stat_directly),
        Check("t.probe", "t", "probes the share", via_probe),
        Check("t.ok", "t", "healthy", _ok),
    ]
    start = time.monotonic()
    report = runner.run_checks(checks, ctx, deadline=time.monotonic() + 3)
    elapsed = time.monotonic() - start
    by_id = {r.id: r for r in report.results}
    assert elapsed < 5
    assert by_id["t.stat"].state == runner.TIMEOUT
    assert by_id["t.probe"].findings[0].title == "unresponsive"
    assert by_id["t.ok"].complete
    assert report.incomplete == ["t.stat"]


def test_registry_selects_by_id_and_group():
    ids = [c.id for c in registry.select(["mount"])]
    assert ids and all(i.startswith("mount.") for i in ids)
    assert [c.id for c in registry.select(["locking.home", "host.platform"])] == [
        "host.platform",
        "locking.home",
    ]  # registry order, not argument order
    with pytest.raises(registry.UnknownCheck):
        registry.select(["no.such.check"])
    all_ids = [c.id for c in registry.all_checks()]
    assert len(all_ids) == len(set(all_ids))
    for check in registry.all_checks():
        assert check.group in registry.GROUPS, check.id
        assert check.id.startswith(check.group + "."), check.id


def test_register_extra_checks_for_plugins():
    extra = Check("integrity.demo", "integrity", "demo", _ok, deep=True)
    registry.register(extra)
    try:
        assert extra in registry.all_checks()
        assert extra not in registry.select([])  # deep: only with --deep or by name
        assert extra in registry.select([], deep=True)
        assert registry.select(["integrity.demo"]) == [extra]
        with pytest.raises(ValueError, match="duplicate"):
            registry.register(Check("integrity.demo", "integrity", "again", _ok))
    finally:
        registry.unregister("integrity.demo")
    assert extra not in registry.all_checks()


def _mark(ctx, name: str, seconds: float) -> list[Finding]:
    """Record when this check ran (start and end, monotonic) in a file under the home."""
    start = time.monotonic()
    time.sleep(seconds)
    with open(os.path.join(ctx.home, name), "w") as fh:
        fh.write(f"{start} {time.monotonic()}")
    return []


def _busy_a(ctx):
    return _mark(ctx, "a", 1.0)


def _busy_b(ctx):
    return _mark(ctx, "b", 1.5)


def _measure(ctx):
    return _mark(ctx, "m", 0.0)


def test_alone_checks_start_after_the_others_finished(sandbox_home):
    """A measurement of the share (io.speed) must not time our own other checks' load."""
    ctx = make_ctx(sandbox_home)
    checks = [
        Check("t.a", "t", "busy", _busy_a),
        Check("t.m", "t", "measures", _measure, alone=True),
        Check("t.b", "t", "busy", _busy_b),
    ]
    report = runner.run_checks(checks, ctx, deadline=time.monotonic() + 30)
    assert [r.id for r in report.results] == ["t.a", "t.m", "t.b"]  # still in registry order
    assert all(r.state == runner.DONE for r in report.results)
    span = {n: [float(x) for x in (sandbox_home / n).read_text().split()] for n in "abm"}
    assert span["m"][0] >= max(span["a"][1], span["b"][1])
    assert registry.select(["io.speed"])[0].alone


def test_a_stuck_check_cannot_take_the_alone_checks_turn(sandbox_home):
    ctx = make_ctx(sandbox_home)
    checks = [
        Check("t.sleep", "t", "stuck", _sleep, budget=60),
        Check("t.m", "t", "measures", _measure, alone=True),
    ]
    start = time.monotonic()
    report = runner.run_checks(checks, ctx, deadline=start + 12)
    by_id = {r.id: r for r in report.results}
    assert by_id["t.sleep"].state == runner.TIMEOUT and by_id["t.m"].state == runner.DONE
    assert time.monotonic() - start < 12 + 3
