"""Mount tables in real formats (Linux mountinfo, macOS psutil tuples) and path lookup."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, mount_share, need, run_cli, unmount_share

from condashare.host.mounts import (
    Mount,
    MountKind,
    classify,
    may_be_remote,
    mount_for,
    mounts_from_partitions,
    parse_mountinfo,
    read_mount_table,
    unescape_mount_field,
)

DATA = Path(__file__).parent / "data"
LINUX = parse_mountinfo((DATA / "mountinfo-nfs-site.txt").read_bytes())
ODD = parse_mountinfo((DATA / "mountinfo-odd-names").read_bytes())
TYPES = parse_mountinfo((DATA / "mountinfo-network-types.txt").read_bytes())

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
    ],
    system="darwin",
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


def test_a_fuse_client_named_nfs_is_neither_hard_nor_soft():
    """fuse.nfs (a userspace NFS client) has no kernel hard/soft setting to report."""
    line = b"40 30 0:50 / /mnt/nfs rw,nosuid,nodev - fuse.nfs nfsserver:/export rw,user_id=0\n"
    (fuse_nfs,) = parse_mountinfo(line)
    assert fuse_nfs.is_network and fuse_nfs.hard is None


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
    # FUSE that is not known to be network is not called network, but it is still bounded.
    for other in (Mount("/x", "fuse.gvfs-metadata", "x"), Mount("/x", "fuse", "x")):
        assert not other.is_network and other.possibly_remote


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
    from condashare.site.file import SiteError, discover_site

    (fuse_share.backing / "site.toml").write_text(
        "[[installations]]\nname='a'\nprefix='/a'\nos='linux'\n"
    )
    link = tmp_path / "conf"
    link.symlink_to(fuse_share.mount)
    fuse_share.block()
    with pytest.raises(SiteError, match="unresponsive"):
        discover_site(str(link / "site.toml"), {}, str(tmp_path), [], read_mount_table())


# ---------------------------------------------------------------- bytes, odd names, ro/rw

ODD_POINTS = [
    "/mnt/cr\rname",
    "/mnt/ls\u2028name",
    "/mnt/ps\u2029name",
    "/mnt/vt\vff\fname",
    "/mnt/fs\x1cgs\x1drs\x1ename",
    "/mnt/nel\u0085name",
    "/mnt/raw\udc85byte",  # a byte that is not UTF-8, kept as os.fsdecode keeps it
    "/mnt/sp tab\tnl\nbs\\name",
    "/mnt/\u00e9t\u00e9",  # octal escapes are bytes: \\303\\251 is one character
    "/mnt/caf\u00e9",
]


@pytest.mark.parametrize("point", ODD_POINTS, ids=ascii)
def test_mount_points_with_line_break_characters_survive(point):
    # str.splitlines() cut these lines apart (\\r, \\v, \\f, \\x1c-\\x1e, U+0085, U+2028/9)
    # and lost the mount: a path below it was then taken to be on "/".
    assert mount_for(point + "/conda/bin/python", ODD).mountpoint == point


def test_text_and_bytes_give_the_same_records():
    raw = (DATA / "mountinfo-odd-names").read_bytes()
    assert parse_mountinfo(raw.decode("utf-8", "surrogateescape")) == ODD
    assert len(ODD) == raw.count(b"\n")


def test_path_under_odd_network_mount_is_remote(tmp_path):
    point = tmp_path / "share\r\u2028x"
    point.mkdir()
    table = parse_mountinfo(
        b"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        + b"2 1 0:9 / "
        + os.fsencode(point)
        + b" rw - nfs4 srv:/x rw,vers=4.2\n"
    )
    assert mount_for(point / "bin", table).fstype == "nfs4"
    assert may_be_remote(point / "bin" / "conda", table)
    assert not may_be_remote(tmp_path / "bin", table)


def test_escapes_decoded_as_bytes():
    assert unescape_mount_field(r"a\134b\040c") == "a\\b c"
    assert unescape_mount_field(r"\303\251") == "\u00e9"
    assert unescape_mount_field(r"\777") == r"\777"  # not a byte: left as written
    raw = os.fsencode(by_point(ODD, "/mnt/raw\udc85byte").mountpoint)
    assert raw == b"/mnt/raw\x85byte"


def test_one_access_mode_and_writes_refused_if_either_level_is_ro():
    for point in ("/mnt/ro-bind", "/mnt/ro-super"):
        mount = by_point(ODD, point)
        assert mount.read_only
        assert "ro" in mount.options and "rw" not in mount.options
    # Shown as the mount level says, with what the kernel enforces when the levels disagree.
    assert by_point(ODD, "/mnt/ro-bind").access_text == "ro"
    assert by_point(ODD, "/mnt/ro-super").access_text == (
        "rw mount of a read-only filesystem: writes fail"
    )
    plain = by_point(ODD, "/")
    assert plain.access_text == "rw"
    assert not plain.read_only and plain.options.count("rw") == 1
    assert plain.options == ("rw", "relatime", "errors=remount-ro")


def _in_private_mount_namespace(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``sh -c script`` in a throwaway mount namespace (root only): its mounts vanish with it."""
    need(os.geteuid() == 0, "needs root to mount in a private mount namespace")
    need(shutil.which("unshare") is not None, "unshare is missing (apt-get install util-linux)")
    need(shutil.which("mount") is not None, "mount is missing (apt-get install mount)")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    need(
        "unshare failed" not in proc.stderr and "Operation not permitted" not in proc.stderr,
        f"mount namespaces are not allowed here: {proc.stderr.strip()}",
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_real_kernel_table_keeps_odd_mount_point(tmp_path):
    point = tmp_path / "odd\r\u2028\x0bname"
    point.mkdir()
    code = (
        "import json, sys\n"
        "from condashare.host.mounts import mount_for, read_mount_table\n"
        "m = mount_for(sys.argv[1] + '/conda/bin', read_mount_table())\n"
        "print(json.dumps([m.mountpoint, m.fstype, m.source]))\n"
    )
    proc = _in_private_mount_namespace(
        'mount -t tmpfs condashare-odd "$1" && exec "$2" -c "$3" "$1"',
        str(point), sys.executable, code,
    )  # fmt: skip
    assert json.loads(proc.stdout) == [str(point), "tmpfs", "condashare-odd"]


def test_real_read_only_bind_and_read_only_superblock(tmp_path):
    # Both disagreements the kernel can show: a read-only bind of a writable tmpfs, and a
    # bind made writable on a read-only tmpfs. Writes fail in both, and the record says "ro".
    for name in ("rw-super", "ro-bind", "ro-super", "rw-bind"):
        (tmp_path / name).mkdir()
    code = (
        "import json, sys, errno\n"
        "from condashare.host.mounts import mount_for, read_mount_table\n"
        "out = {}\n"
        "for p in sys.argv[1:]:\n"
        "    m = mount_for(p + '/f', read_mount_table())\n"
        "    try:\n"
        "        open(p + '/f', 'w').close()\n"
        "        err = 0\n"
        "    except OSError as exc:\n"
        "        err = exc.errno\n"
        "    out[p] = [m.mountpoint, list(m.options), err, m.access_text]\n"
        "print(json.dumps(out))\n"
    )
    t = str(tmp_path)
    script = (
        'mount -t tmpfs ul-rw "$1/rw-super" && mount --bind "$1/rw-super" "$1/ro-bind"'
        ' && mount -o remount,bind,ro "$1/ro-bind"'
        ' && mount -t tmpfs -o ro ul-ro "$1/ro-super" && mount --bind "$1/ro-super" "$1/rw-bind"'
        ' && mount -o remount,bind,rw "$1/rw-bind"'
        ' && exec "$2" -c "$3" "$1/ro-bind" "$1/rw-bind" "$1/rw-super"'
    )
    out = json.loads(_in_private_mount_namespace(script, t, sys.executable, code).stdout)
    for name in ("ro-bind", "rw-bind"):
        point, options, err, _ = out[f"{t}/{name}"]
        assert point == f"{t}/{name}"
        assert err == errno.EROFS
        assert options[0] == "ro" and "rw" not in options
    assert out[f"{t}/ro-bind"][3] == "ro"
    assert out[f"{t}/rw-bind"][3] == "rw mount of a read-only filesystem: writes fail"
    point, options, err, _ = out[f"{t}/rw-super"]
    assert err == 0 and options[0] == "rw" and "ro" not in options


# ---------------------------------------------------------------- findmnt agrees, mount for mount

_HEX = re.compile(rb"\\x([0-9a-fA-F]{2})")


def _findmnt_records(path: Path) -> list[tuple[str, str, str, str]]:
    r"""What ``findmnt -F`` makes of a table. Raw mode writes every unsafe byte (space and
    backslash too) as ``\xHH`` and separates columns by one space, so it decodes unambiguously."""
    findmnt = shutil.which("findmnt")
    need(findmnt is not None, "findmnt is missing (apt-get install util-linux)")
    assert findmnt is not None
    cols = "TARGET,FSTYPE,SOURCE,OPTIONS"
    out = subprocess.run(
        [findmnt, "-F", str(path), "--raw", "--noheadings", "--nofsroot", "-o", cols],
        capture_output=True, check=True, timeout=30, env=dict(os.environ, LC_ALL="C"),
    ).stdout  # fmt: skip
    records = []
    for line in out.split(b"\n"):
        if line:
            target, fstype, source, options = (
                _HEX.sub(lambda m: bytes((int(m.group(1), 16),)), f).decode(
                    "utf-8", "surrogateescape"
                )
                for f in line.split(b" ")
            )
            records.append((target, fstype, source, options))
    return sorted(records)


def _assert_same_as_findmnt(path: Path) -> None:
    ours = sorted(
        (m.mountpoint, m.fstype, m.source, ",".join(m.options))
        for m in parse_mountinfo(path.read_bytes())
    )
    assert ours  # an empty parse would trivially "agree" with an empty findmnt
    assert ours == _findmnt_records(path)


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("mountinfo*")))
def test_our_fixtures_match_findmnt(name):
    _assert_same_as_findmnt(DATA / name)


