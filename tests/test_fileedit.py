"""condashare.files.write: atomic, symlink-following, mode-keeping edits with backups and diffs."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FuseShare

from condashare.files.write import (
    EditConflict,
    EditError,
    apply_edit,
    check_text,
    plan_edit,
    read_state,
    unified_diff,
)

REPO = Path(__file__).resolve().parents[1]


def test_plan_then_apply_keeps_mode_and_makes_backup(tmp_path: Path) -> None:
    f = tmp_path / "rc"
    f.write_bytes(b"one\n")
    f.chmod(0o640)
    edit = plan_edit(str(f), lambda old: (old or b"") + b"two\n")
    assert edit.action == "modify" and f.read_bytes() == b"one\n"  # planning changes nothing
    assert "+two" in edit.diff() and edit.diff().startswith(f"--- {f}\n+++ {f}\n")
    done = apply_edit(edit, str(tmp_path / "backups"))
    assert f.read_bytes() == b"one\ntwo\n"
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert done.backup and Path(done.backup).read_bytes() == b"one\n"


def test_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    (tmp_path / "real").write_bytes(b"a\n")
    link = tmp_path / "link"
    link.symlink_to("real")
    apply_edit(plan_edit(str(link), lambda old: b"b\n"))
    assert link.is_symlink() and os.readlink(link) == "real"
    assert (tmp_path / "real").read_bytes() == b"b\n"


def test_create_and_delete(tmp_path: Path) -> None:
    f = tmp_path / "sub" / "new.fish"
    edit = plan_edit(str(f), lambda old: b"x\n")
    assert edit.action == "create" and edit.diff().startswith("--- /dev/null")
    apply_edit(edit)
    assert f.read_bytes() == b"x\n"
    edit = plan_edit(str(f), lambda old: None)
    assert edit.action == "delete"
    apply_edit(edit, str(tmp_path / "b"))
    assert not f.exists()


def test_conflict_when_file_changed_after_planning(tmp_path: Path) -> None:
    f = tmp_path / "rc"
    f.write_bytes(b"a\n")
    edit = plan_edit(str(f), lambda old: b"b\n")
    f.write_bytes(b"someone else\n")
    with pytest.raises(EditConflict):
        apply_edit(edit)
    assert f.read_bytes() == b"someone else\n"


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(EditError, match="not UTF-8"):
        check_text("f", b"\xff")
    with pytest.raises(EditError, match="binary"):
        check_text("f", b"a\0b")
    ro = tmp_path / "ro"
    ro.write_bytes(b"a\n")
    ro.chmod(0o444)
    with pytest.raises(EditError, match="read-only"):
        plan_edit(str(ro), lambda old: b"b\n")
    with pytest.raises(EditError, match="not a regular file"):
        read_state(str(tmp_path))


def test_diff_marks_missing_final_newline() -> None:
    text = unified_diff(b"a", b"a\nb\n", "f")
    assert "\\ No newline at end of file" in text


CHILD = r"""
import sys
sys.path.insert(0, sys.argv[2])
from condashare.files.write import apply_edit, plan_edit
path = sys.argv[1]
a = b"A" * 900_000 + b"\n"
b = b"B" * 600_000 + b"\n"
sys.stdout.write("ready\n"); sys.stdout.flush()
while True:
    apply_edit(plan_edit(path, lambda old: b if old == a else a))
