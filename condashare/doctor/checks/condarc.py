"""conda configuration: files parse, other-OS envs, pkgs dir order, filesystems, lock settings."""

from __future__ import annotations

import os

from condashare.doctor.checks._util import error, info, ok, warning
from condashare.doctor.context import Context
from condashare.doctor.model import Check, Finding
from condashare.pathtext import within
from condashare.render import shell_word, shown
from condashare.wording import agree, plural


def _shared_prefixes(ctx: Context) -> list[str]:
    return [i.prefix for i in ctx.site.installations] if ctx.site else []


def check_parse(ctx: Context) -> list[Finding]:
    cid = "condarc.parse"
    cfg = ctx.conda_config
    findings: list[Finding] = []
    for f in cfg.files:
        if f.status in ("invalid", "unreadable"):
            findings.append(
                error(
                    cid,
                    f"{f.path} cannot be used: {f.problem}",
                    "conda stops with a parse error on every command while this file is broken "
                    "(or, for some errors, silently ignores settings).",
                    f"Fix the YAML in {shown(f.path)} (spaces, not tabs; `key: value`), or move "
                    f"it away: mv {shell_word(f.path)} {shell_word(f.path + '.broken')}",
                    path=f.path,
                    error=f.problem,
                )
            )
        elif f.status == "unresponsive":
            findings.append(
                warning(
                    cid,
                    f"{f.path} does not answer",
                    "It is on a share that is not responding; conda will hang reading it.",
                    "See condashare doctor mount.responsive.",
                    path=f.path,
                )
            )
    for path, why in cfg.ignored:
        findings.append(
            warning(
                cid,
                f"{path}: {why}",
                "Settings you put there have no effect.",
                f"Make {shown(path)} a regular file named .condarc, condarc or *.yml/*.yaml "
                "(or remove it).",
                path=path,
            )
        )
    if findings:
        return findings
    read = [f.path for f in cfg.files]
    if not read:
        return [ok(cid, "no .condarc files (conda uses its defaults)")]
    parse = f"{plural(len(read), 'condarc file')} {agree(len(read), 'parses', 'parse')}"
    return [ok(cid, parse, "\n".join(map(shown, read)), files=read)]


def check_other_os_envs(ctx: Context) -> list[Finding]:
    cid = "condarc.other_os_envs"
    cfg = ctx.conda_config
    findings: list[Finding] = []
    for path in cfg.envs_dirs:
        for other in ctx.other_installations:
            if within(path, other.prefix):
                findings.append(
                    warning(
                        cid,
                        f"envs_dirs lists {path}, environments of the {other.os} installation",
                        f"From {shown(cfg.sources.get(path, 'configuration'))}. conda on this "
                        f"{ctx.host.os} host lists those environments and can activate them, but "
                        "nothing in them runs here. A home shared between OSes with one .condarc "
                        "causes this.",
                        "Remove it from that file's envs_dirs (condashare init keeps per-OS "
                        "settings apart).",
                        path=path,
                        source=cfg.sources.get(path),
                    )
                )
    return findings or [ok(cid, "no other OS's environments in envs_dirs")]


def check_env_names(ctx: Context) -> list[Finding]:
    cid = "condarc.env_names"
    cfg = ctx.conda_config
    if cfg.conda_ctx is None:
        return [info(cid, "conda's envs_dirs could not be computed")]
    from condashare.shared_envs.status import find_shadows

    shadows, unreachable = find_shadows(cfg.conda_ctx, cfg.envs_entries)
    findings: list[Finding] = []
    for shadow in shadows:
        where = [shadow.winner, *shadow.hidden]
        text = (
            f"env {shadow.name!r} exists in {len(where)} envs dirs; "
            f"`conda activate {shadow.name}` takes {os.path.join(shadow.winner, shadow.name)}"
        )
        detail = "\n".join(shown(os.path.join(d, shadow.name)) for d in where)
        fix = (
            f"Activate the other one by path (conda activate "
            f"{shell_word(os.path.join(shadow.hidden[0], shadow.name))}), or rename yours "
            f"(conda rename -n {shell_word(shadow.name)} NEW_NAME)."
        )
        data = {"env": shadow.name, "dirs": where, "shared": shadow.shared_involved}
        if shadow.shared_involved:  # a shared env hides yours, or yours hides a release
            findings.append(warning(cid, text, detail, fix, **data))
        else:
            findings.append(info(cid, text, detail, fix, **data))
    for gone in unreachable:
        findings.append(
            warning(
                cid,
                f"envs dir {gone.entry.path} cannot be listed: {gone.verdict}",
                f"From {shown(gone.entry.source)}. conda lists and activates environments from it.",
                "See condashare doctor mount.",
                path=gone.entry.path,
                status=gone.status,
            )
        )
    listed = len(cfg.envs_entries)
    return findings or [ok(cid, f"no env name in more than one of {listed} envs dirs")]


def _writable_local(path: str) -> bool | None:
    """True/False for a local directory (or its nearest existing parent), None if unknown."""
    probe = path
    while probe and probe != "/":
        if os.path.isdir(probe):
            return os.access(probe, os.W_OK)
        probe = os.path.dirname(probe)
    return None


