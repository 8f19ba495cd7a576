"""Shared environments in conda's view: status, ``on``/``off`` with exact restore, the envs list.

``off`` removes every entry that points into a site installation from the user's condarc files
and remembers, per file, the original bytes and the removed lines (position, comments, tags) in
condashare's state dir; ``on`` afterwards writes those bytes back when the file was not touched
since, or re-inserts the remembered lines when it was. Without remembered state ``on`` adds this
host's installation. Nothing here prints.

Shared home (one home for Linux and macOS): condashare never writes one OS's installation path
into a file both OSes read. Users of the shared conda already see its ``<root>/envs`` (conda
always appends it); users of their own conda get the entry in their own conda's root
``.condarc``, which is on conda's search path and exists once per OS. See docs/shared-envs.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import posixpath
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from condashare.bounded.liveness import INSTALLATION, is_share_failure, probe_liveness, probe_words
from condashare.bounded.paths import MISSING, OK, UNRESPONSIVE, ProbeResult, run_probe
from condashare.conda.condarc import (
    MAX_CONDARC_BYTES,
    MAX_LISTING,
    CondaContext,
    CondarcError,
    DirEntry,
    EffectiveView,
    ItemSpan,
    _listdir,
    appendable,
    classify,
    compute_effective,
    conda_expand,
    find_conda_root,
    insert_lines,
    item_line,
    locate_list,
    remote_probe,
    remove_items,
)
from condashare.files.read import MAX_STATE_BYTES, Reader, UserFileError
from condashare.files.write import bounded_write, replace_file, resolve_target
from condashare.host import dirs
from condashare.host.detect import Host, HostInputs
from condashare.host.mounts import Mount, mount_for
from condashare.site.file import (
    Installation,
    Site,
)
from condashare.site.installations import choose_installation
from condashare.site.locate import locate

STATE_FILE = "shared-off.json"
STATE_VERSION = 1


# --------------------------------------------------------------------------- setup


@dataclass(frozen=True)
class Setup:
    """The host, its site and installation, and the conda context, resolved once per command."""

    host: Host
    site: Site | None
    installation: Installation | None
    ctx: CondaContext
    shared_home: bool
    shared_home_reason: str
    state_dir: str

    @property
    def root_is_installation(self) -> Installation | None:
        """The site installation the running conda belongs to (the shared conda), if any."""
        root = self.ctx.conda_root
        if not root:
            return None
        _, _, inst = classify(root, self.ctx)
        return inst


def resolve_setup(
    site_path: str | None = None,
    prefix: str | None = None,
    conda_root: str | None = None,
    env: Mapping[str, str] | None = None,
    inputs: HostInputs | None = None,
    mounts: Sequence[Mount] | None = None,
    cwd: str | None = None,
    system_dirs: Sequence[str] | None = None,
    state_dir: str | None = None,
) -> Setup:
    """Detect what ``shared``/``isolate``/``envs`` need; SiteError/PlatformError on bad config."""
    where = locate(site_path, prefix, env, inputs, mounts)
    env, mounts, host, site, timeout = (
        where.env,
        where.mounts,
        where.host,
        where.site,
        where.probe_timeout,
    )
    installation = None
    if site is not None:
        installation = choose_installation(site, host.platform, host.facts, env).installation
    if conda_root:
        root: str | None = posixpath.normpath(conda_root)
        root_source = "--conda-root"
    else:
        from condashare.info import find_on_path

        def lookup(name: str) -> str | None:
            return find_on_path(name, env.get("PATH", ""), mounts, timeout)[0]

        root, root_source = find_conda_root(env, lookup)
    ctx_kwargs = {}
    if system_dirs is not None:
        ctx_kwargs["system_dirs"] = tuple(system_dirs)
    ctx = CondaContext(
        env=env,
        cwd=cwd or str(Path.cwd()),
        conda_root=root,
        conda_root_source=root_source,
        mounts=tuple(mounts),
        installations=site.installations if site else (),
        probe_timeout=timeout,
        **ctx_kwargs,  # type: ignore[arg-type]
    )
    oses = {i.os for i in site.installations} if site else set()
    home_mount = mount_for(ctx.home, mounts)
    shared_home = len(oses) > 1 and home_mount is not None and home_mount.is_network
    reason = ""
    if shared_home and home_mount is not None:
        reason = (
            f"home is on {home_mount.fstype} {home_mount.mountpoint} and the site has "
            f"installations for {', '.join(sorted(oses))}"
        )
    if env.get("CONDASHARE_SHARED_HOME") in ("0", "1"):
        shared_home = env["CONDASHARE_SHARED_HOME"] == "1"
        reason = "CONDASHARE_SHARED_HOME"
    if state_dir is None:
        state_dir = dirs.state_dir_holding(STATE_FILE, ctx.reader, env)
    return Setup(host, site, installation, ctx, shared_home, reason, state_dir)


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class Note:
    """One observation of ``shared status``."""

    severity: str  # ok | info | warning | error
    code: str
    message: str


@dataclass(frozen=True)
class Shadow:
    """An env name found in more than one envs dir: conda takes the first."""

    name: str
    winner: str
    hidden: tuple[str, ...]
    shared_involved: bool


@dataclass(frozen=True)
class PkgsDir:
    """An effective package cache and whether conda could write it (urls.txt opens for append)."""

    entry: DirEntry
    writable: bool | None  # None: no urls.txt (absent), or the share did not tell
    unreachable: str = ""  # what the share answered instead ("unresponsive (...)", "I/O error")


@dataclass
class SharedStatus:
    """What ``shared status`` reports."""

    platform: str
    installation: Installation | None
    conda_root: str | None
    conda_root_source: str
    root_writable: bool | None
    shared_home: bool
    envs_dirs: list[DirEntry]
    pkgs_dirs: list[PkgsDir]
    files: list[dict[str, object]]
    shadows: list[Shadow]
    notes: list[Note]
    remembered: list[str] = field(default_factory=list)  # files with an `off` to undo

    @property
    def problems(self) -> bool:
        return any(n.severity == "error" for n in self.notes)


@dataclass(frozen=True)
class Unreachable:
    """A shared envs dir that could not be listed, and what the share answered instead."""

    entry: DirEntry
    status: str  # missing | unresponsive | error
    verdict: str  # "unresponsive (no answer in 2.0 s)", "stale file handle (ESTALE)", "missing"
    share_broken: bool  # unresponsive or failing (not merely absent): conda breaks on it


def _env_names(ctx: CondaContext, envs_dir: str) -> tuple[list[str] | None, ProbeResult | None]:
    """Env names in ``envs_dir`` (None when it cannot be listed) and, for a dir on a share, the
    probe's answer (its honest verdict: unresponsive, stale file handle ...)."""
    full = ctx.absolute(envs_dir)
    answer: ProbeResult | None = None
    if ctx.is_remote(full):
        answer = remote_probe(ctx, "listdir", full, str(MAX_LISTING))
        status: str = answer.status
        entries = [(str(n), str(k)) for n, k in answer.data.get("entries", [])]
    else:
        status, entries = _listdir(ctx, envs_dir)
    if status != OK:
        return None, answer
    return sorted(n for n, kind in entries if kind == "dir" and not n.startswith(".")), answer


