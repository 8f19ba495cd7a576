"""The mount table as records, network-filesystem classification, and path -> mount lookup.

Nothing here touches a mounted filesystem: Linux's ``/proc/self/mountinfo`` and macOS's
``getfsstat(MNT_NOWAIT)`` (through psutil) are answered by the kernel without asking the server,
and the path lookup is pure string work on the absolute path (no ``realpath``, no ``stat``).
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Filesystem types whose data lives on another machine (test-recipes §6).
NETWORK_FSTYPES = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "smb", "afs", "kafs", "auristorfs", "coda",
        "lustre", "gpfs", "beegfs", "fhgfs", "ceph", "glusterfs", "gfs", "gfs2", "ocfs2",
        "orangefs", "pvfs2", "panfs", "ncp", "ncpfs", "davfs", "vxfs", "acfs", "9p", "virtiofs",
        # macOS names
        "afpfs", "webdav",
    }
)  # fmt: skip
# FUSE subtypes that are network filesystems (``fuse.sshfs`` ...).
NETWORK_FUSE_SUBTYPES = frozenset(
    {"sshfs", "s3fs", "rclone", "gcsfuse", "nfs", "glusterfs", "ceph", "cephfs", "davfs",
     "smbnetfs", "curlftpfs", "goofys", "blobfuse", "blobfuse2", "juicefs", "lizardfs",
     "moosefs", "mfs", "cvmfs", "gvfsd-fuse", "beegfs"}
)  # fmt: skip
TRIGGER_FSTYPES = frozenset({"autofs"})
# Filesystems known to keep their data on this machine. Everything else — network types, FUSE of
# any subtype, types we have never heard of — counts as possibly remote, so touching it is bounded.
# The shell block's case pattern is rendered from this same list.
LOCAL_FSTYPES = frozenset(
    {
        "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "tmpfs", "overlay", "squashfs", "erofs",
        "vfat", "exfat", "ntfs", "ntfs3", "f2fs", "jfs", "reiserfs", "bcachefs", "nilfs2", "hfs",
        "hfsplus", "apfs", "iso9660", "udf", "ramfs", "devtmpfs",
    }
)  # fmt: skip

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def unescape_mount_field(text: str) -> str:
    r"""Undo the kernel's octal escapes in mountinfo fields (``\040`` space, ``\011`` tab ...)."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


