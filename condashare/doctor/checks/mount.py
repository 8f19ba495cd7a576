"""The mounts that hold the chosen installation and the home: present, kind, alive, options.

Everything here reads the mount table (which never touches a share); the only touch is the
liveness probe, in a child process with a timeout. Liveness is an open + read of a file the
directory holds (conda.sh, conda-meta/history ...), never a stat: a client's attribute cache
answers a stat for a share that died seconds ago.
"""

from __future__ import annotations

from condashare.bounded.liveness import (
    ENVIRONMENT,
    HOME,
    INSTALLATION,
    PACKAGE_CACHE,
    Evidence,
    Liveness,
    probe_liveness_many,
)
from condashare.doctor.checks._util import error, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.findings import DEAD_SHARE
from condashare.host.mounts import Mount
from condashare.render import shown
from condashare.wording import seconds_text

SLOW_LATENCY = 0.5  # seconds for one open + read: users feel it at every conda command


def _describe(mount: Mount) -> str:
    bits = [mount.fstype, f"from {mount.source}"]
    if mount.nfs_version:
        bits.append(f"vers={mount.nfs_version}")
    return f"{mount.mountpoint} ({', '.join(bits)})"


def _relevant(ctx: Context) -> list[tuple[str, str, Mount]]:
    """(label, path, mount) for the installation and the home, network or automounted only."""
    out: list[tuple[str, str, Mount]] = []
    seen: set[str] = set()
    places = []
    if ctx.installation is not None:
        places.append((f"installation {ctx.installation.name}", ctx.installation.prefix))
    places.append(("home", ctx.home))
    for label, path in places:
        mount = ctx.mount_of(path)
        if mount is None or not mount.possibly_remote:
            continue
        if mount.mountpoint in seen:
            continue
        seen.add(mount.mountpoint)
        out.append((label, path, mount))
    return out


def check_present(ctx: Context) -> list[Finding]:
    cid = "mount.present"
    inst = ctx.installation
    if inst is None:
        return [info(cid, "no installation chosen; no share to look at")]
    mount = ctx.mount_of(inst.prefix)
    if mount is None:
        return [
            warning(
                cid,
                f"{inst.prefix} is on no filesystem in the mount table",
                "The mount table could not be read or is empty.",
            )
        ]
    data = {
        "prefix": inst.prefix,
        "mountpoint": mount.mountpoint,
        "fstype": mount.fstype,
        "source": mount.source,
        "network": mount.is_network,
    }
    if mount.is_autofs:
        return [ok(cid, f"installation is behind an automount point {mount.mountpoint}", **data)]
    if mount.possibly_remote:  # network, or a kind not known to be local (FUSE, CVMFS ...)
        return [ok(cid, f"installation share mounted: {_describe(mount)}", **data)]
    # Local: either a local installation, or the share is not mounted and the path is on "/".
    result = ctx.probe(inst.prefix)
    if result.status == "missing":
        return [
            error(
                cid,
                f"{inst.prefix} does not exist: the share is not mounted",
                f"The path falls on the local filesystem {shown(mount.mountpoint)} "
                f"({mount.fstype}) and is not there, so the share that should hold it is not "
                "mounted.",
                "Ask your administrators to mount the share (or check the prefix in the "
                "site file); `mount | grep nfs` shows what is mounted.",
                **data,
            )
        ]
    return [
        ok(
            cid,
            f"installation on local filesystem {mount.mountpoint} ({mount.fstype})",
            "Not a network share: the NFS-specific advice below does not apply to it.",
            **data,
        )
    ]


def check_autofs(ctx: Context) -> list[Finding]:
    cid = "mount.autofs"
    findings = []
    for label, path, mount in _relevant(ctx):
        if mount.is_autofs:
            findings.append(
                info(
                    cid,
                    f"{label}: {path} is behind an automount trigger not yet mounted",
                    f"{shown(mount.mountpoint)} is an autofs trigger: the first access mounts the "
                    "share, which takes seconds and hangs while the server is down. condashare "
                    "touches it only from a child process with a timeout.",
                    "Nothing to do unless the mount then fails; see mount.responsive.",
                    mountpoint=mount.mountpoint,
                )
            )
    return findings or [ok(cid, "no automount trigger left untriggered")]


