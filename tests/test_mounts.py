"""Mount tables in real formats (Linux mountinfo, macOS psutil tuples) and path lookup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from condashare.mounts import (
    Mount,
    may_be_remote,
    mount_for,
    mounts_from_partitions,
    parse_mountinfo,
    read_mount_table,
    unescape_mount_field,
)

DATA = Path(__file__).parent / "data"
LINUX = parse_mountinfo((DATA / "mountinfo-nfs-site.txt").read_text())

# macOS: psutil.disk_partitions(all=True) tuples (device, mountpoint, fstype, opts) for the
# real `mount` lines in test-recipes §5.
MACOS = mounts_from_partitions(
    [
        ("/dev/disk3s1s1", "/", "apfs", "ro,local,rootfs,dovolfs,journaled,multilabel"),
        ("/dev/disk3s5", "/System/Volumes/Data", "apfs", "rw,local,dovolfs,journaled,nobrowse"),
        ("nfs.server.com:/data/iso", "/amnt/iso", "nfs", "rw,nodev,nosuid,automounted,nobrowse"),
        (
            "192.168.1.4:/src",
            "/System/Volumes/Data/src",
            "nfs",
            "rw,nodev,nosuid,automounted,noowners,nobrowse",
        ),
        ("//user@host/Share", "/Volumes/Share", "smbfs", "rw,nodev,nosuid"),
        ("map auto_home", "/System/Volumes/Data/home", "autofs", "rw,automounted,nobrowse"),
    ]
)


def by_point(mounts: list[Mount], point: str) -> Mount:
    return next(m for m in mounts if m.mountpoint == point)


def test_octal_escapes_in_mountpoint_and_source():
    cifs = by_point(LINUX, "/mnt/win share")
    assert cifs.source == "//winsrv/Data Sets"
    assert cifs.fstype == "cifs" and cifs.is_network
    assert by_point(LINUX, "/tmp/tab\tdir").fstype == "tmpfs"
    assert unescape_mount_field(r"a\134b") == "a\\b"


def test_nfs3_soft_nolock_options():
    nfs = by_point(LINUX, "/nfs/cpkgs")
    assert nfs.is_network
    assert nfs.source == "filer2:/vol/cpkgs"
    assert nfs.hard is False
    assert nfs.nfs_version == "3"
    assert nfs.locks_local_only
    assert "ro" in nfs.options  # super options are kept too


def test_nfs4_hard_with_network_locks():
    nfs4 = by_point(LINUX, "/home/alice")
    assert nfs4.hard is True
    assert nfs4.nfs_version == "4.2"
    assert not nfs4.locks_local_only


@pytest.mark.parametrize(
    ("point", "network"),
    [
        ("/lustre/scratch", True),
        ("/gpfs/projects", True),
        ("/home/alice/remote", True),
        ("/", False),
        ("/proc", False),
        ("/sys", False),
    ],
)
def test_network_classification(point, network):
    assert by_point(LINUX, point).is_network is network


def test_fuse_subtype_classification():
    assert Mount("/x", "fuse.sshfs", "a:/b").is_network
    assert Mount("/x", "fuse.nfs", "nfsserver:/export/conda").is_network
    assert not Mount("/x", "fuse.gvfs-metadata", "x").is_network
    assert not Mount("/x", "fuse", "x").is_network


def test_autofs_is_a_trigger_not_a_network_fs():
    home = by_point(LINUX, "/home")
    assert home.is_autofs and not home.is_network


def test_longest_prefix_lookup():
    assert mount_for("/home/alice/remote/x", LINUX).fstype == "fuse.sshfs"
    assert mount_for("/home/alice/remotely", LINUX).fstype == "nfs4"  # not a path prefix
    assert mount_for("/home/bob", LINUX).fstype == "autofs"
    assert mount_for("/nfs/cpkgs/anaconda3_linux/bin/python", LINUX).mountpoint == "/nfs/cpkgs"
    assert mount_for("/usr/bin", LINUX).mountpoint == "/"
    assert mount_for("/mnt/win share/f", LINUX).fstype == "cifs"


def test_lookup_normalises_without_touching(tmp_path):
    # A path that does not exist and has ".." parts: pure string work, no error.
    assert mount_for("/nfs/cpkgs/../cpkgs/nope/../x", LINUX).mountpoint == "/nfs/cpkgs"


def test_later_mount_on_same_point_wins():
    stacked = [
        Mount("/", "ext4", "/dev/sda1"),
        Mount("/data", "ext4", "/dev/sdb"),
        Mount("/data", "nfs", "srv:/data"),
    ]
    assert mount_for("/data/x", stacked).fstype == "nfs"


def test_macos_tuples():
    assert by_point(MACOS, "/amnt/iso").is_network
    assert by_point(MACOS, "/Volumes/Share").is_network
    assert by_point(MACOS, "/System/Volumes/Data/home").is_autofs
    assert by_point(MACOS, "/System/Volumes/Data/home").source == "map auto_home"
    assert not by_point(MACOS, "/System/Volumes/Data").is_network
    assert mount_for("/System/Volumes/Data/src/conda", MACOS).source == "192.168.1.4:/src"


def test_malformed_lines_are_skipped():
    assert parse_mountinfo("garbage\n\n1 2 3\n") == []


def test_real_table_of_this_machine():
    mounts = read_mount_table()
    assert any(m.mountpoint == "/" for m in mounts)
    assert mount_for(os.getcwd(), mounts) is not None


def test_symlink_onto_a_share_counts_as_remote(tmp_path):
    # /site/cpkgs -> <share>: the mount table sees a local path, touching it reaches the share.
    share = Mount(str(tmp_path / "share"), "nfs4", "srv:/cpkgs")
    local = Mount("/", "ext4", "/dev/sda1")
    (tmp_path / "share").mkdir()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "cpkgs").symlink_to(tmp_path / "share")
    (tmp_path / "hop").symlink_to("site")  # relative link to a link onto the share
    (tmp_path / "plain").mkdir()
    (tmp_path / "usr-bin").mkdir()
    (tmp_path / "bin").symlink_to("usr-bin")  # like /bin -> usr/bin: a link that stays local
    (tmp_path / "loop").symlink_to("loop")
    table = [local, share]
    assert may_be_remote(tmp_path / "site" / "cpkgs" / "anaconda3" / "bin", table)
    assert may_be_remote(tmp_path / "hop" / "cpkgs" / "x", table)
    assert may_be_remote(tmp_path / "share" / "x", table)
    assert not may_be_remote(tmp_path / "plain" / "x", table)
    assert not may_be_remote(tmp_path / "bin" / "conda", table)
    assert not may_be_remote(tmp_path / "missing" / "deeper", table)
    assert may_be_remote(tmp_path / "loop" / "x", table)  # a loop is not trusted


def test_probe_site_file_through_symlink_to_hung_share(tmp_path, fuse_share):
    from condashare.site import SiteError, discover_site

    (fuse_share.backing / "site.toml").write_text(
        "[[installations]]\nname='a'\nprefix='/a'\nos='linux'\n"
    )
    link = tmp_path / "conf"
    link.symlink_to(fuse_share.mount)
    fuse_share.block()
    with pytest.raises(SiteError, match="unresponsive"):
        discover_site(str(link / "site.toml"), {}, str(tmp_path), [], read_mount_table())
