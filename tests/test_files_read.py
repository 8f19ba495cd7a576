"""condashare.files.read: the one reader of user files, on real special files and real shares.

A reader that opened a FIFO would wait for a writer forever, and one that read /dev/zero would
never end: each such test runs under an alarm that turns a hang into a failure.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
from conftest import FuseShare

from condashare.files.read import (
    MAX_FILE_BYTES,
    Reader,
    ReadStatus,
    UserFileError,
    read_local,
)
from condashare.host.mounts import read_mount_table


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the body blocks longer than ``seconds``."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"still blocked after {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def local_reader() -> Reader:
    return Reader(read_mount_table(), 1.0)


def test_regular_file_is_read_with_mode_and_owner(tmp_path: Path) -> None:
    f = tmp_path / ".bashrc"
    f.write_bytes(b"alias ll='ls -l'\n")
    f.chmod(0o640)
    res = local_reader().read(str(f))
    assert res.status is ReadStatus.OK and res.data == b"alias ll='ls -l'\n"
    assert res.mode is not None and stat.S_IMODE(res.mode) == 0o640
    assert (res.uid, res.gid) == (os.getuid(), os.getgid())
    assert not res.remote


def test_missing_file_and_missing_directory(tmp_path: Path) -> None:
    reader = local_reader()
    assert reader.read(str(tmp_path / "nope")).status is ReadStatus.MISSING
    assert reader.read(str(tmp_path / "no" / "dir" / "rc")).status is ReadStatus.MISSING
    assert reader.require(str(tmp_path / "nope")) is None


@pytest.mark.parametrize("how", ["fifo", "fifo-behind-symlink"])
def test_fifo_is_refused_without_blocking(tmp_path: Path, how: str) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    path = fifo
    if how == "fifo-behind-symlink":
        path = tmp_path / ".condarc"
        path.symlink_to(fifo)
    with deadline(5):
        res = local_reader().read(str(path))
    assert res.status is ReadStatus.REFUSED
    assert "FIFO" in res.reason and res.message.startswith(f"{path}: ")


def test_dev_zero_is_refused_not_read(tmp_path: Path) -> None:
    link = tmp_path / ".condarc"
    link.symlink_to("/dev/zero")
    with deadline(5):
        res = local_reader().read(str(link))
    assert res.status is ReadStatus.REFUSED and "character device" in res.reason
    assert res.data is None


def test_directory_socket_and_symlink_loop_are_refused(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    reader = local_reader()
    try:
        with deadline(5):
            found = {name: reader.read(str(tmp_path / name)) for name in ("dir", "sock", "a")}
    finally:
        sock.close()
    assert all(r.status is ReadStatus.REFUSED for r in found.values())
    assert "directory" in found["dir"].reason
    assert "socket" in found["sock"].reason
    assert "symlink loop" in found["a"].reason


def test_size_cap_refuses_big_files_and_accepts_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big"
    with open(big, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)  # sparse: the refusal comes from the size, not a read
    res = local_reader().read(str(big))
    assert res.status is ReadStatus.REFUSED and "1 MiB" in res.reason
    exact = tmp_path / "exact"
    exact.write_bytes(b"x" * MAX_FILE_BYTES)
    assert local_reader().read(str(exact)).data == b"x" * MAX_FILE_BYTES
    small_cap = local_reader().read(str(exact), max_bytes=100)
    assert small_cap.status is ReadStatus.REFUSED


def test_a_file_in_place_of_a_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".config").write_text("not a directory\n")
    res = read_local(str(tmp_path / ".config" / "fish" / "config.fish"))
    assert res.status is ReadStatus.ERROR and "Not a directory" in res.reason


def test_user_file_error_exit_codes(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UserFileError) as refused:
        local_reader().require(str(fifo))
    assert refused.value.exit_code == 2 and str(fifo) in str(refused.value)


def test_exists_many_is_lexists(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    (tmp_path / "dangling").symlink_to("nowhere")
    found = local_reader().exists_many(str(tmp_path / n) for n in ("file", "dangling", "none"))
    assert list(found.values()) == [True, True, False]


# ---------------------------------------------------------------- on a share (FUSE)


@pytest.mark.fuse
def test_files_on_a_healthy_share_are_read_through_probes(fuse_share: FuseShare) -> None:
    home = fuse_share.backing / "ada"
    home.mkdir()
    (home / ".bashrc").write_text("echo hi\n")
    (home / "dir").mkdir()
    (home / "loop").symlink_to("loop")
    (home / "big").write_bytes(b"x" * 200)
    shown = fuse_share.mount / "ada"
    reader = Reader(read_mount_table(), 2.0, str(shown))
    found = reader.read_many(str(shown / n) for n in (".bashrc", "dir", "loop", "none"))
    rc = found[str(shown / ".bashrc")]
    assert rc.status is ReadStatus.OK and rc.data == b"echo hi\n" and rc.remote
    assert found[str(shown / "dir")].status is ReadStatus.REFUSED
    assert "symlink loop" in found[str(shown / "loop")].reason
    assert found[str(shown / "none")].status is ReadStatus.MISSING
    assert reader.read(str(shown / "big"), max_bytes=100).status is ReadStatus.REFUSED
    assert reader.exists_many([str(shown / ".bashrc"), str(shown / "nope")]) == {
        str(shown / ".bashrc"): True,
        str(shown / "nope"): False,
    }
    assert reader.check_dir(str(shown / "not" / "yet")).ok  # the nearest existing dir answers


@pytest.mark.fuse
def test_special_files_on_a_share_are_refused_without_opening_them(fuse_share: FuseShare) -> None:
    # One head probe per file stats first and opens only a regular file: a FIFO on the share
    # (or a link from it to /dev/zero) is refused from its kind, the reader never blocks.
    home = fuse_share.backing / "ada"
    home.mkdir()
    os.mkfifo(home / "pipe")
    (home / ".condarc").symlink_to("/dev/zero")
    shown = fuse_share.mount / "ada"
    reader = Reader(read_mount_table(), 2.0, str(shown))
    with deadline(5):
        found = reader.read_many([str(shown / "pipe"), str(shown / ".condarc")])
    pipe, zero = found[str(shown / "pipe")], found[str(shown / ".condarc")]
    assert pipe.status is ReadStatus.REFUSED and "FIFO" in pipe.reason and pipe.remote
    assert zero.status is ReadStatus.REFUSED and "character device" in zero.reason
    assert pipe.data is None and zero.data is None


@pytest.mark.fuse
def test_dead_share_is_unresponsive_within_the_timeout_and_asked_once(
    any_share: FuseShare,
) -> None:
    home = any_share.backing / "ada"
    home.mkdir()
    for name in (".bashrc", ".profile"):
        (home / name).write_text("x\n")
    shown = any_share.mount / "ada"
    reader = Reader(read_mount_table(), 1.0, str(shown))
    assert reader.read(str(shown / ".bashrc")).ok  # warms the kernel cache of cached_share
    any_share.block()
    start = time.monotonic()
    first = reader.read(str(shown / ".bashrc"))
    elapsed = time.monotonic() - start
    assert first.status is ReadStatus.UNRESPONSIVE
    assert first.reason.startswith(f"your home {shown} is on nfsserver:/export/conda")
    assert "not answering" in first.reason
    assert elapsed < 1.0 + 3.0, elapsed  # one probe timeout, plus starting the probe children
    start = time.monotonic()
    second = reader.read(str(shown / ".profile"))  # same share: not asked again
    assert second.status is ReadStatus.UNRESPONSIVE and time.monotonic() - start < 0.5
    with pytest.raises(UserFileError) as exc:
        reader.exists(str(shown / ".zshrc"))
    assert exc.value.exit_code == 3
    assert reader.check_dir(str(shown)).status is ReadStatus.UNRESPONSIVE