def check_responsive(ctx: Context) -> list[Finding]:
    cid = "mount.responsive"
    places: list[tuple[str, str, Evidence]] = []
    if ctx.installation is not None:
        label = f"installation {ctx.installation.name}"
        places.append((label, ctx.installation.prefix, INSTALLATION))
    if ctx.is_remote(ctx.home):
        places.append(("home", ctx.home, HOME))
    if not places:
        return [info(cid, "no installation and a local home: nothing to probe")]
    verdicts = probe_liveness_many([(path, ev) for _, path, ev in places], ctx.timeout)
    return [_probe_finding(cid, label, path, verdicts[path], ctx) for label, path, _ in places]


# What to do about a share that fails with an errno (the server answered, with an error).
_ERRNO_FIXES = {
    "ESTALE": (
        "Stale file handle: the export changed under the mount. `cd` out of it "
        "and back; if that fails, the mount must be remounted (umount -l; mount)."
    ),
    "EIO": (
        "I/O errors from the share (a soft mount that timed out, or a failing server or "
        "disk): ask your administrators to check the server and the mount."
    ),
    "ENOTCONN": (
        "Not connected: the client behind this mount (a FUSE daemon such as sshfs or "
        "ceph-fuse, or the network link) is gone. The mount must be remounted "
        "(fusermount -u -z MOUNT, or umount -l; then mount again)."
    ),
}


def _probe_finding(
    cid: str, label: str, path: str, result: Liveness, ctx: Context, on: Mount | None = None
) -> Finding:
    """What one liveness probe of ``path`` (on share ``on``) says: dead, failing, absent, slow
    or fine."""
    data = {
        "path": path,
        "status": result.status,
        "latency_ms": round(result.latency * 1000, 1),
        "errno": result.errno,
        "errname": result.errname,
        "file": result.file,
    }
    if result.status in ("unresponsive", "error"):
        # the root cause of whatever else is found on this share (see findings.group_by_cause)
        mount = on or ctx.mount_of(path)
        data[DEAD_SHARE] = mount.mountpoint if mount is not None else path
    if result.status == "unresponsive":
        return error(
            cid,
            f"{label}: {path} does not answer (no reply in {seconds_text(ctx.timeout)})",
            "The file server is down or unreachable: opening "
            f"{shown(result.file or 'a file')} got no answer (a stat may still answer from the "
            "client's cache). Every program that opens files here (conda, a shell sourcing "
            "conda.sh) waits until it comes back.",
            "Wait for the server or ask your administrators; meanwhile open new shells "
            "with `bash --norc` and avoid `cd` into the share.",
            **data,
        )
    if result.status == "error":
        return error(
            cid,
            f"{label}: {path} fails: {result.describe().removeprefix('failing: ')}",
            "The share answers with an error instead of data"
            + (f" (opening {shown(result.file)})." if result.file else "."),
            _ERRNO_FIXES.get(result.errname, "Ask your administrators to check the mount."),
            **data,
        )
    if result.status == "missing":
        return error(
            cid,
            f"{label}: {path} does not exist",
            "The share is mounted but the path is not on it.",
            "Check the path (for an installation: its prefix in the site file).",
            **data,
        )
    if result.status == "unproven":
        return warning(
            cid,
            f"{label}: {path} is {result.describe()}",
            "Liveness is proven by opening and reading a file (a stat can be answered by the "
            "client's cache); none of the expected files could be read.",
            "Check the path (for an installation: its prefix in the site file), and "
            "mount.responsive's other findings.",
            **data,
        )
    if result.latency > SLOW_LATENCY:
        return warning(
            cid,
            f"{label}: {path} answers slowly ({seconds_text(result.latency)} to open and read "
            f"{result.file})",
            "conda opens and stats thousands of files per command; at this latency it crawls.",
            "Tell your administrators; for heavy work use a local scratch copy.",
            **data,
        )
    where = f" on {on.fstype} from {on.source}," if on is not None else ""
    return ok(cid, f"{label}: {path}{where} {result.describe()}", **data)


def check_hard(ctx: Context) -> list[Finding]:
    cid = "mount.hard"
    findings = []
    for label, _path, mount in _relevant(ctx):
        if not mount.is_network:
            continue
        if mount.hard is False:
            findings.append(_soft_finding(cid, label, mount))
        elif mount.hard is True:
            findings.append(
                ok(
                    cid,
                    f"{label}: {mount.mountpoint} is a hard mount",
                    "Data is safe; if the server dies, accesses wait for it.",
                    mountpoint=mount.mountpoint,
                )
            )
    return findings or [ok(cid, "no network mount whose hard/soft setting matters")]