def test_this_machines_table_matches_findmnt(tmp_path):
    snapshot = tmp_path / "mountinfo"  # one read: mounts come and go while tests run
    snapshot.write_bytes(Path("/proc/self/mountinfo").read_bytes())
    _assert_same_as_findmnt(snapshot)


UTIL_LINUX_SRC = os.environ.get("CONDASHARE_UTIL_LINUX_SRC", "")


def _util_linux_fixtures() -> list[Path]:
    if not UTIL_LINUX_SRC:
        return []
    root = Path(UTIL_LINUX_SRC)
    return sorted(
        [*root.glob("tests/ts/*/files/mountinfo*"), *root.glob("libmount/files/mountinfo*")]
    )


@pytest.mark.parametrize(
    "path",
    _util_linux_fixtures() or [None],
    ids=lambda p: "-".join(p.parts[-3::2]) if p else "missing",
)
def test_util_linux_fixtures_match_findmnt(path):
    # util-linux's own test tables (messy ordering, no source, btrfs, a mount point with \r ...).
    # They are not copied into this repository: .ci/run takes them from Debian's util-linux
    # source package and points CONDASHARE_UTIL_LINUX_SRC at the unpacked tree.
    if UTIL_LINUX_SRC:
        assert path is not None, f"no tests/ts/*/files/mountinfo* under {UTIL_LINUX_SRC}"
    need(path is not None, "set CONDASHARE_UTIL_LINUX_SRC to a util-linux source tree")
    _assert_same_as_findmnt(path)