def find_shadows(
    ctx: CondaContext, envs_dirs: Sequence[DirEntry]
) -> tuple[list[Shadow], list[Unreachable]]:
    """Env names found in several envs dirs (conda activates the first), and the shared envs
    dirs on a share that could not be listed, with what the share answered."""
    owners: dict[str, list[DirEntry]] = {}
    unreachable: list[Unreachable] = []
    for entry in envs_dirs:
        env_names, answer = _env_names(ctx, entry.path)
        if env_names is None and entry.shared and answer is not None:
            broken = answer.status == UNRESPONSIVE or is_share_failure(answer.errno)
            words = probe_words(answer, ctx.probe_timeout)
            unreachable.append(Unreachable(entry, answer.status, words, broken))
        for name in env_names or ():
            owners.setdefault(name, []).append(entry)
    shadows = [
        Shadow(
            name,
            entries[0].path,
            tuple(e.path for e in entries[1:]),
            any(e.shared for e in entries),
        )
        for name, entries in sorted(owners.items())
        if len(entries) > 1
    ]
    return shadows, unreachable


def _pkgs_dir(ctx: CondaContext, entry: DirEntry) -> PkgsDir:
    """conda's writability test of a package cache; on a share, a dead or failing share is said
    so instead of passing for "no urls.txt"."""
    marker = ctx.absolute(posixpath.join(entry.path, "urls.txt"))
    if not ctx.is_remote(marker):
        return PkgsDir(entry, appendable(ctx, marker))
    answer = remote_probe(ctx, "appendable", marker)
    if answer.status == OK and answer.data.get("appendable") is False:
        # the probe does not say why the open for append failed: read the file to tell a
        # read-only cache from a share that fails (EIO, ESTALE ...)
        answer = remote_probe(ctx, "head", marker, "1")
        if answer.status != UNRESPONSIVE and not is_share_failure(answer.errno):
            return PkgsDir(entry, False)
    if answer.status == OK:
        value = answer.data.get("appendable")
        return PkgsDir(entry, None if value is None else bool(value))
    if answer.status == MISSING:
        return PkgsDir(entry, None)
    return PkgsDir(entry, None, probe_words(answer, ctx.probe_timeout))


