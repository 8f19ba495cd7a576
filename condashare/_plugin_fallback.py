"""Interim checks for the conda plugin, used until the doctor registry exists.

TO BE REPLACED AT MERGE: ``condashare.conda_plugin`` asks ``condashare.doctor.registry`` first
(see its module docstring for the contract) and only falls back to this module when the registry
is absent. The integrity scan here is a minimal quick check (missing and resized files, NFS
leftovers); the verification engine (``condashare.doctor.integrity``) supersedes it.

Every touch of a path that may sit on a network share goes through a child process with a
timeout (``condashare.probe`` or ``_plugin_child.py``), so a dead share makes a check report
"unresponsive" instead of hanging conda.
"""

from __future__ import annotations

import errno
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from condashare import probe as probe_module
from condashare.doctor.model import Finding, Severity
from condashare.host import Platform
from condashare.installations import BinaryPlatform, parse_executable_header, platform_from_subdir
from condashare.mounts import Mount, mount_for

CHILD_SCRIPT = str(Path(__file__).with_name("_plugin_child.py"))

# Latency above which a share is reported as slow for conda's many small reads.
SLOW_SECONDS = 0.5
# At most this many file names per finding (the rest is counted).
MAX_LISTED = 20


@dataclass(frozen=True)
class CondaDirs:
    """The package caches and envs dirs conda uses, in conda's order."""

    pkgs_dirs: tuple[str, ...] = ()
    envs_dirs: tuple[str, ...] = ()


@dataclass
class ChildRun:
    """What a child operation said before it finished or went quiet."""

    status: str  # ok | unresponsive | error
    records: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""


def run_child(op: str, path: str, idle_timeout: float) -> ChildRun:
    """Run ``_plugin_child.py OP PATH``; give up when it is silent for ``idle_timeout`` seconds.

    A child stuck on a hung mount cannot be killed (D state) and waiting for it would hang us, so
    on timeout it is killed and abandoned to :func:`condashare.probe.reap_abandoned`.
    """
    probe_module.reap_abandoned()
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", CHILD_SCRIPT, op, path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,
            cwd="/",
        )
    except OSError as exc:
        return ChildRun("error", error=f"could not start a child process: {exc}")
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffer = b""
    records: list[dict[str, Any]] = []
    deadline = start + idle_timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            probe_module._abandon(proc)  # shared bookkeeping: reap_abandoned() collects it
            return ChildRun("unresponsive", records, time.monotonic() - start)
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        deadline = time.monotonic() + idle_timeout  # it is alive: restart the idle clock
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                records.append(value)
    proc.stdout.close()
    try:
        proc.wait(timeout=max(0.05, min(idle_timeout, 1.0)))
    except subprocess.TimeoutExpired:
        probe_module._abandon(proc)
    seconds = time.monotonic() - start
    if not records or records[-1].get("kind") not in ("done", "lock"):
        return ChildRun("error", records, seconds, "the check stopped without finishing")
    return ChildRun("ok", records, seconds)


def _is_remote(mount: Mount | None) -> bool:
    return mount is not None and (mount.is_network or mount.is_autofs)


def _describe_mount(mount: Mount) -> str:
    return f"{mount.source} ({mount.fstype}) mounted on {mount.mountpoint}"


def _listing(lines: Sequence[str]) -> str:
    shown = list(lines[:MAX_LISTED])
    if len(lines) > MAX_LISTED:
        shown.append(f"... and {len(lines) - MAX_LISTED} more")
    return "\n".join(shown)


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _reinstall_hint(prefix: str, dist: str) -> str:
    name, version, build = [*dist.rsplit("-", 2), "", ""][:3]
    spec = f"{name}={version}={build}" if version and build else dist
    return f"conda install -p {prefix} --force-reinstall {spec}"


def _unreachable(
    check: str, what: str, path: str, mount: Mount | None, result: probe_module.ProbeResult
) -> Finding:
    where = f" on {_describe_mount(mount)}" if mount is not None else ""
    if result.status == probe_module.UNRESPONSIVE:
        title = f"{what} {path} does not answer: its server is down or unreachable"
        fix = (
            "Wait for the share to come back or ask your admin; conda commands that touch it "
            "hang until then. Meanwhile work in an environment on a local disk."
        )
    else:
        title = f"{what} {path} cannot be read: {result.describe()}"
        fix = (
            "A stale NFS handle (ESTALE) usually clears after leaving and re-entering the "
            "directory or remounting the share."
        )
    return Finding(
        check,
        Severity.ERROR,
        title,
        detail=f"{path}{where}: {result.describe()}",
        fix=fix,
        data={"path": path, "status": result.status},
    )


