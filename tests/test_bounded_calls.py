"""A function in a child under a deadline, started both ways (fork: Linux; spawn: macOS)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from support.procs import child_states, wait_reaped

from condashare.bounded import calls, children

METHODS = ["fork", "spawn"]


def _double(x: int) -> tuple[int, int]:
    return 2 * x, os.getpid()


def _raise() -> None:
    raise ValueError("bad input in the child")


def _sleep() -> None:
    time.sleep(60)


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _read(path: str) -> str:
    return Path(path).read_text()


@pytest.mark.parametrize("method", METHODS)
def test_value_comes_back_from_another_process(method):
    answer = calls.call(_double, 21, timeout=30, method=method)
    assert answer.state == calls.DONE, answer
    value, pid = answer.value
    assert value == 42 and pid != os.getpid()


@pytest.mark.parametrize("method", METHODS)
def test_exception_becomes_an_answer_with_its_traceback(method):
    answer = calls.call(_raise, timeout=30, method=method)
    assert answer.state == calls.RAISED
    assert answer.error == "ValueError: bad input in the child"
    assert "_raise" in answer.traceback


@pytest.mark.parametrize("method", METHODS)
def test_a_child_that_dies_is_reported_with_its_signal(method):
    answer = calls.call(_kill_self, timeout=30, method=method)
    assert answer.state == calls.DIED
    assert "killed by signal 9" in answer.error


@pytest.mark.parametrize("method", METHODS)
def test_overrun_is_cut_at_the_deadline_and_reaped(method):
    before = set(child_states())
    start = time.monotonic()
    answer = calls.call(_sleep, timeout=1.0, method=method)
    assert answer.state == calls.TIMEOUT
    assert time.monotonic() - start < 1.0 + 2.0
    assert wait_reaped() == 0
    assert not set(child_states()) - before  # no zombie


@pytest.mark.parametrize("method", METHODS)
def test_a_budget_counts_from_when_the_child_is_ready(method):
    """A spawned child spends ~0.1 s importing before it can run the function: that is not
    the function's time. The budget still cuts a function that overruns it."""
    quick = calls.start(_double, 21, deadline=time.monotonic() + 30, budget=0.05, method=method)
    slow = calls.start(_sleep, deadline=time.monotonic() + 30, budget=0.5, method=method)
    start = time.monotonic()
    answers = calls.collect({"quick": quick, "slow": slow})
    assert answers["quick"].state == calls.DONE, answers["quick"]
    assert answers["slow"].state == calls.TIMEOUT
    assert time.monotonic() - start < 0.5 + 5.0  # cut by its budget, not the 30 s deadline
    assert wait_reaped() == 0


def test_what_cannot_be_sent_to_a_spawned_child_is_an_error_not_a_crash():
    answer = calls.call(lambda: 1, timeout=30, method="spawn")
    assert answer.state == calls.RAISED and "cannot be sent to a child process" in answer.error


@pytest.mark.fuse
@pytest.mark.parametrize("method", METHODS)
def test_a_function_stuck_on_a_hung_share_is_abandoned_then_reaped(method, any_share):
    (any_share.backing / "f").write_text("x")
    target = str(any_share.mount / "f")
    assert calls.call(_read, target, timeout=30, method=method).value == "x"
    before = set(child_states())
    any_share.block()
    # a budget counts from when the function runs, so a slow spawn under load still reaches
    # the read (a child killed while it is still starting is not stuck, and is reaped at once)
    task = calls.start(_read, target, deadline=time.monotonic() + 60, budget=1.0, method=method)
    answer = calls.collect({"t": task})["t"]
    assert answer.state == calls.TIMEOUT
    assert answer.seconds < 60
    stuck = set(child_states()) - before
    assert len(stuck) == 1 and children.reap() == 1  # unkillable until the share answers
    any_share.heal()
    assert wait_reaped() == 0
    assert not stuck & set(child_states())


def _nested_call_on_hung_share(path: str) -> str:
    """A check that itself probes a share in a child: the grandchild hangs and is abandoned."""
    inner = calls.call(_read, path, timeout=0.5, method="fork")
    return inner.state


@pytest.mark.parametrize("method", METHODS)
def test_an_answer_is_taken_without_waiting_for_a_grandchild_that_holds_the_pipe(method, any_share):
    # The forked grandchild inherits the outer child's answer pipe; when it hangs on the share,
    # end-of-file never comes. The answer must still arrive as soon as the outer child sent it.
    target = any_share.backing / "conda.sh"
    target.write_text("x\n")
    (any_share.mount / "conda.sh").read_text()  # warm the cache (matters for the cached share)
    any_share.block()
    started = time.monotonic()
    answer = calls.call(_nested_call_on_hung_share, str(any_share.mount / "conda.sh"),
                        timeout=20, method=method)  # fmt: skip
    assert answer.state == calls.DONE, answer
    assert answer.value == calls.TIMEOUT
    assert time.monotonic() - started < 10  # not the 20 s deadline