def _user_file(setup: Setup, path: str, slot: str) -> bool:
    """May condashare edit this file for the user? (never the site's or a system file)"""
    if slot == "user":
        return True
    if slot == "condarc":
        home = setup.ctx.home.rstrip("/") + "/"
        return setup.ctx.absolute(path).startswith(home)
    if slot == "root" and setup.ctx.conda_root and setup.root_is_installation is None:
        full = setup.ctx.absolute(path)
        if setup.ctx.is_remote(full):
            return bool(appendable(setup.ctx, full))  # through the probe: may be a dead share
        return os.access(full, os.W_OK)
    return False


def shared_status(setup: Setup, view: EffectiveView | None = None) -> SharedStatus:
    """Effective dirs with provenance plus the reports of issue 4."""
    ctx = setup.ctx
    view = view or compute_effective(ctx)
    notes: list[Note] = []
    for prob in view.problems:
        where = f"{prob.source}:{prob.line}" if prob.line else prob.source
        notes.append(Note("error", "conda-config-error", f"{where}: {prob.message}"))
    for ign in view.ignored:
        notes.append(Note("warning", "condarc-ignored", f"{ign.path}: {ign.reason}"))
    for f in view.files:
        if f.status == "invalid" and not f.conda_fails:
            notes.append(
                Note(
                    "warning",
                    "condarc-invalid",
                    f"{f.path}:{f.line}: conda ignores this file with a warning: {f.error}",
                )
            )
        elif f.status == "unresponsive":
            notes.append(
                Note(
                    "error",
                    "condarc-unresponsive",
                    f"{f.path}: {f.error}; conda would hang reading it",
                )
            )
        elif f.status == "unreadable":
            notes.append(
                Note(
                    "warning",
                    "condarc-unreadable",
                    f"{f.path}: {f.error}; it is left out of the view below",
                )
            )
    if not ctx.conda_root:
        notes.append(
            Note(
                "warning",
                "no-conda",
                "no conda found (CONDA_EXE, PATH); the view "
                "leaves out the running conda's own root .condarc and <root>/envs "
                "(use --conda-root PATH)",
            )
        )
    for entry in (*view.envs_dirs, *view.pkgs_dirs):
        if entry.unexpanded:
            names = ", ".join("$" + n for n in entry.unexpanded)
            notes.append(
                Note(
                    "error",
                    "unset-variable",
                    f"{entry.raw!r} from {entry.source}: "
                    f"{names} is not set, so conda uses the path {entry.path}",
                )
            )
    host_os = setup.host.os
    for entry in view.envs_dirs:
        if entry.installation_os and entry.installation_os != host_os:
            notes.append(
                Note(
                    "error",
                    "other-os-envs",
                    f"{entry.path} ({entry.source}) holds "
                    f"envs of the {entry.installation_os} installation "
                    f"{entry.installation}: they cannot run on this {host_os} host",
                )
            )
    shadows, unreachable = find_shadows(ctx, view.envs_dirs)
    for gone in unreachable:
        notes.append(
            Note(
                "error" if gone.share_broken else "warning",
                "envs-dir-unreachable",
                f"{gone.entry.path}: cannot be listed: {gone.verdict}",
            )
        )
    for shadow in shadows:
        if shadow.shared_involved:
            notes.append(
                Note(
                    "warning",
                    "env-name-shadowed",
                    f"env {shadow.name!r} exists in "
                    f"{len(shadow.hidden) + 1} envs dirs; `conda activate {shadow.name}` takes "
                    f"{posixpath.join(shadow.winner, shadow.name)}",
                )
            )
    pkgs: list[PkgsDir] = []
    for entry in view.pkgs_dirs:
        pkgs.append(_pkgs_dir(ctx, entry))
        if pkgs[-1].unreachable:
            notes.append(
                Note(
                    "error",
                    "pkgs-dir-unreachable",
                    f"package cache {entry.path}: cannot be read: {pkgs[-1].unreachable}",
                )
            )
    first_writable = next((i for i, p in enumerate(pkgs) if p.writable), None)
    for i, p in enumerate(pkgs):
        if (
            p.entry.shared
            and p.writable is False
            and (first_writable is None or i < first_writable)
        ):
            notes.append(
                Note(
                    "warning",
                    "readonly-shared-pkgs-first",
                    f"shared package cache "
                    f"{p.entry.path} is read-only and listed before any writable one "
                    "(conda/conda#7227); fix: condashare shared on --pkgs",
                )
            )
            break
    for text in exposes_after_off(setup, view):
        notes.append(Note("info", "stays-after-off", text))
    files: list[dict[str, object]] = [
        {
            "path": f.path,
            "slot": f.slot,
            "status": f.status,
            "error": f.error,
            "line": f.line,
            "editable": _user_file(setup, f.path, f.slot),
        }
        for f in view.files
    ]
    try:
        remembered = sorted(_memory(load_state(setup.state_dir, ctx.reader)))
    except UserFileError as exc:
        remembered = []
        notes.append(
            Note("error", "state-unreadable", f"{exc}; what `shared off` removed is unknown")
        )
    return SharedStatus(
        platform=str(setup.host.platform),
        installation=setup.installation,
        conda_root=ctx.conda_root,
        conda_root_source=ctx.conda_root_source,
        root_writable=view.root_writable,
        shared_home=setup.shared_home,
        envs_dirs=view.envs_dirs,
        pkgs_dirs=pkgs,
        files=files,
        shadows=shadows,
        notes=notes,
        remembered=remembered,
    )


