"""A FUSE filesystem that mirrors a backing directory and can hang or fail on demand.

Run as ``python hangfs.py BACKING MOUNTPOINT TRIGGER``. Before every operation it reads the
TRIGGER file (which lives outside the mount):

- absent: behave normally (a healthy share);
- present and empty: block every call until the trigger changes (a dead server, hard mount);
- containing an errno name such as ``ESTALE``, ``EIO`` or ``ENOTCONN``: fail with it;
- containing an errno name, a space and a path inside the mount (``ESTALE /inst/envs/a``): fail
  with it only the operations on that path and below it (a file replaced on the server while
  the client held its handle), everything else answers normally.

Mounted with ``fsname=nfsserver:/export/conda,subtype=nfs`` so the mount table shows a
``fuse.nfs`` filesystem. By default the kernel's caches are off, so every stat reaches this
daemon (a share hung from the start). ``CACHE_SECONDS`` > 0 turns attribute and entry caching
on with ``default_permissions`` (the kernel answers ``access()`` from cached attributes), the way
an NFS client with ``actimeo`` behaves: after one healthy use, ``stat`` and ``[ -r F ]`` keep
answering from the cache for that long while ``open()`` still reaches this daemon and blocks.

Usage: ``hangfs.py BACKING MOUNTPOINT TRIGGER [FSNAME [SUBTYPE [CACHE_SECONDS [DELAY_MS]]]]``;
an empty SUBTYPE mounts plain ``fuse`` (as CVMFS shows up). DELAY_MS > 0 makes every operation
sleep that long first, as a share with that round-trip time does (the daemon is multithreaded,
so operations in flight at once overlap their waits, as on NFS).
"""

from __future__ import annotations

import errno
import os
import sys
import time

import mfusepy as fuse


class HangFS(fuse.Operations):
    use_ns = True

    def __init__(self, backing: str, trigger: str, delay: float = 0.0) -> None:
        self.backing = backing
        self.trigger = trigger
        self.delay = delay

    def _gate(self, path: str) -> None:
        if self.delay:
            time.sleep(self.delay)
        while True:
            try:
                with open(self.trigger) as fh:
                    mode = fh.read().strip()
            except FileNotFoundError:
                return
            name, _, scope = mode.partition(" ")
            if scope and path != scope and not path.startswith(scope.rstrip("/") + "/"):
                return  # a failure of other paths only
            if name:
                raise fuse.FuseOSError(getattr(errno, name, errno.EIO))
            time.sleep(0.05)

    def _p(self, path: str) -> str:
        self._gate(path)
        return os.path.join(self.backing, path.lstrip("/"))

    def getattr(self, path, fh=None):
        st = os.lstat(self._p(path))
        keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_ino")
        out = {k: getattr(st, k) for k in keys}
        for k in ("st_atime", "st_mtime", "st_ctime"):
            out[k] = getattr(st, k + "_ns") if hasattr(st, k + "_ns") else int(getattr(st, k) * 1e9)
        return out

    def access(self, path, amode):
        if not os.access(self._p(path), amode):
            raise fuse.FuseOSError(errno.EACCES)
        return 0

    def readdir(self, path, fh):
        return [".", "..", *os.listdir(self._p(path))]

    def readlink(self, path):
        return os.readlink(self._p(path))

    def statfs(self, path):
        st = os.statvfs(self._p(path))
        keys = (
            "f_bavail",
            "f_bfree",
            "f_blocks",
            "f_bsize",
            "f_favail",
            "f_ffree",
            "f_files",
            "f_flag",
            "f_frsize",
            "f_namemax",
        )
        return {k: getattr(st, k) for k in keys}

    def open(self, path, flags):
        return os.open(self._p(path), flags)

    def create(self, path, mode, fi=None):
        return os.open(self._p(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def read(self, path, size, offset, fh):
        self._gate(path)
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        self._gate(path)
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        os.truncate(self._p(path), length)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        self._gate(path)
        os.fsync(fh)
        return 0

    def release(self, path, fh):
        os.close(fh)
        return 0

    def unlink(self, path):
        os.unlink(self._p(path))

    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)

    def rmdir(self, path):
        os.rmdir(self._p(path))

    def rename(self, old, new):
        os.rename(self._p(old), self._p(new))

    def symlink(self, target, source):
        os.symlink(source, self._p(target))

    def chmod(self, path, mode):
        os.chmod(self._p(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._p(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._p(path), ns=times)


def main() -> None:
    backing, mountpoint, trigger = sys.argv[1:4]
    fsname = sys.argv[4] if len(sys.argv) > 4 else "nfsserver:/export/conda"
    subtype = sys.argv[5] if len(sys.argv) > 5 else "nfs"
    cache = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    delay = float(sys.argv[7]) / 1000 if len(sys.argv) > 7 else 0.0
    options: dict[str, object] = {"fsname": fsname}
    if subtype:
        options["subtype"] = subtype
    if cache > 0:
        options.update(
            attr_timeout=cache, entry_timeout=cache, negative_timeout=0, default_permissions=True
        )
    else:
        options.update(attr_timeout=0, entry_timeout=0, negative_timeout=0)
    fuse.FUSE(
        HangFS(backing, trigger, delay),
        mountpoint,
        foreground=True,
        nothreads=False,
        allow_other=True,
        **options,
    )


if __name__ == "__main__":
    main()