# ---------------------------------------------------------------------------------------- nfs


def check_nfs(
    prefix: str, dirs: CondaDirs, mounts: Sequence[Mount], timeout: float
) -> list[Finding]:
    """Is the environment (and each package cache) on a network share, alive, mounted sanely?"""
    findings: list[Finding] = []
    local: list[str] = []
    targets = [("environment", prefix)] + [("package cache", d) for d in dirs.pkgs_dirs]
    for what, path in targets:
        mount = mount_for(path, mounts)
        if not _is_remote(mount):
            local.append(f"{what} {path}: {mount.fstype if mount else 'unknown'} (local)")
            continue
        assert mount is not None
        result = probe_module.probe(path, timeout)
        if result.status == probe_module.MISSING:
            continue
        if not result.ok:
            findings.append(
                _unreachable("nfs.unresponsive", what.capitalize(), path, mount, result)
            )
            continue
        data = {
            "path": path,
            "fstype": mount.fstype,
            "source": mount.source,
            "latency": result.latency,
        }
        problems = 0
        if mount.hard is False:
            problems += 1
            findings.append(
                Finding(
                    "nfs.soft-mount",
                    Severity.WARNING,
                    f"{what.capitalize()} {path} is on a soft NFS mount",
                    detail=(
                        f"{_describe_mount(mount)}. A soft mount returns I/O errors when the "
                        "server is slow, which can leave truncated package files behind."
                    ),
                    fix="Ask your admin to mount the share with the 'hard' option.",
                    data=data,
                )
            )
        if mount.locks_local_only:
            problems += 1
            findings.append(
                Finding(
                    "nfs.local-locks",
                    Severity.WARNING,
                    f"Locks on {mount.mountpoint} are local to this host (nolock/local_lock)",
                    detail=(
                        f"{_describe_mount(mount)}: conda processes on other machines do not "
                        f"see this host's locks on {path}, so two of them can write the same "
                        "files at once."
                    ),
                    fix=(
                        "Keep your writable package cache on a local disk "
                        "(conda config --prepend pkgs_dirs <local dir>)."
                    ),
                    data=data,
                )
            )
        if result.latency > SLOW_SECONDS:
            problems += 1
            findings.append(
                Finding(
                    "nfs.slow",
                    Severity.WARNING,
                    f"{what.capitalize()} {path} answers slowly ({result.latency * 1000:.0f} ms)",
                    detail=f"{_describe_mount(mount)}: conda reads thousands of small files.",
                    fix="Use an environment and package cache on a local disk for I/O-heavy work.",
                    data=data,
                )
            )
        if not problems:
            findings.append(
                Finding(
                    "nfs.ok",
                    Severity.OK,
                    f"{what.capitalize()} {path} is on {mount.fstype} from {mount.source}: "
                    f"responsive ({result.latency * 1000:.0f} ms)",
                    data=data,
                )
            )
    if local:
        env_local = local[0].startswith("environment")
        caches_local = len(local) > int(env_local)
        if env_local and caches_local:
            title = "The environment and package caches are on local filesystems"
        elif env_local:
            title = "The environment is on a local filesystem"
        else:
            title = "Package caches on local filesystems"
        summary = Finding("nfs.local", Severity.OK, title, detail="\n".join(local))
        findings.insert(0 if env_local else len(findings), summary)
    return findings


# ------------------------------------------------------------------------------------ locking


def _lock_targets(prefix: str, dirs: CondaDirs) -> list[tuple[str, str]]:
    targets = [("package cache", os.path.join(d, "urls.txt")) for d in dirs.pkgs_dirs]
    targets.append(("environment", os.path.join(prefix, "conda-meta", "history")))
    return targets