def exposes_after_off(setup: Setup, view: EffectiveView) -> list[str]:
    """What keeps shared envs/caches in view even after ``off`` (and in ``isolate``)."""
    out: list[str] = []
    inst = setup.root_is_installation
    if inst is not None and setup.ctx.conda_root:
        out.append(
            f"{setup.ctx.conda_root}/envs: conda always appends the running conda's "
            f"<root>/envs (conda/conda#14696); you run the shared conda of {inst.name}. "
            "Only your own conda hides it."
        )
    for key in ("envs_dirs", "pkgs_dirs"):
        source = view.finals.get(key)
        if source and not source.startswith("CONDA_"):
            slot = next((f.slot for f in view.files if f.path == source), "")
            if not _user_file(setup, source, slot):
                out.append(
                    f"{source} marks {key} #!final: later files and CONDA_* variables "
                    "are ignored for it"
                )
    entries = (*view.envs_dirs, *view.pkgs_dirs)
    for entry in entries:
        if not entry.installation or entry.source_kind == "default":
            continue
        if entry.source_kind == "env":
            out.append(f"{entry.path} comes from ${entry.source}; unset it")
            continue
        slot = next((f.slot for f in view.files if f.path == entry.source), "")
        if not _user_file(setup, entry.source, slot):
            out.append(f"{entry.path} comes from {entry.source}, not a file of yours")
    return out