def check_locks(ctx: Context) -> list[Finding]:
    cid = "mount.locks"
    findings = []
    for label, _path, mount in _relevant(ctx):
        if mount.is_network and mount.locks_local_only:
            findings.append(_local_locks_finding(cid, label, mount))
    return findings or [ok(cid, "no network mount with local-only locks")]


def _soft_finding(cid: str, label: str, mount: Mount) -> Finding:
    return warning(
        cid,
        f"{label}: {mount.mountpoint} is a soft mount",
        "On a soft mount a slow server makes reads and writes fail with EIO after "
        "the retry limit: conda then sees truncated files and reports packages as "
        "corrupted, and half-written environments are left behind.",
        "Ask your administrators for a hard mount (options `hard`; condashare "
        "guards against the hangs that hard mounts cause).",
        mountpoint=mount.mountpoint,
        options=list(mount.options),
    )


def _local_locks_finding(cid: str, label: str, mount: Mount) -> Finding:
    opt = "nolock" if mount.has_option("nolock") else f"local_lock={mount.option('local_lock')}"
    return warning(
        cid,
        f"{label}: {mount.mountpoint} keeps file locks local ({opt})",
        "Locks taken here are not seen by other machines: two hosts running conda "
        "on the same package cache, or two IPython sessions on the same history "
        "database, can corrupt each other.",
        "Keep writable package caches and SQLite databases on a local disk "
        "(see condarc.lock_advice and sqlite.known_dbs).",
        mountpoint=mount.mountpoint,
        option=opt,
    )


def check_conda_dirs(ctx: Context) -> list[Finding]:
    """The --target environment and every package cache conda uses: on a share, alive, sane.

    All remote paths are probed at once, so a dead share costs one timeout, not one per path.
    Soft mounts and local-only locks of the installation's and home's mounts are mount.hard's
    and mount.locks' to report; here only the other mounts these dirs sit on.
    """
    cid = "mount.conda_dirs"
    places = [("environment", ctx.target)] if ctx.target else []
    places += [("package cache", p) for p in ctx.conda_config.pkgs_dirs]
    local: list[str] = []
    remote: list[tuple[str, str, Mount]] = []
    for label, path in places:
        mount = ctx.mount_of(path)
        if mount is None or not ctx.is_remote(path):
            local.append(shown(f"{label} {path}: {mount.fstype if mount else 'unknown'} (local)"))
        else:
            remote.append((label, path, mount))
    findings: list[Finding] = []
    if local:
        findings.append(
            ok(cid, f"{len(local)} of {len(places)} on local filesystems", "\n".join(local))
        )
    kinds = {"environment": ENVIRONMENT, "package cache": PACKAGE_CACHE}
    verdicts = probe_liveness_many([(path, kinds[label]) for label, path, _ in remote], ctx.timeout)
    seen = {m.mountpoint for _, _, m in _relevant(ctx)}
    for label, path, mount in remote:
        result = verdicts[path]
        if result.status in ("missing", "unproven") and label == "package cache":
            continue  # conda creates a cache when it first needs it; an empty one it never reads
        findings.append(_probe_finding(cid, label, path, result, ctx, mount))
        if result.status != "ok" or mount.mountpoint in seen or not mount.is_network:
            continue
        seen.add(mount.mountpoint)
        if mount.hard is False:
            findings.append(_soft_finding(cid, label, mount))
        if mount.locks_local_only:
            findings.append(_local_locks_finding(cid, label, mount))
    return findings or [ok(cid, "no environment or package cache to look at")]


PRESENT = Check("mount.present", "mount", "installation share mounted", check_present)
AUTOFS = Check("mount.autofs", "mount", "automount triggers", check_autofs, budget=3)
RESPONSIVE = Check("mount.responsive", "mount", "shares answer, and how fast", check_responsive)
HARD = Check("mount.hard", "mount", "hard vs soft NFS mounts", check_hard, budget=3)
LOCKS = Check("mount.locks", "mount", "locks shared with other hosts", check_locks, budget=3)
CONDA_DIRS = Check(
    "mount.conda_dirs",
    "mount",
    "target environment and package caches on shares",
    check_conda_dirs,
    description="the --target env and each pkgs_dirs entry: local, or a share that answers",
)