def check_pkgs_first(ctx: Context) -> list[Finding]:
    cid = "condarc.pkgs_first"
    cfg = ctx.conda_config
    if not cfg.pkgs_dirs_configured:
        return [
            ok(
                cid,
                "pkgs_dirs not configured (conda writes to ~/.conda/pkgs)",
                pkgs_dirs=cfg.pkgs_dirs,
            )
        ]
    first = cfg.pkgs_dirs[0]
    shared = [p for p in _shared_prefixes(ctx) if within(first, p)]
    read_only = bool(shared)
    if not read_only and not ctx.is_remote(first):
        read_only = _writable_local(first) is False
    if read_only:
        what = f"inside the shared installation {shared[0]}" if shared else "not writable by you"
        return [
            warning(
                cid,
                f"the first package cache {first} is {what}",
                "conda downloads into the first writable cache, but several conda versions fail "
                "with NotWritableError when the first listed cache is read-only, and every solve "
                "then links old packages straight from the shared cache.",
                f"Put your own cache first in pkgs_dirs "
                f"(in {cfg.sources.get(first, '~/.condarc')}), "
                "e.g.\n  pkgs_dirs:\n    - ~/.conda/pkgs\n    - " + first,
                pkgs_dirs=cfg.pkgs_dirs,
            )
        ]
    return [ok(cid, f"first package cache {first} is yours", pkgs_dirs=cfg.pkgs_dirs)]


def check_filesystems(ctx: Context) -> list[Finding]:
    cid = "condarc.filesystems"
    cfg = ctx.conda_config
    shared = _shared_prefixes(ctx)
    envs, pkgs = cfg.user_envs_dir(shared), cfg.user_pkgs_dir(shared)
    if not envs or not pkgs:
        return [info(cid, "no user-writable envs or pkgs dir configured")]
    m_env, m_pkg = ctx.mount_of(envs), ctx.mount_of(pkgs)
    data = {
        "envs_dir": envs,
        "pkgs_dir": pkgs,
        "envs_mount": m_env.mountpoint if m_env else None,
        "pkgs_mount": m_pkg.mountpoint if m_pkg else None,
    }
    if m_env and m_pkg and m_env.mountpoint != m_pkg.mountpoint:
        return [
            warning(
                cid,
                f"your envs ({envs}) and package cache ({pkgs}) are on different filesystems",
                shown(f"{m_env.mountpoint} ({m_env.fstype}) vs {m_pkg.mountpoint} ({m_pkg.fstype})")
                + ": conda cannot hard-link across filesystems, so every environment gets a full "
                "copy of every package (slower installs, much more space).",
                "Keep envs_dirs and pkgs_dirs on the same filesystem, e.g. both under "
                "/local/scratch/$USER/conda or both under ~/.conda.",
                **data,
            )
        ]
    return [ok(cid, "your envs and package cache share a filesystem (hard links work)", **data)]


def check_lock_advice(ctx: Context) -> list[Finding]:
    cid = "condarc.lock_advice"
    cfg = ctx.conda_config
    pkgs = cfg.user_pkgs_dir(_shared_prefixes(ctx))
    if not pkgs:
        return [info(cid, "no user package cache configured")]
    mount = ctx.mount_of(pkgs)
    if mount is None or not mount.is_network:
        return [ok(cid, f"package cache {pkgs} is on a local filesystem", pkgs_dir=pkgs)]
    data = {
        "pkgs_dir": pkgs,
        "fstype": mount.fstype,
        "no_lock": cfg.no_lock,
        "use_lockfiles": cfg.use_lockfiles,
    }
    if cfg.no_lock or cfg.use_lockfiles is False:
        return [
            info(
                cid,
                f"package cache {pkgs} is on {mount.fstype}; locking is disabled",
                "Safe only while one machine at a time uses this cache.",
                "Prefer a cache on local disk (pkgs_dirs: [/local/scratch/$USER/conda-pkgs]).",
                **data,
            )
        ]
    return [
        warning(
            cid,
            f"your package cache {pkgs} is on a network filesystem ({mount.fstype})",
            "conda locks repodata cache files with fcntl.lockf; on NFS that hangs or fails "
            "('LockError', minutes-long waits), and concurrent solves from several hosts can "
            "corrupt the cache. SQLite (cache/repodata_shards.db) does not lock reliably there.",
            "Best: a cache on local disk, in ~/.condarc:\n  pkgs_dirs:\n    - "
            "/local/scratch/$USER/conda-pkgs\nIf it must stay here and lock errors appear: "
            "`conda config --set no_lock true` (mamba: use_lockfiles: false) — safe only if one "
            "host at a time uses the cache.",
            **data,
        )
    ]


PARSE = Check("condarc.parse", "condarc", "condarc files parse", check_parse)
OTHER_OS_ENVS = Check(
    "condarc.other_os_envs", "condarc", "no other-OS envs in envs_dirs", check_other_os_envs
)
ENV_NAMES = Check(
    "condarc.env_names",
    "condarc",
    "no env name hides another",
    check_env_names,
    description="an env name in several envs_dirs: conda activate NAME takes the first",
)
PKGS_FIRST = Check(
    "condarc.pkgs_first", "condarc", "a writable package cache first", check_pkgs_first
)
FILESYSTEMS = Check(
    "condarc.filesystems", "condarc", "envs and pkgs on one filesystem", check_filesystems
)
LOCK_ADVICE = Check(
    "condarc.lock_advice", "condarc", "locking settings for network caches", check_lock_advice
)