# --------------------------------------------------------------------------- state


def _state_path(state_dir: str) -> str:
    return posixpath.join(state_dir, STATE_FILE)


def load_state(state_dir: str, reader: Reader | None = None) -> dict[str, object]:
    """What ``off`` remembered; empty when there is no (valid) record. UserFileError when the
    state file is refused or its share does not answer: guessing "nothing remembered" then
    would make ``on`` forget what ``off`` removed."""
    reader = reader or Reader.for_this_host()
    raw = reader.require(_state_path(state_dir), MAX_STATE_BYTES)
    if raw is None:
        return {"version": STATE_VERSION, "files": {}}
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError
        return {"version": STATE_VERSION, "files": {}}
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return {"version": STATE_VERSION, "files": {}}
    return data


def _memory(state: Mapping[str, object]) -> dict[str, object]:
    files = state.get("files")
    return dict(files) if isinstance(files, dict) else {}


def save_state(state_dir: str, state: Mapping[str, object], reader: Reader | None = None) -> None:
    data = json.dumps(state, indent=2).encode()
    replace_file(_state_path(state_dir), data, 0o600, reader)


# --------------------------------------------------------------------------- on / off


@dataclass
class FileChange:
    """One planned (or applied) edit of one file."""

    path: str  # the file as found on the search path
    target: str  # the real file written (symlinks followed)
    action: str  # remove | restore | add | create
    before: bytes
    after: bytes
    items: list[str]  # the values added or removed

    def diff(self) -> str:
        import difflib

        return "".join(
            difflib.unified_diff(
                self.before.decode("utf-8", "replace").splitlines(keepends=True),
                self.after.decode("utf-8", "replace").splitlines(keepends=True),
                fromfile=self.path,
                tofile=self.path,
            )
        )


@dataclass
class EditResult:
    """What ``on``/``off`` did or would do."""

    changes: list[FileChange]
    notes: list[str]
    applied: bool


def _read_bytes(setup: Setup, path: str) -> bytes | None:
    """A condarc file's bytes (None: absent) through the one reader; UserFileError for a FIFO,
    a device, a directory, a symlink loop, a file over the size cap or a dead share."""
    return setup.ctx.reader.require(path, MAX_CONDARC_BYTES)


def _decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CondarcError(path, None, "not UTF-8 text") from None


def _is_managed(setup: Setup, raw: str) -> bool:
    """Does a configured entry point into a site installation (any OS)?"""
    path = conda_expand(raw, setup.ctx.conda_env, setup.ctx.cwd)
    return classify(path, setup.ctx)[2] is not None


def editable_files(setup: Setup, view: EffectiveView) -> list[str]:
    """The user's condarc files conda reads, as found on the search path."""
    return [f.path for f in view.files if _user_file(setup, f.path, f.slot)]


def plan_off(
    setup: Setup, view: EffectiveView | None = None
) -> tuple[list[FileChange], dict[str, object]]:
    """Remove every site-installation entry from the user's files; returns changes + memory."""
    view = view or compute_effective(setup.ctx)
    changes: list[FileChange] = []
    memory: dict[str, object] = {}
    for f in view.files:
        if not _user_file(setup, f.path, f.slot):
            continue
        path = setup.ctx.absolute(f.path)
        if f.status == "invalid":
            raise CondarcError(path, f.line, f"{f.error}; fix it first")
        before = _read_bytes(setup, path)
        if before is None:
            continue
        text = _decode(before, path)
        removed_all: list[dict[str, object]] = []
        new_text = text
        for name in ("envs_dirs", "pkgs_dirs"):
            layout = locate_list(new_text, path, name)
            drop = [it.index for it in layout.items if _is_managed(setup, it.value)]
            if not drop:
                continue
            new_text, removed = remove_items(new_text, path, name, drop)
            removed_all += [_remember(name, it) for it in removed]
        if not removed_all:
            continue
        after = new_text.encode("utf-8")
        target = resolve_target(path, setup.ctx.reader)
        changes.append(
            FileChange(
                path, target, "remove", before, after, [str(r["value"]) for r in removed_all]
            )
        )
        memory[target] = {
            "path": path,
            "before_b64": base64.b64encode(before).decode(),
            "after_sha256": hashlib.sha256(after).hexdigest(),
            "removed": removed_all,
            "time": time.time(),
        }
    return changes, memory


