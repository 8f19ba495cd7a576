"""Liveness: an open + read of a file the directory holds, which a client cache cannot fake."""

from __future__ import annotations

import errno
import time
from pathlib import Path

import pytest
from conftest import FuseShare

from condashare.bounded.liveness import (
    INSTALLATION,
    error_words,
    probe_liveness,
    probe_liveness_many,
)
from condashare.bounded.paths import probe


def test_the_file_users_open_next_is_the_one_read(tmp_path: Path) -> None:
    (tmp_path / "etc" / "profile.d").mkdir(parents=True)
    (tmp_path / "etc" / "profile.d" / "conda.sh").write_text("conda() { :; }\n")
    (tmp_path / "conda-meta").mkdir()
    (tmp_path / "conda-meta" / "history").write_text("")
    found = probe_liveness(str(tmp_path), INSTALLATION, 2.0)
    assert found.status == "ok" and found.file == "etc/profile.d/conda.sh"
    assert found.describe().startswith("responsive (etc/profile.d/conda.sh read in ")


def test_a_record_found_by_a_bounded_listing_when_no_named_file_exists(tmp_path: Path) -> None:
    (tmp_path / "conda-meta").mkdir()
    (tmp_path / "conda-meta" / "zlib-1.3-0.json").write_text("{}")
    (tmp_path / "conda-meta" / "alpha-1.0-0.json").write_text("{}")
    (tmp_path / "conda-meta" / "notes.txt").write_text("")
    found = probe_liveness(str(tmp_path), INSTALLATION, 2.0)
    assert (found.status, found.file) == ("ok", "conda-meta/alpha-1.0-0.json")


def test_nothing_to_read_is_unproven_and_an_absent_directory_missing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    verdicts = probe_liveness_many(
        [(str(tmp_path / "empty"), INSTALLATION), (str(tmp_path / "gone"), INSTALLATION)], 2.0
    )
    assert verdicts[str(tmp_path / "empty")].status == "unproven"
    assert verdicts[str(tmp_path / "gone")].describe() == "missing"


def test_errno_words_name_the_failure() -> None:
    assert error_words(errno.ESTALE) == "stale file handle (ESTALE)"
    assert error_words(errno.EIO) == "I/O error (EIO)"
    assert error_words(errno.ENOTCONN) == "transport endpoint not connected (ENOTCONN)"
    assert error_words(errno.ELOOP) == "too many levels of symbolic links (ELOOP)"
    assert error_words("116", "Boom") == "boom"  # not an errno (JSON junk): the text


@pytest.mark.fuse
def test_a_share_hung_after_a_warm_use_is_unresponsive_though_stat_still_answers(
    cached_share: FuseShare,
) -> None:
    (cached_share.backing / "etc" / "profile.d").mkdir(parents=True)
    (cached_share.backing / "etc" / "profile.d" / "conda.sh").write_text("conda() { :; }\n")
    prefix = str(cached_share.mount)
    assert probe_liveness(prefix, INSTALLATION, 2.0).ok  # the healthy use warms the cache
    cached_share.block()
    assert probe(prefix, 1.0).ok  # the lie a stat tells: answered from the attribute cache
    start = time.monotonic()
    dead = probe_liveness(prefix, INSTALLATION, 1.0)
    assert time.monotonic() - start < 1.0 + 0.5
    assert dead.describe() == "unresponsive (no answer in 1.0 s)"
    assert dead.file == "etc/profile.d/conda.sh"


@pytest.mark.fuse
@pytest.mark.parametrize("name", ["ESTALE", "EIO", "ENOTCONN"])
def test_a_failing_share_is_named_by_its_errno_not_missing(
    cached_share: FuseShare, name: str
) -> None:
    (cached_share.backing / "conda-meta").mkdir()
    (cached_share.backing / "conda-meta" / "history").write_text("")
    prefix = str(cached_share.mount)
    assert probe_liveness(prefix, INSTALLATION, 2.0).ok
    cached_share.fail(name)
    failed = probe_liveness(prefix, INSTALLATION, 2.0)
    assert (failed.status, failed.errname) == ("error", name)
    assert failed.describe() == f"failing: {error_words(getattr(errno, name))}"


@pytest.mark.fuse
def test_a_dead_share_does_not_make_a_live_one_look_dead(
    fuse_share: FuseShare, tmp_path: Path
) -> None:
    """Round 1 waits out the timeout on the dead share; the live directory that needed a listing
    is then 'not proven', never 'unresponsive'."""
    (fuse_share.backing / "conda-meta").mkdir()
    (fuse_share.backing / "conda-meta" / "history").write_text("")
    live = tmp_path / "live"
    (live / "conda-meta").mkdir(parents=True)
    (live / "conda-meta" / "alpha-1.0-0.json").write_text("{}")
    fuse_share.block()
    verdicts = probe_liveness_many(
        [(str(fuse_share.mount), INSTALLATION), (str(live), INSTALLATION)], 1.0
    )
    assert verdicts[str(fuse_share.mount)].status == "unresponsive"
    assert verdicts[str(live)].describe() == (
        "not proven to answer (no time left to read a file: another share did not answer)"
    )
