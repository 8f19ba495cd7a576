"""``shared status``: conda's effective envs/pkgs dirs with provenance, and what to watch
(shadowed names, other-OS envs, unset variables, read-only shared caches first, dead shares)."""

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field

from condashare.bounded.liveness import is_share_failure, probe_words
from condashare.bounded.paths import MISSING, OK, UNRESPONSIVE, ProbeResult
from condashare.conda.condarc import (
    MAX_LISTING,
    CondaContext,
    DirEntry,
    EffectiveView,
    appendable,
    compute_effective,
    listdir,
    remote_probe,
)
from condashare.files.read import UserFileError
from condashare.findings import Finding, Severity
from condashare.shared_envs.memory import load_memory
from condashare.shared_envs.setup import Setup, user_file
from condashare.site.file import (
    Installation,
)


def note(severity: str, code: str, message: str) -> Finding:
    """One observation of ``shared status``, as the one Finding every command reports."""
    return Finding(f"shared.{code}", Severity(severity), message)


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
    notes: list[Finding]
    remembered: list[str] = field(default_factory=list)  # files with an `off` to undo

    @property
    def problems(self) -> bool:
        return any(n.severity is Severity.ERROR for n in self.notes)


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
        status, entries = listdir(ctx, envs_dir)
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


def shared_status(setup: Setup, view: EffectiveView | None = None) -> SharedStatus:
    """Effective dirs with provenance plus the reports of issue 4."""
    ctx = setup.ctx
    view = view or compute_effective(ctx)
    notes: list[Finding] = []
    for prob in view.problems:
        where = f"{prob.source}:{prob.line}" if prob.line else prob.source
        notes.append(note("error", "conda-config-error", f"{where}: {prob.message}"))
    for ign in view.ignored:
        notes.append(note("warning", "condarc-ignored", f"{ign.path}: {ign.reason}"))
    for f in view.files:
        if f.status == "invalid" and not f.conda_fails:
            notes.append(
                note(
                    "error",  # its envs_dirs go with it: the shared envs vanish from conda
                    "condarc-invalid",
                    f"{f.path}{f':{f.line}' if f.line else ''}: conda ignores this file "
                    "with a warning, so none of "
                    f"its settings apply (envs_dirs, pkgs_dirs, channels ...): {f.error}",
                )
            )
        elif f.status == "unresponsive":
            notes.append(
                note(
                    "error",
                    "condarc-unresponsive",
                    f"{f.path}: {f.error}; conda would hang reading it",
                )
            )
        elif f.status == "unreadable":
            notes.append(
                note(
                    "warning",
                    "condarc-unreadable",
                    f"{f.path}: {f.error}; it is left out of the view below",
                )
            )
    if not ctx.conda_root:
        notes.append(
            note(
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
                note(
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
                note(
                    "error",
                    "other-os-envs",
                    f"{entry.path} ({entry.source}) holds "
                    f"envs of the {entry.installation_os} installation "
                    f"{entry.installation}: they cannot run on this {host_os} host",
                )
            )
    shadows, unreachable = find_shadows(ctx, view.envs_dirs)
    for gone in unreachable:
        why = "does not exist" if gone.status == MISSING else f"cannot be listed: {gone.verdict}"
        notes.append(
            note(
                "error" if gone.share_broken else "warning",
                "envs-dir-unreachable",
                f"{gone.entry.path}: {why}",
            )
        )
    for shadow in shadows:
        if shadow.shared_involved:
            notes.append(
                note(
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
                note(
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
                note(
                    "warning",
                    "readonly-shared-pkgs-first",
                    f"shared package cache "
                    f"{p.entry.path} is read-only and listed before any writable one "
                    "(conda/conda#7227); fix: condashare shared on --pkgs",
                )
            )
            break
    for text in exposes_after_off(setup, view):
        notes.append(note("info", "stays-after-off", text))
    files: list[dict[str, object]] = [
        {
            "path": f.path,
            "slot": f.slot,
            "status": f.status,
            "error": f.error,
            "line": f.line,
            "editable": user_file(setup, f.path, f.slot),
        }
        for f in view.files
    ]
    try:
        remembered = sorted(load_memory(setup.state_dir, ctx.reader))
    except UserFileError as exc:
        remembered = []
        notes.append(
            note("error", "state-unreadable", f"{exc}; what `shared off` removed is unknown")
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
            if not user_file(setup, source, slot):
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
        if not user_file(setup, entry.source, slot):
            out.append(f"{entry.path} comes from {entry.source}, not a file of yours")
    return out