def _remember(name: str, it: ItemSpan) -> dict[str, object]:
    return {"key": name, "index": it.index, "value": it.value, "flag": it.flag, "lines": it.text}


def _backup(setup: Setup, change: FileChange) -> None:
    """Keep the bytes we are about to replace (state dir, ``backups/``), newest 20 per file.
    Bounded like every write: the state dir is in the home, which may be on a share."""
    if change.before:
        directory = str(Path(setup.state_dir) / "backups")
        args = (directory, change)
        bounded_write(_write_backup, args, [directory], setup.ctx.reader, change.path)


def _write_backup(backups: str, change: FileChange) -> None:
    directory = Path(backups)
    directory.mkdir(parents=True, exist_ok=True)
    stem = change.target.strip("/").replace("/", "%")
    name = f"{stem}.{time.strftime('%Y%m%dT%H%M%S')}.{time.time_ns() % 1_000_000_000:09d}"
    (directory / name).write_bytes(change.before)
    old = sorted(directory.glob(f"{stem}.*"))
    for extra in old[:-20]:
        extra.unlink()


def shared_off(setup: Setup, dry_run: bool = False) -> EditResult:
    """``condashare shared off``; a second run finds nothing and keeps the first memory."""
    changes, memory = plan_off(setup)
    notes: list[str] = []
    if not changes:
        notes.append("no shared dirs in your condarc files; nothing to do")
    if dry_run or not changes:
        return EditResult(changes, notes, False)
    reader = setup.ctx.reader
    state = load_state(setup.state_dir, reader)
    files = dict(state.get("files", {}))  # type: ignore[call-overload]
    files.update(memory)
    state = {"version": STATE_VERSION, "files": files}
    save_state(setup.state_dir, state, reader)  # remember first: a crash after it loses nothing
    for change in changes:
        _backup(setup, change)
        replace_file(change.path, change.after, reader=reader)
    return EditResult(changes, notes, True)


def _plan_restore(
    setup: Setup, memory: Mapping[str, object], missing: list[str]
) -> list[FileChange]:
    """Changes that undo a remembered ``off``; files absent here (another host's own conda
    root in a shared home) go to ``missing`` and stay remembered."""
    out: list[FileChange] = []
    for target, raw in memory.items():
        if not isinstance(raw, dict):
            continue
        path = str(raw.get("path", target))
        found = _read_bytes(setup, target)
        if found is None:
            missing.append(target)
            continue
        current = found
        before = base64.b64decode(str(raw.get("before_b64", "")))
        removed = [r for r in raw.get("removed", []) if isinstance(r, dict)]
        values = [str(r.get("value")) for r in removed]
        if hashlib.sha256(current).hexdigest() == raw.get("after_sha256"):
            if current != before:
                out.append(FileChange(path, target, "restore", current, before, values))
            continue
        # Changed since `off`: put the remembered lines back where they were, when missing.
        text = _decode(current, target)
        for r in sorted(removed, key=lambda r: (str(r["key"]), int(r["index"]))):
            name = str(r["key"])
            layout = locate_list(text, target, name)
            if str(r["value"]) in layout.values:
                continue
            lines = str(r.get("lines") or "")
            if layout.style == "flow" or not lines:
                lines = item_line(layout, str(r["value"]))
            text = insert_lines(text, target, name, int(r["index"]), lines, str(r["value"]))
        after = text.encode("utf-8")
        if after != current:
            out.append(FileChange(path, target, "restore", current, after, values))
    return out


