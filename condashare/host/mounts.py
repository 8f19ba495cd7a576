"""The mount table as records, their classification, and path -> mount lookup.

A path is possibly remote unless its mount is known local (``LOCAL_FSTYPES``; on macOS the
kernel's ``local`` flag): network types, FUSE, automount triggers and unknown types all are.

Nothing here touches a mounted filesystem: Linux's ``/proc/self/mountinfo`` and macOS's
``getfsstat(MNT_NOWAIT)`` (through psutil) are answered by the kernel without asking the server,
and the path lookup is pure string work on the absolute path (no ``realpath``, no ``stat``).
"""

from __future__ import annotations

import enum
import functools
import os
import posixpath
import re
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Filesystem types whose data lives on another machine (test-recipes §6), as the kernel names them.
NETWORK_FSTYPES = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "smb", "afs", "kafs", "auristorfs", "coda",
        "lustre", "gpfs", "beegfs", "fhgfs", "ceph", "glusterfs", "gfs", "gfs2", "ocfs2",
        "orangefs", "pvfs2", "panfs", "ncp", "ncpfs", "davfs", "vxfs", "acfs", "9p", "virtiofs",
        "wekafs", "quobyte", "vboxsf", "prl_fs",
        # macOS names
        "afpfs", "webdav",
    }
)  # fmt: skip
# FUSE programs that serve another machine's data. They show up as ``fuse.<name>`` (``fuse.sshfs``,
# ``fuse.ceph-fuse``), or, from older mount helpers, as plain ``fuse`` with the program in the
# source: ``cvmfs2`` (CVMFS), ``sshfs#user@host:/path``.
NETWORK_FUSE_SUBTYPES = frozenset(
    {"sshfs", "s3fs", "rclone", "gcsfuse", "nfs", "glusterfs", "ceph", "cephfs", "ceph-fuse",
     "davfs", "smbnetfs", "curlftpfs", "goofys", "blobfuse", "blobfuse2", "juicefs", "lizardfs",
     "moosefs", "mfs", "mfsmount", "cvmfs", "cvmfs2", "gvfsd-fuse", "beegfs", "quobyte",
     "wekafs", "xtreemfs", "vmhgfs-fuse", "seaweedfs", "alluxio-fuse"}
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
# FUSE type names on macOS (macFUSE, older OSXFUSE); a user may mark such a volume ``local``.
_MACOS_FUSE_FSTYPES = ("macfuse", "osxfuse", "fusefs")

_OCTAL_ESCAPE = re.compile(rb"\\([0-3][0-7]{2})")


def _unescape(raw: bytes) -> str:
    r"""Undo the kernel's octal escapes on the raw bytes, then decode as the OS decodes paths.

    The escapes stand for bytes (``\303\251`` is one UTF-8 character); surrogateescape keeps bytes
    that are not UTF-8, so the result round-trips through ``os.fsencode``.
    """
    return _OCTAL_ESCAPE.sub(lambda m: bytes((int(m.group(1), 8),)), raw).decode(
        "utf-8", "surrogateescape"
    )


def unescape_mount_field(text: str) -> str:
    r"""Undo the kernel's octal escapes in mountinfo fields (``\040`` space, ``\011`` tab ...)."""
    return _unescape(text.encode("utf-8", "surrogateescape"))


class MountKind(enum.Enum):
    """What a mount's data is behind, as far as the mount table can tell."""

    LOCAL = "local"
    NETWORK = "network"
    AUTOMOUNT = "automount trigger"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Classification:
    """A mount's kind and the short reason shown to users (``info`` prints ``reason``)."""

    kind: MountKind
    reason: str

    @property
    def possibly_remote(self) -> bool:
        """Only known-local mounts may be touched directly; everything else is bounded."""
        return self.kind is not MountKind.LOCAL


def _unknown(what: str) -> Classification:
    return Classification(MountKind.UNKNOWN, f"{what}: treated as possibly remote")


NOT_IN_TABLE = _unknown("not in the mount table")


def _fuse_program(source: str) -> str:
    """The program behind a plain ``fuse`` mount: ``sshfs#u@h:/p`` -> ``sshfs``, ``cvmfs2``."""
    program = source.split("#", 1)[0] if "#" in source else source
    return posixpath.basename(program).lower()


@dataclass(frozen=True)
class Mount:
    """One mounted filesystem as the mount table describes it."""

    mountpoint: str
    fstype: str
    source: str
    options: tuple[str, ...] = ()
    # What the OS's own flags say (macOS/BSD getfsstat's MNT_LOCAL, ``local`` in psutil's opts);
    # None where the table has no such flag (Linux), and the type decides.
    local_flag: bool | None = None
    # The mount-level ``ro``/``rw`` (mountinfo field 6, what ``findmnt -o VFS-OPTIONS`` shows);
    # ``options`` merges it with the superblock's, where either ``ro`` wins. "" when unknown.
    mount_access: str = ""

    @property
    def base_fstype(self) -> str:
        """``fuse.sshfs`` -> ``sshfs``; other types unchanged."""
        kind = self.fstype.lower()
        return kind.split(".", 1)[1] if kind.startswith("fuse.") else kind

    @functools.cached_property
    def classification(self) -> Classification:
        """Local, network, automount trigger or unknown, with the reason (see docs/index.md)."""
        kind = self.fstype.lower()
        if kind in TRIGGER_FSTYPES:
            return Classification(MountKind.AUTOMOUNT, "automount trigger")
        if kind in NETWORK_FSTYPES:
            return Classification(MountKind.NETWORK, "network")
        if kind.startswith("fuse."):
            if self.base_fstype in NETWORK_FUSE_SUBTYPES:
                return Classification(MountKind.NETWORK, "network")
            return _unknown(f"FUSE filesystem {self.fstype}")
        if kind in ("fuse", "fuseblk"):
            program = _fuse_program(self.source)
            if program in NETWORK_FUSE_SUBTYPES:
                return Classification(MountKind.NETWORK, f"network ({program} through FUSE)")
            what = "FUSE filesystem on a block device" if kind == "fuseblk" else "FUSE filesystem"
            return _unknown(f"{what} ({self.fstype})")
        if self.local_flag is not None:  # macOS: the kernel's own flag decides
            if not self.local_flag:
                return Classification(MountKind.NETWORK, "network (macOS does not flag it local)")
            if kind.startswith(_MACOS_FUSE_FSTYPES):
                return _unknown(f"FUSE filesystem {self.fstype}")
            return Classification(MountKind.LOCAL, "local")
        if kind in LOCAL_FSTYPES:
            return Classification(MountKind.LOCAL, "local")
        return _unknown(f"unknown filesystem type {self.fstype or '(none given)'}")

    @property
    def is_network(self) -> bool:
        """Known to serve another machine's data (an unknown type is not, but is still bounded)."""
        return self.classification.kind is MountKind.NETWORK

    @property
    def possibly_remote(self) -> bool:
        """Touching a path on it must be bounded: anything not known to be local."""
        return self.classification.possibly_remote

    @property
    def is_autofs(self) -> bool:
        """An automount trigger: touching a path below it mounts the real share (and may hang)."""
        return self.classification.kind is MountKind.AUTOMOUNT

    @property
    def access_text(self) -> str:
        """The mount-level ``ro``/``rw`` users asked for, and what the kernel enforces if that
        differs (a ``rw`` mount of a read-only superblock refuses writes all the same)."""
        level = self.mount_access or ("ro" if self.read_only else "rw")
        if level == "rw" and self.read_only:
            return "rw mount of a read-only filesystem: writes fail"
        return level

    @property
    def read_only(self) -> bool:
        """Writes through this mount fail: the mount or its superblock is read-only."""
        return "ro" in self.options

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
        """NFS hard (True) or soft (False) mount; None when the table does not say or the
        setting does not exist: only the kernel's NFS client has it (a FUSE client such as
        ``fuse.nfs`` has its own retry rules, and calling it "hard" would promise too much)."""
        if self.fstype.lower() not in ("nfs", "nfs4"):
            return None
        # hard is the kernel's default, with or without the option
        return not (self.has_option("soft") or self.has_option("softerr"))

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


def classify(mount: Mount | None) -> Classification:
    """The mount's classification; a path with no mount record is possibly remote."""
    return NOT_IN_TABLE if mount is None else mount.classification


def _merge_options(mount_opts: Sequence[str], super_opts: Sequence[str]) -> tuple[str, ...]:
    """One option list with exactly one of ``ro``/``rw``, first; other options in order, once.

    The two lists each carry their own ro/rw and may disagree. A path here is writable only
    when both say ``rw``: a read-only bind of a writable filesystem (``ro`` ... ``rw``) and a
    writable mount of a read-only superblock (``rw`` ... ``ro``, e.g. an NFS export mounted
    ``ro``) both refuse writes, so either ``ro`` wins — as libmount merges them for findmnt.
    """
    both = (*mount_opts, *super_opts)
    rest = [o for o in dict.fromkeys(both) if o not in ("ro", "rw")]
    if "ro" in both:
        return ("ro", *rest)
    return ("rw", *rest) if "rw" in both else tuple(rest)


def parse_mountinfo(data: bytes | str) -> list[Mount]:
    r"""Parse Linux ``/proc/<pid>/mountinfo`` (see proc(5)); malformed lines are skipped.

    Works on bytes split on ``\n`` only: the kernel escapes space, tab, newline and backslash in
    its fields but writes ``\r``, ``\v``, U+2028 ... as they are, and ``str.splitlines`` would cut
    a mount point there and lose the mount. Text is accepted for captured tables and encoded back.
    """
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    mounts: list[Mount] = []
    for line in raw.split(b"\n"):
        fields = line.split(b" ")
        try:
            sep = fields.index(b"-", 6)
        except ValueError:
            continue
        if len(fields) < sep + 3:
            continue
        super_field = fields[sep + 3] if len(fields) > sep + 3 else b""
        mount_opts, super_opts = (
            [_unescape(o) for o in field.split(b",") if o] for field in (fields[5], super_field)
        )
        mounts.append(
            Mount(
                mountpoint=_unescape(fields[4]),
                fstype=_unescape(fields[sep + 1]),
                source=_unescape(fields[sep + 2]),
                options=_merge_options(mount_opts, super_opts),
                mount_access=next((o for o in mount_opts if o in ("ro", "rw")), ""),
            )
        )
    return mounts


def mounts_from_partitions(
    partitions: Iterable[Sequence[str] | object], system: str | None = None
) -> list[Mount]:
    """Build records from ``psutil.disk_partitions(all=True)`` entries (or captured tuples).

    Outside Linux (``system`` as ``sys.platform`` or ``platform.system()`` names it) psutil
    reports getfsstat's flags, and a mount is local only when they include ``local``.
    """
    flagged = not (system or sys.platform).lower().startswith("linux")
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
        local_flag = ("local" in options) if flagged else None
        mounts.append(Mount(mountpoint, fstype, device, options, local_flag))
    return mounts


def read_mount_table(system: str | None = None) -> list[Mount]:
    """The current mount table, read without touching any mounted filesystem."""
    system = system or sys.platform
    if system.lower().startswith("linux"):
        try:
            with open("/proc/self/mountinfo", "rb") as fh:
                return parse_mountinfo(fh.read())
        except OSError:
            pass
    import psutil  # lazily: psutil costs ~10 ms to import

    return mounts_from_partitions(psutil.disk_partitions(all=True), system)


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
    """Could touching ``path`` reach another machine, or a daemon that may stall (and so hang)?

    True unless every mount on the way is known local (``LOCAL_FSTYPES``; on macOS the
    ``local`` flag): network types, automount triggers, FUSE, unknown types and paths the table
    does not cover all count, also after following the symlinks on the way
    (``/nfs/cpkgs -> /net/server/cpkgs``): the mount table only knows paths as written.
    Components are checked top down with ``lstat``/``readlink``, which read the link itself on
    a filesystem the table calls local, never what it points to.
    """
    if classify(mount_for("/", mounts)).possibly_remote:
        return True
    parts = [p for p in _normalize(os.fspath(path)).split("/") if p]
    current, hops = "", 0
    while parts:
        current += "/" + parts.pop(0)
        if classify(mount_for(current, mounts)).possibly_remote:
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