def check_locking(
    prefix: str, dirs: CondaDirs, mounts: Sequence[Mount], timeout: float
) -> list[Finding]:
    """Take a real lock the way conda does, in the first writable cache and in the environment."""
    findings: list[Finding] = []
    cache_locked = False
    absent: list[str] = []  # caches without urls.txt: conda creates them on first download
    for what, path in _lock_targets(prefix, dirs):
        if what == "package cache" and cache_locked:
            continue  # conda writes (and locks) only in the first writable cache
        mount = mount_for(path, mounts)
        where = _describe_mount(mount) if mount else "unknown filesystem"
        run = run_child("lock", path, timeout)
        answer = run.records[-1] if run.records else {}
        status = answer.get("status") if run.status == "ok" else run.status
        data = {"path": path, "status": status, "seconds": run.seconds}
        fix = (
            "Put a package cache on a local disk first (conda config --prepend pkgs_dirs "
            "<local dir>), or set 'no_lock: true' in ~/.condarc if you never run two conda "
            "commands at once."
        )
        if status == "unwritable":
            if answer.get("errno") == errno.ENOENT and what == "package cache":
                absent.append(os.path.dirname(path))
            continue  # read-only for this user (a shared cache): conda neither writes nor locks
        if what == "package cache":
            cache_locked = True
        if status in ("ok", "busy"):
            note = " (held by another process right now)" if status == "busy" else ""
            if mount is not None and _is_remote(mount) and mount.locks_local_only:
                findings.append(
                    Finding(
                        "locking.local-only",
                        Severity.WARNING,
                        f"Locking {path} works, but only on this host{note}",
                        detail=f"{where}: mounted with nolock/local_lock.",
                        fix=fix,
                        data=data,
                    )
                )
            else:
                findings.append(
                    Finding(
                        "locking.ok",
                        Severity.OK,
                        f"Locking works in the {what} ({path}, {run.seconds * 1000:.0f} ms){note}",
                        detail=where,
                        data=data,
                    )
                )
        elif status == "unresponsive":
            findings.append(
                Finding(
                    "locking.hangs",
                    Severity.ERROR,
                    f"Locking {path} did not finish within {timeout:g} s: conda would hang here",
                    detail=f"{where}: the lock request (fcntl.lockf, like conda's) never returned.",
                    fix=fix,
                    data=data,
                )
            )
        else:
            error = answer.get("errname") or answer.get("error") or run.error
            findings.append(
                Finding(
                    "locking.fails",
                    Severity.ERROR,
                    f"Locking {path} fails ({error}): conda retries 10 s, then gives a LockError",
                    detail=f"{where}: {answer.get('error', run.error)}",
                    fix=fix,
                    data=data,
                )
            )
    if not cache_locked and absent:
        findings.append(
            Finding(
                "locking.no-cache",
                Severity.INFO,
                "No package cache created yet (no urls.txt); conda creates the first writable one",
                detail="\n".join(absent),
            )
        )
    if not findings:
        findings.append(
            Finding(
                "locking.none",
                Severity.INFO,
                "No writable package cache or environment to lock (all read-only for you)",
            )
        )
    return findings


# ---------------------------------------------------------------------------------- integrity