@dataclass(frozen=True)
class Mount:
    """One mounted filesystem as the mount table describes it."""

    mountpoint: str
    fstype: str
    source: str
    options: tuple[str, ...] = ()

    @property
    def base_fstype(self) -> str:
        """``fuse.sshfs`` -> ``sshfs``; other types unchanged."""
        kind = self.fstype.lower()
        return kind.split(".", 1)[1] if kind.startswith("fuse.") else kind

    @property
    def is_network(self) -> bool:
        kind = self.fstype.lower()
        if kind.startswith("fuse."):
            return self.base_fstype in NETWORK_FUSE_SUBTYPES
        return kind in NETWORK_FSTYPES

    @property
    def is_autofs(self) -> bool:
        """An automount trigger: touching a path below it mounts the real share (and may hang)."""
        return self.fstype.lower() in TRIGGER_FSTYPES

    def option(self, name: str) -> str | None:
        """Value of ``name=value`` (``""`` for a bare flag), or None when absent."""
        for opt in self.options:
            key, sep, value = opt.partition("=")
            if key == name:
                return value if sep else ""
        return None

    def has_option(self, name: str) -> bool:
        return self.option(name) is not None

    @property
    def hard(self) -> bool | None:
        """NFS hard (True) or soft (False) mount; None when the table does not say."""
        if self.has_option("soft") or self.has_option("softerr"):
            return False
        if self.has_option("hard"):
            return True
        return True if self.base_fstype in ("nfs", "nfs4") else None

    @property
    def nfs_version(self) -> str | None:
        value = self.option("vers") or self.option("nfsvers")
        if value:
            return value
        return "4" if self.fstype.lower() == "nfs4" else None

    @property
    def locks_local_only(self) -> bool:
        """``nolock`` or ``local_lock=all|posix``: fcntl locks are not seen by other hosts."""
        if self.has_option("nolock"):
            return True
        return self.option("local_lock") in ("all", "posix", "flock")


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse Linux ``/proc/<pid>/mountinfo`` text (see proc(5)); malformed lines are skipped."""
    mounts: list[Mount] = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            sep = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) < sep + 3:
            continue
        mount_opts = fields[5].split(",")
        super_opts = fields[sep + 3].split(",") if len(fields) > sep + 3 else []
        options = tuple(dict.fromkeys(o for o in (*mount_opts, *super_opts) if o))
        mounts.append(
            Mount(
                mountpoint=unescape_mount_field(fields[4]),
                fstype=unescape_mount_field(fields[sep + 1]),
                source=unescape_mount_field(fields[sep + 2]),
                options=options,
            )
        )
    return mounts


def mounts_from_partitions(partitions: Iterable[Sequence[str] | object]) -> list[Mount]:
    """Build records from ``psutil.disk_partitions(all=True)`` entries (or captured tuples)."""
    mounts: list[Mount] = []
    for part in partitions:
        if isinstance(part, Sequence) and not isinstance(part, str):
            device, mountpoint, fstype, opts = (str(x) for x in part[:4])
        else:
            device = str(getattr(part, "device", ""))
            mountpoint = str(getattr(part, "mountpoint", ""))
            fstype = str(getattr(part, "fstype", ""))
            opts = str(getattr(part, "opts", ""))
        options = tuple(o.strip() for o in opts.split(",") if o.strip())
        mounts.append(Mount(mountpoint=mountpoint, fstype=fstype, source=device, options=options))
    return mounts


def read_mount_table(system: str | None = None) -> list[Mount]:
    """The current mount table, read without touching any mounted filesystem."""
    system = system or sys.platform
    if system.startswith("linux"):
        try:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
                return parse_mountinfo(fh.read())
        except OSError:
            pass
    import psutil  # lazily: psutil costs ~10 ms to import

    return mounts_from_partitions(psutil.disk_partitions(all=True))


def _normalize(path: str) -> str:
    """Absolute, normalised path by string work only (``abspath`` does not touch the path)."""
    return posixpath.normpath(os.path.abspath(os.path.expanduser(path)))


def mount_for(path: str | os.PathLike[str], mounts: Sequence[Mount]) -> Mount | None:
    """The mount holding ``path``: longest mountpoint prefix; a later mount on the same point wins.

    Symlinks are not resolved (that would touch the filesystem); callers that care pass
    a path they know to be real, such as a site file's prefix.
    """
    target = _normalize(os.fspath(path))
    best: Mount | None = None
    best_len = -1
    for mount in mounts:
        point = mount.mountpoint.rstrip("/") or "/"
        if point == "/" or target == point or target.startswith(point + "/"):
            length = len(point) if point != "/" else 0
            if length >= best_len:
                best, best_len = mount, length
    return best


_MAX_LINK_HOPS = 40  # like the kernel's ELOOP limit


def may_be_remote(path: str | os.PathLike[str], mounts: Sequence[Mount]) -> bool:
    """Could touching ``path`` reach a network filesystem (and so hang)?

    True when the path's mount is network or an automount trigger, also after following the
    symlinks on the way (``/nfs/cpkgs -> /net/server/cpkgs``): the mount table only knows paths
    as written. Components are checked top down with ``lstat``/``readlink``, which read the
    link itself on a filesystem the table calls local, never what it points to.
    """
    parts = [p for p in _normalize(os.fspath(path)).split("/") if p]
    current, hops = "", 0
    while parts:
        current += "/" + parts.pop(0)
        mount = mount_for(current, mounts)
        if mount is not None and (mount.is_network or mount.is_autofs):
            return True
        try:
            if not stat.S_ISLNK(os.lstat(current).st_mode):
                continue
            link = os.readlink(current)
        except OSError:
            return False  # nothing further down exists to be touched
        hops += 1
        if hops > _MAX_LINK_HOPS:
            return True  # a loop or a maze: treat as unsafe
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(current), link))
        parts = [p for p in resolved.split("/") if p] + parts
        current = ""
    return False