def _own_default_dirs(setup: Setup, view: EffectiveView, key: str) -> list[str]:
    """The user's own default dirs that a newly configured shared entry would otherwise hide."""
    configured = {
        e.path
        for e in (view.envs_dirs if key == "envs_dirs" else view.pkgs_dirs)
        if e.source_kind != "default"
    }
    leaf = "envs" if key == "envs_dirs" else "pkgs"
    out = []
    root = setup.ctx.conda_root
    own_root = root and setup.root_is_installation is None
    if key == "pkgs_dirs" and own_root and root:
        out.append(posixpath.join(root, leaf))
    if key == "envs_dirs" and own_root and root and view.root_writable:
        out.append(posixpath.join(root, leaf))
    home_dir = posixpath.join(setup.ctx.home, ".conda", leaf)
    out.append(home_dir)
    return [d for d in out if d not in configured]


def _spell(setup: Setup, path: str) -> str:
    """Write a home path as ``~/...`` so one file works wherever the home is mounted."""
    home = setup.ctx.home.rstrip("/")
    if path == home or path.startswith(home + "/"):
        return "~" + path[len(home) :]
    return path


def target_file(setup: Setup, explicit: str | None) -> tuple[str, str]:
    """Which file ``on`` writes, and why."""
    if explicit:
        return str(Path(explicit).absolute()), "--file"
    home_rc = posixpath.join(setup.ctx.home, ".condarc")
    if not setup.shared_home:
        return home_rc, "your ~/.condarc"
    root = setup.ctx.conda_root
    if root and setup.root_is_installation is None:
        return posixpath.join(root, ".condarc"), (
            "shared home: your own conda's root .condarc is read only on this OS"
        )
    return home_rc, "your ~/.condarc"


def plan_on(
    setup: Setup, pkgs: bool = False, file: str | None = None
) -> tuple[list[FileChange], list[str], bool]:
    """Changes for ``on``: restore a remembered ``off``, else add this host's installation."""
    notes: list[str] = []
    state = load_state(setup.state_dir, setup.ctx.reader)
    memory = state.get("files", {})
    if isinstance(memory, dict) and memory and not file:
        missing: list[str] = []
        changes = _plan_restore(setup, memory, missing)
        for target in missing:
            notes.append(f"remembered `off` of {target} kept: the file is not on this machine")
        if changes or len(missing) < len(memory):
            return changes, notes, True
    inst = setup.installation
    if inst is None:
        raise CondarcError(
            "site",
            None,
            "no shared installation for this host (see `condashare info`); pass --site or --prefix",
        )
    view = compute_effective(setup.ctx)
    path, why = target_file(setup, file)
    notes.append(f"target: {path} ({why})")
    before = _read_bytes(setup, path)
    text = _decode(before, path) if before is not None else ""
    wanted: list[tuple[str, list[str]]] = []
    shared_conda = setup.root_is_installation is not None
    envs_in_view = any(e.path == inst.envs_dir for e in view.envs_dirs)
    if envs_in_view:
        where = next(e for e in view.envs_dirs if e.path == inst.envs_dir)
        notes.append(f"{inst.envs_dir} is already in view ({where.source})")
    elif setup.shared_home and shared_conda:
        notes.append("shared home and the shared conda: its envs are in view by default")
    else:
        own = [_spell(setup, d) for d in _own_default_dirs(setup, view, "envs_dirs")]
        wanted.append(("envs_dirs", [*own, inst.envs_dir]))
    if pkgs:
        pkgs_paths = [p.path for p in view.pkgs_dirs]
        shared_pkgs = inst.pkgs_dir
        if setup.shared_home and shared_conda:
            shared_pkgs = "$CONDA_ROOT/pkgs"  # conda sets CONDA_ROOT to its own prefix
        first_own = next((i for i, e in enumerate(view.pkgs_dirs) if not e.shared), None)
        if (
            inst.pkgs_dir in pkgs_paths
            and first_own is not None
            and (pkgs_paths.index(inst.pkgs_dir) > first_own)
        ):
            notes.append(f"{inst.pkgs_dir} is already in view after your own cache")
        else:
            own = [
                _spell(setup, d)
                for d in _own_default_dirs(setup, view, "pkgs_dirs")
                if classify(d, setup.ctx)[2] is None
            ]
            wanted.append(("pkgs_dirs", [*own, shared_pkgs]))
    added: list[str] = []
    for name, values in wanted:
        for value in values:
            layout = locate_list(text, path, name)
            if value in layout.values:
                continue
            text = insert_lines(
                text, path, name, len(layout.items), item_line(layout, value), value
            )
            added.append(value)
    if not added:
        return [], notes, False
    after = text.encode("utf-8")
    action = "add" if before is not None else "create"
    return (
        [
            FileChange(
                path, resolve_target(path, setup.ctx.reader), action, before or b"", after, added
            )
        ],
        (notes),
        False,
    )