def check_integrity(prefix: str, mounts: Sequence[Mount], timeout: float) -> list[Finding]:
    """Quick integrity of the prefix: missing or resized files, bad records, NFS leftovers."""
    mount = mount_for(prefix, mounts)
    if _is_remote(mount):
        alive = probe_module.probe(prefix, timeout)
        if not alive.ok:
            return [_unreachable("integrity.unresponsive", "Environment", prefix, mount, alive)]
    run = run_child("scan", prefix, max(5.0, timeout * 5))
    findings: list[Finding] = []
    nfs_files: list[str] = []
    trash_files: list[str] = []
    done: dict[str, Any] = {}
    for rec in run.records:
        kind = rec.get("kind")
        name = str(rec.get("record", ""))
        if kind == "record" and (rec.get("missing") or rec.get("resized")):
            missing = [str(p) for p in rec.get("missing", [])]
            resized = [
                f"{p}: expected {want} bytes, found {got}"
                for p, want, got in rec.get("resized", [])
            ]
            parts = []
            if missing:
                parts.append(f"{_files(len(missing))} missing")
            if resized:
                parts.append(f"{_files(len(resized))} with the wrong size (truncated or rewritten)")
            findings.append(
                Finding(
                    "integrity.package",
                    Severity.ERROR,
                    f"{name}: {', '.join(parts)}",
                    detail=_listing([f"{p}: missing" for p in missing] + resized),
                    fix=_reinstall_hint(prefix, name),
                    data={"package": name, "missing": missing, "resized": rec.get("resized", [])},
                )
            )
        elif kind == "bad-record":
            findings.append(
                Finding(
                    "integrity.record",
                    Severity.ERROR,
                    f"conda-meta/{name} is unreadable or truncated",
                    detail=str(rec.get("error", "")),
                    fix=_reinstall_hint(prefix, name.removesuffix(".json")),
                    data={"record": name},
                )
            )
        elif kind == "artefact":
            (nfs_files if rec.get("type") == "nfs" else trash_files).append(str(rec.get("path")))
        elif kind == "fatal":
            findings.append(
                Finding(
                    "integrity.unreadable",
                    Severity.ERROR,
                    f"Cannot read the records of {prefix}",
                    detail=str(rec.get("error", "")),
                )
            )
        elif kind == "done":
            done = rec
    if nfs_files:
        findings.append(
            Finding(
                "integrity.nfs-leftovers",
                Severity.WARNING,
                f"{len(nfs_files)} NFS silly-rename file(s) (.nfs*, .fuse_hidden*) in {prefix}",
                detail=_listing(nfs_files),
                fix=(
                    "Each is a file deleted while a process still had it open; it disappears when "
                    "that process ends. Find it with 'lsof <file>' (or 'fuser') on each machine "
                    "using the share; do not delete it by hand."
                ),
                data={"paths": nfs_files},
            )
        )
    if trash_files:
        findings.append(
            Finding(
                "integrity.conda-trash",
                Severity.WARNING,
                f"{len(trash_files)} *.conda_trash file(s) left behind in {prefix}",
                detail=_listing(trash_files),
                fix="conda doctor --fix condashare-integrity removes them (asks first).",
                fixable=True,
                data={"paths": trash_files},
            )
        )
    if run.status == "unresponsive":
        findings.append(
            Finding(
                "integrity.unresponsive",
                Severity.ERROR,
                f"The scan of {prefix} stopped: no answer for {max(5.0, timeout * 5):g} s",
                detail=f"{len(run.records)} results came in before the share went quiet.",
                fix="Check the share's server; run the check again when it answers.",
            )
        )
    elif run.status == "error":
        findings.append(
            Finding(
                "integrity.incomplete",
                Severity.ERROR,
                f"The scan of {prefix} did not finish: {run.error}",
            )
        )
    elif not findings:
        findings.append(
            Finding(
                "integrity.ok",
                Severity.OK,
                f"{done.get('records', 0)} packages, {done.get('files', 0)} files: none missing or "
                "resized, no NFS leftovers",
                data={"records": done.get("records", 0), "files": done.get("files", 0)},
            )
        )
    return findings


def conda_trash_files(prefix: str, timeout: float) -> ChildRun:
    """The ``*.conda_trash`` leftovers of a prefix (for the fixer), found by the child scan."""
    return run_child("scan", prefix, max(5.0, timeout * 5))


# -------------------------------------------------------------------------------- shared envs


def identify_platforms(paths: Sequence[str], timeout: float) -> list[BinaryPlatform | None]:
    """What each env is built for: ``bin/python``'s header, else a ``conda-meta`` record's subdir.

    All envs are probed at once, so a dead share costs at most two timeouts, not two per env.
    """
    heads = probe_module.run_probes(
        [("head", os.path.join(p, "bin", "python"), "4096") for p in paths], timeout
    )
    found: list[BinaryPlatform | None] = []
    for head in heads:
        data = str(head.data.get("data", "")) if head.ok else ""
        found.append(parse_executable_header(bytes.fromhex(data)) if data else None)
    unknown = [i for i, f in enumerate(found) if f is None]
    if unknown:
        subdirs = probe_module.run_probes([("subdir", paths[i], "200") for i in unknown], timeout)
        for i, meta in zip(unknown, subdirs, strict=True):
            subdir = meta.data.get("subdir") if meta.ok else None
            if isinstance(subdir, str):
                found[i] = platform_from_subdir(subdir)
    return found


def _platform_text(found: BinaryPlatform) -> str:
    return f"{found.os}-{'+'.join(found.archs)} ({found.format})"


def _runs_on(found: BinaryPlatform | None, platform: Platform) -> bool | None:
    if found is None:
        return None
    return found.os == platform.os and platform.arch in found.archs