"""


@pytest.mark.slow
def test_killed_writer_leaves_old_or_new_file(tmp_path: Path) -> None:
    """SIGKILL a process rewriting the file at random moments: never a torn file.

    (Sizes stay under the 1 MiB the reader accepts for a user file.)"""
    f = tmp_path / "rc"
    a = b"A" * 900_000 + b"\n"
    b = b"B" * 600_000 + b"\n"
    f.write_bytes(a)
    rng = random.Random(1234)
    seen = set()
    for _ in range(25):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(f), str(REPO)], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        data = f.read_bytes()
        assert data in (a, b), len(data)
        seen.add(data[:1])
    assert seen == {b"A", b"B"}, "the kills should land at different points of the cycle"


def test_replace_file_follows_links_keeps_mode_creates_dirs(tmp_path: Path) -> None:
    from condashare.files.write import replace_file

    real = tmp_path / "real.yml"
    real.write_bytes(b"old\n")
    real.chmod(0o600)
    link = tmp_path / "link.yml"
    link.symlink_to(real)
    assert replace_file(str(link), b"new\n") == str(real)
    assert link.is_symlink() and real.read_bytes() == b"new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    fresh = tmp_path / "a" / "b" / "c.yml"
    replace_file(str(fresh), b"x\n", default_mode=0o640)
    assert fresh.read_bytes() == b"x\n"
    assert stat.S_IMODE(fresh.stat().st_mode) & ~0o640 == 0


# ---------------------------------------------------------------- special files, dead shares


def test_fifo_and_dev_zero_are_refused_before_any_read(tmp_path: Path) -> None:
    fifo = tmp_path / ".bashrc"
    os.mkfifo(fifo)
    zero = tmp_path / ".profile"
    zero.symlink_to("/dev/zero")
    for path, kind in ((fifo, "FIFO"), (zero, "character device")):
        with pytest.raises(EditError, match=kind) as exc:
            plan_edit(str(path), lambda old: b"x\n")
        assert exc.value.path == str(path)


def test_symlink_loop_is_refused_as_one(tmp_path: Path) -> None:
    (tmp_path / ".bashrc").symlink_to(".bashrc")
    with pytest.raises(EditError, match="symlink loop"):
        read_state(str(tmp_path / ".bashrc"))


@pytest.mark.fuse
def test_share_that_dies_after_planning_is_not_written(any_share: FuseShare) -> None:
    """Planned while the home answered, applied after it died: a clear error within the
    bound, nothing written (the directory probe fails first), the file intact afterwards."""
    from condashare.files.read import Reader
    from condashare.files.write import EditUnresponsive, exclusive_lock, replace_file
    from condashare.host.mounts import read_mount_table

    (any_share.backing / "ada").mkdir()
    (any_share.backing / "ada" / ".bashrc").write_bytes(b"old\n")
    rc = any_share.mount / "ada" / ".bashrc"
    reader = Reader(read_mount_table(), 1.0, str(any_share.mount / "ada"))
    edit = plan_edit(str(rc), lambda old: b"new\n", reader=reader)
    assert edit.old == b"old\n" and edit.target == str(rc)
    any_share.block()
    start = time.monotonic()
    with pytest.raises(EditUnresponsive, match=r"not answering.*nothing was written"):
        apply_edit(edit, str(any_share.mount / "ada" / "backups"), reader)
    assert time.monotonic() - start < 1.0 + 3.0
    with pytest.raises(EditUnresponsive):
        replace_file(str(rc), b"other\n", reader=reader)
    with pytest.raises(EditUnresponsive), exclusive_lock(str(rc) + ".lock", reader=reader):
        pass  # pragma: no cover - the lock is never taken
    any_share.heal()
    assert rc.read_bytes() == b"old\n"
    assert not (any_share.backing / "ada" / "backups").exists()


@pytest.mark.fuse
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_edit_on_a_healthy_share_runs_bounded_and_keeps_the_promises(
    fuse_share: FuseShare, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """The apply runs in a child (either start method: macOS spawns) and still follows the
    link, keeps the mode and makes the backup."""
    from condashare.bounded import children
    from condashare.files.read import Reader
    from condashare.host.mounts import read_mount_table

    monkeypatch.setattr(children, "START_METHOD", method)
    home = fuse_share.backing / "ada"
    home.mkdir()
    (home / "dotfiles").mkdir()
    (home / "dotfiles" / "bashrc").write_bytes(b"one\n")
    (home / "dotfiles" / "bashrc").chmod(0o640)
    (home / ".bashrc").symlink_to("dotfiles/bashrc")
    shown = fuse_share.mount / "ada"
    reader = Reader(read_mount_table(), 2.0, str(shown))
    edit = plan_edit(str(shown / ".bashrc"), lambda old: (old or b"") + b"two\n", reader=reader)
    assert edit.link and edit.target == str(shown / "dotfiles" / "bashrc")
    done = apply_edit(edit, str(shown / "backups"), reader)
    assert (home / "dotfiles" / "bashrc").read_bytes() == b"one\ntwo\n"
    assert (home / ".bashrc").is_symlink()
    assert stat.S_IMODE((home / "dotfiles" / "bashrc").stat().st_mode) == 0o640
    assert done.backup and Path(done.backup).read_bytes() == b"one\n"
