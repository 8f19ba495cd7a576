"""A command under a deadline: output captured, a hung one abandoned and later reaped."""

from __future__ import annotations

import time

import pytest
from support.procs import child_states, wait_reaped

from condashare.bounded.children import reap
from condashare.bounded.commands import run_command

ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}


def test_output_and_exit_code_are_captured(tmp_path):
    res = run_command(["sh", "-c", "pwd; echo oops >&2; exit 3"], ENV, 10, cwd=str(tmp_path))
    assert (res.status, res.returncode) == ("ok", 3)
    assert res.stdout == f"{tmp_path}\n".encode()
    assert res.stderr == b"oops\n"


def test_a_command_that_cannot_start_is_an_error():
    res = run_command(["/nonexistent/program"], ENV, 10)
    assert res.status == "error" and res.returncode is None
    assert b"No such file" in res.stderr


def test_a_command_past_its_deadline_is_killed_and_reaped():
    before = set(child_states())
    start = time.monotonic()
    res = run_command(["sleep", "60"], ENV, 0.5)
    assert time.monotonic() - start < 0.5 + 2.0
    assert res.status == "unresponsive" and res.returncode is None
    assert wait_reaped() == 0
    assert not set(child_states()) - before  # killed, collected: no zombie left


@pytest.mark.fuse
def test_a_command_stuck_on_a_hung_share_is_abandoned_then_reaped(fuse_share):
    """``cat`` blocked in ``open`` on a dead share cannot be killed; we return at the deadline
    anyway, and the process is collected once the share answers again."""
    (fuse_share.backing / "f").write_text("x")
    before = set(child_states())
    fuse_share.block()
    start = time.monotonic()
    res = run_command(["cat", str(fuse_share.mount / "f")], ENV, 0.5)
    assert time.monotonic() - start < 0.5 + 2.0
    assert res.status == "unresponsive"
    stuck = set(child_states()) - before
    assert len(stuck) == 1 and reap() == 1  # SIGKILL is pending: it is still there
    (pid,) = stuck
    # in the kernel, waiting for the share, not a zombie; the kill can find it running for a
    # moment (R) on its way back into the wait
    settle = time.monotonic() + 2.0
    while child_states()[pid] == "R" and time.monotonic() < settle:
        time.sleep(0.01)
    assert child_states()[pid] in "DS"
    fuse_share.heal()
    assert wait_reaped() == 0
    assert pid not in child_states()  # gone, not left as a zombie