def check_shared_envs(
    prefix: str, dirs: CondaDirs, mounts: Sequence[Mount], timeout: float, platform: Platform
) -> list[Finding]:
    """Envs in view that are built for another OS/arch, and env names that hide each other."""
    findings: list[Finding] = []
    here = f"{platform} ({platform.conda_subdir})"
    envs: list[tuple[str, str]] = []  # (envs dir, name)
    listings = probe_module.run_probes([("envs", d, "5000") for d in dirs.envs_dirs], timeout)
    for envs_dir, listing in zip(dirs.envs_dirs, listings, strict=True):
        if listing.status == probe_module.MISSING:
            continue
        if not listing.ok:
            findings.append(
                _unreachable(
                    "shared-envs.unresponsive",
                    "Envs dir",
                    envs_dir,
                    mount_for(envs_dir, mounts),
                    listing,
                )
            )
            continue
        envs += [(envs_dir, str(n)) for n in listing.data.get("envs", [])]

    paths = [prefix] + [os.path.join(d, n) for d, n in envs]
    found = identify_platforms(paths, timeout)
    if _runs_on(found[0], platform) is False:
        assert found[0] is not None
        findings.append(
            Finding(
                "shared-envs.prefix-platform",
                Severity.ERROR,
                f"This environment is for {_platform_text(found[0])}, but this host is {here}",
                detail=f"{prefix}: its programs cannot run here.",
                fix="Use the installation built for this OS (condashare info shows which one).",
                data={"path": prefix},
            )
        )
    for (envs_dir, name), env_platform in zip(envs, found[1:], strict=True):
        if _runs_on(env_platform, platform) is not False:
            continue
        assert env_platform is not None
        findings.append(
            Finding(
                "shared-envs.wrong-platform",
                Severity.WARNING,
                f"Env '{name}' in {envs_dir} is for another platform: "
                f"{_platform_text(env_platform)}",
                detail=f"This host is {here}; activating it here fails or runs the wrong binaries.",
                fix=(
                    f"Remove {envs_dir} from envs_dirs on this OS (conda config --remove envs_dirs "
                    f"{envs_dir}) and list the envs dir of this OS's installation instead."
                ),
                data={"env": os.path.join(envs_dir, name)},
            )
        )
    by_name: dict[str, list[str]] = {}
    for envs_dir, name in envs:
        by_name.setdefault(name, []).append(envs_dir)
    for name, where in sorted(by_name.items()):
        if len(where) > 1:
            others = os.path.join(where[1], name)
            findings.append(
                Finding(
                    "shared-envs.name-clash",
                    Severity.WARNING,
                    f"Env name '{name}' exists in {len(where)} envs dirs; "
                    f"'conda activate {name}' picks {where[0]}",
                    detail="\n".join(os.path.join(d, name) for d in where),
                    fix=f"Activate the others by path (conda activate {others}) or rename yours.",
                    data={"env": name, "dirs": where},
                )
            )
    if not findings:
        findings.append(
            Finding(
                "shared-envs.ok",
                Severity.OK,
                f"{len(envs)} env(s) in {len(dirs.envs_dirs)} envs dir(s): none for another "
                "platform, no name clashes",
                data={"envs": len(envs)},
            )
        )
    return findings


# ---------------------------------------------------------------------------------- dispatch

GROUPS = ("nfs", "locking", "integrity", "shared-envs")


def run_group(
    group: str,
    prefix: str,
    dirs: CondaDirs,
    timeout: float,
    mounts: Sequence[Mount] | None = None,
    platform: Platform | None = None,
) -> list[Finding]:
    """Run one group of interim checks for ``prefix``."""
    if mounts is None:
        from condashare.mounts import read_mount_table

        mounts = read_mount_table()
    if group == "nfs":
        return check_nfs(prefix, dirs, mounts, timeout)
    if group == "locking":
        return check_locking(prefix, dirs, mounts, timeout)
    if group == "integrity":
        return check_integrity(prefix, mounts, timeout)
    if group == "shared-envs":
        if platform is None:
            from condashare.host import detect_host

            platform = detect_host().platform
        return check_shared_envs(prefix, dirs, mounts, timeout, platform)
    raise ValueError(f"unknown check group {group!r} (known: {', '.join(GROUPS)})")