# ---------------------------------------------------------------- remote unless known local


@pytest.mark.parametrize(
    "point",
    [
        "/cephfs",  # fuse.ceph-fuse
        "/cvmfs/sft.cern.ch",  # plain fuse, source cvmfs2
        "/cvmfs/atlas.cern.ch",  # fuse.cvmfs2
        "/home/alice/old-sshfs",  # plain fuse, source sshfs#alice@login:/data
        "/home/alice/sshfs",
        "/mnt/weka",
        "/quobyte",
        "/quobyte-kernel",
        "/gluster",
        "/mnt/beegfs",
        "/lustre",
        "/gpfs/fs1",
        "/mnt/smb3",
        "/mnt/cifs",
        "/mnt/9p",
        "/mnt/virtiofs",
        "/nfs",
    ],
)
def test_network_filesystems_classified_network(point):
    mount = by_point(TYPES, point)
    assert mount.classification.kind is MountKind.NETWORK, mount
    assert mount.is_network and mount.possibly_remote
    assert mount_for(point + "/anaconda3/bin/conda", TYPES) == mount


@pytest.mark.parametrize(
    "fstype",
    ["nfs", "nfs4", "cifs", "smb3", "smbfs", "afs", "kafs", "auristorfs", "coda", "lustre",
     "gpfs", "beegfs", "fhgfs", "ceph", "glusterfs", "gfs", "gfs2", "ocfs2", "orangefs", "pvfs2",
     "panfs", "ncp", "ncpfs", "davfs", "vxfs", "acfs", "9p", "virtiofs", "fuse.sshfs",
     "fuse.s3fs", "fuse.rclone", "fuse.gcsfuse", "fuse.nfs"],
)  # fmt: skip
def test_recipe_list_is_network(fstype):
    assert Mount("/x", fstype, "src").is_network


@pytest.mark.parametrize(
    ("point", "reason"),
    [
        ("/mnt/foofs", "FUSE filesystem fuse.foofs: treated as possibly remote"),
        ("/mnt/weird", "unknown filesystem type weirdfs: treated as possibly remote"),
        ("/mnt/usb", "FUSE filesystem on a block device (fuseblk): treated as possibly remote"),
    ],
)
def test_unknown_types_are_possibly_remote(tmp_path, point, reason):
    mount = by_point(TYPES, point)
    assert mount.classification.kind is MountKind.UNKNOWN
    assert mount.classification.reason == reason
    assert not mount.is_network  # not claimed to be network ...
    here = Mount(str(tmp_path), mount.fstype, mount.source)
    assert may_be_remote(tmp_path / "x", [Mount("/", "ext4", "/dev/sda1"), here])  # ... but bounded