def shared_on(
    setup: Setup, pkgs: bool = False, file: str | None = None, dry_run: bool = False
) -> EditResult:
    """``condashare shared on``; twice = once."""
    changes, notes, restoring = plan_on(setup, pkgs, file)
    if restoring and not changes:
        notes.append("your files already hold what `off` removed")
    if dry_run:
        return EditResult(changes, notes, False)
    reader = setup.ctx.reader
    for change in changes:
        _backup(setup, change)
        replace_file(change.path, change.after, reader=reader)
    if restoring:
        memory = _memory(load_state(setup.state_dir, reader))
        present = reader.exists_many(memory)
        kept = {k: v for k, v in memory.items() if not present[k]}
        save_state(setup.state_dir, {"version": STATE_VERSION, "files": kept}, reader)
    return EditResult(changes, notes, bool(changes))


# --------------------------------------------------------------------------- envs


@dataclass(frozen=True)
class SharedEnv:
    """One shared environment of this host's installation."""

    name: str
    path: str
    version: str | None
    family: str


_VERSION = re.compile(r"^(?P<family>.*?)[-_]?v?(?P<version>\d+(?:\.\d+)*)(?P<rest>.*)$")


def parse_release(name: str) -> tuple[str, str | None]:
    """``isis4.3.0`` -> (``isis``, ``4.3.0``); ``base`` -> (``base``, None)."""
    match = _VERSION.match(name)
    if not match or not match.group("family"):
        return name, None
    return match.group("family"), match.group("version") + match.group("rest")


def _version_key(version: str | None) -> tuple[tuple[int, ...], str]:
    if version is None:
        return (), ""
    nums = re.match(r"\d+(?:\.\d+)*", version)
    parts = tuple(int(x) for x in nums.group().split(".")) if nums else ()
    return parts, version


@dataclass
class EnvsReport:
    """``condashare envs``: the installation, whether its envs dir answered, the envs."""

    installation: Installation | None
    envs_dir: str | None
    status: str  # ok | missing | unresponsive | error | no-installation
    detail: str
    envs: list[SharedEnv]


def list_shared_envs(setup: Setup) -> EnvsReport:
    """Shared envs of this host's installation, via the probe (a dead share cannot hang us).

    A directory listing can be answered from a client's cache, so the installation's liveness
    (an open + read of one of its files) is judged first: a share that died is reported
    unresponsive or failing, never listed from the cache as if it were fine.
    """
    inst = setup.installation
    if inst is None:
        return EnvsReport(None, None, "no-installation", "no installation for this host", [])
    timeout = setup.ctx.probe_timeout
    start = time.monotonic()
    alive = probe_liveness(inst.prefix, INSTALLATION, timeout)
    if alive.status in ("unresponsive", "error"):
        return EnvsReport(inst, inst.envs_dir, alive.status, alive.describe(), [])
    left = max(0.1, timeout - (time.monotonic() - start))
    res = run_probe("envs", inst.envs_dir, left, str(10000))
    if res.status != OK:
        return EnvsReport(inst, inst.envs_dir, res.status, probe_words(res, timeout), [])
    envs = []
    for name in res.data.get("envs", []):
        family, version = parse_release(str(name))
        envs.append(SharedEnv(str(name), posixpath.join(inst.envs_dir, str(name)), version, family))
    envs.sort(key=lambda e: (e.version is None, e.family, _version_key(e.version), e.name))
    return EnvsReport(inst, inst.envs_dir, OK, alive.describe(), envs)


def state_file(setup: Setup) -> Path:
    return Path(_state_path(setup.state_dir))