def test_known_local_types_are_local(tmp_path):
    assert by_point(TYPES, "/").classification.kind is MountKind.LOCAL
    assert by_point(TYPES, "/scratch").classification.kind is MountKind.LOCAL  # xfs
    assert by_point(TYPES, "/home").classification.kind is MountKind.AUTOMOUNT
    table = [Mount("/", "ext4", "/dev/sda1"), Mount(str(tmp_path), "xfs", "/dev/sdb1")]
    assert not may_be_remote(tmp_path / "anaconda3" / "bin", table)


def test_no_mount_record_is_possibly_remote(tmp_path):
    assert classify(None).possibly_remote
    assert classify(None).reason == "not in the mount table: treated as possibly remote"
    assert may_be_remote(tmp_path / "x", [])  # e.g. the table could not be read
    assert may_be_remote(tmp_path / "x", [Mount("/elsewhere", "ext4", "/dev/sda1")])
    assert may_be_remote("/", [Mount("/", "weirdfs", "w")])


def test_macos_local_only_when_flagged_local():
    assert by_point(MACOS, "/").classification.kind is MountKind.LOCAL
    assert by_point(MACOS, "/System/Volumes/Data").classification.kind is MountKind.LOCAL
    # psutil records from getfsstat: the kernel's MNT_LOCAL flag decides, not the type name.
    records = mounts_from_partitions(
        [
            ("devfs", "/dev", "devfs", "rw,local,nobrowse"),
            ("/dev/disk4s1", "/Volumes/Image", "apfs", "rw,nodev,nosuid"),  # no `local`
            ("alice@login:/data", "/Volumes/sshfs", "macfuse", "rw,nodev,nosuid,local"),
            ("//srv/x", "/Volumes/x", "smbfs", "rw,nodev,nosuid"),
        ],
        system="Darwin",
    )
    kinds = {m.mountpoint: m.classification.kind for m in records}
    assert kinds == {
        "/dev": MountKind.LOCAL,
        "/Volumes/Image": MountKind.NETWORK,
        "/Volumes/sshfs": MountKind.UNKNOWN,  # FUSE marked local by its user: still bounded
        "/Volumes/x": MountKind.NETWORK,
    }
    table = [*MACOS, *records]  # with the root volume
    assert classify(mount_for("/Volumes/Image/anaconda3", table)).possibly_remote
    assert not may_be_remote("/dev/null", table)


# ---------------------------------------------------------------- real FUSE mounts


@pytest.mark.parametrize(
    ("fsname", "subtype", "fstype", "kind"),
    [
        ("ceph-fuse", "ceph-fuse", "fuse.ceph-fuse", MountKind.NETWORK),
        ("cvmfs2", "", "fuse", MountKind.NETWORK),
        ("sshfs#alice@login:/data", "", "fuse", MountKind.NETWORK),
        ("quobyte@registry:7861/vol", "quobyte", "fuse.quobyte", MountKind.NETWORK),
        ("foo", "foofs", "fuse.foofs", MountKind.UNKNOWN),
    ],
)
def test_real_fuse_mounts_classified(tmp_path, fsname, subtype, fstype, kind):
    share = mount_share(tmp_path, fsname=fsname, subtype=subtype)
    try:
        mount = mount_for(share.mount / "x", read_mount_table())
        assert mount is not None and mount.mountpoint == str(share.mount)
        assert (mount.fstype, mount.source) == (fstype, fsname)
        assert mount.classification.kind is kind
        assert may_be_remote(share.mount / "anaconda3" / "bin", read_mount_table())
    finally:
        unmount_share(share)


@pytest.mark.parametrize(
    ("fsname", "subtype", "shown"),
    [
        (
            "foo",
            "foofs",
            "fuse.foofs from foo; FUSE filesystem fuse.foofs: treated as possibly remote, rw",
        ),
        ("cvmfs2", "", "fuse from cvmfs2; network (cvmfs2 through FUSE), rw"),
    ],
)
def test_info_shows_the_classification(tmp_path, fsname, subtype, shown):
    from test_info_cli import env_for, fake_install, site_file

    share = mount_share(tmp_path / "m", fsname=fsname, subtype=subtype)
    try:
        fake_install(share.backing)
        result = run_cli("info", "--site", str(site_file(tmp_path, share.mount)), env=env_for())
        assert f"{share.mount} ({shown})" in result.stdout, result.stdout
    finally:
        unmount_share(share)
