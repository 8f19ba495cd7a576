"""``shared on``/``off``: edit the user's condarc files through condashare.files, remembering
exactly what ``off`` removed so ``on`` gives the bytes back."""

import contextlib
import hashlib
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from condashare.bounded.liveness import INSTALLATION, probe_liveness
from condashare.conda.condarc import (
    CondarcError,
    EffectiveView,
    ItemSpan,
    classify,
    compute_effective,
    insert_lines,
    item_line,
    locate_list,
    remove_items,
)
from condashare.files.read import FileRead, ReadStatus, UserFileError
from condashare.files.write import (
    Edit,
    EditError,
    EditUnresponsive,
    FileState,
    apply_edit,
    check_text,
    exclusive_lock,
    plan_edit,
    read_state,
    unified_diff,
)
from condashare.pathtext import within
from condashare.shared_envs.memory import (
    ABSENT,
    Added,
    Memory,
    OffRecord,
    OnRecord,
    RemovedItem,
    load_all,
    now,
    save_memory,
)
from condashare.shared_envs.setup import Setup, is_managed, user_file


@dataclass
class FileChange:
    """One planned (or applied) edit of one condarc file, as ``on``/``off`` report it."""

    path: str  # the file as found on the search path (or as remembered)
    action: str  # remove | restore | add | create
    items: list[str]  # the values added or removed
    edit: Edit  # the exact old and new bytes, applied by condashare.files

    @property
    def target(self) -> str:
        """The real file written (symlinks followed)."""
        return self.edit.target

    @property
    def before(self) -> bytes:
        return self.edit.old or b""

    @property
    def after(self) -> bytes:
        return self.edit.new or b""

    def diff(self) -> str:
        return unified_diff(self.edit.old, self.edit.new, self.path)


@dataclass
class EditResult:
    """What ``on``/``off`` did or would do."""

    changes: list[FileChange]
    notes: list[str]
    applied: bool
    warnings: list[str] = field(default_factory=list)  # e.g. the share added does not answer


class PartlyWritten(Exception):
    """Some files were written before ``error`` stopped the rest (each write is atomic)."""

    def __init__(self, error: EditError, written: list[str]) -> None:
        self.error = error
        self.written = written
        super().__init__(str(error))


def _read(setup: Setup, path: str) -> tuple[FileState, str | None]:
    """A condarc file through the one reader and writer rules (symlinks checked, regular files
    only, size cap, bounded on a share) and its text; EditError when it cannot be edited."""
    try:
        state = read_state(path, setup.ctx.reader)
    except EditUnresponsive as exc:  # while planning: nothing was written (exit 3)
        raise UserFileError(FileRead(exc.path, ReadStatus.UNRESPONSIVE, exc.message)) from None
    return state, check_text(path, state.data)


def _change(
    path: str, state: FileState, after: bytes | None, action: str, items: list[str]
) -> FileChange:
    """A change from the state it was planned on (``after`` None: delete the file);
    EditError for a file marked read-only."""
    return FileChange(path, action, items, plan_edit(state.path, lambda _: after, state=state))


def _sha(data: bytes | None) -> str:
    return ABSENT if data is None else hashlib.sha256(data).hexdigest()


def plan_off(setup: Setup, view: EffectiveView | None = None) -> tuple[list[FileChange], Memory]:
    """Remove every site-installation entry from the user's files; returns changes + memory.

    A file ``on`` changed and nobody touched since gets its bytes from before ``on`` back
    (the own default dirs ``on`` put first go too, or the file if ``on`` created it); an
    edited one loses the site entries and the values ``on`` added.
    """
    view = view or compute_effective(setup.ctx)
    added = load_all(setup.state_dir, setup.ctx.reader)[1]
    changes: list[FileChange] = []
    memory: Memory = {}
    for f in view.files:
        if not user_file(setup, f.path, f.slot):
            continue
        path = setup.ctx.absolute(f.path)
        if f.status == "invalid":
            raise CondarcError(path, f.line, f"{f.error}; fix it first")
        state, text = _read(setup, path)
        if state.data is None or text is None:
            continue
        before = state.data
        on = added.get(state.target)
        by_on = set(on.added) if on else set()
        removed_all: list[RemovedItem] = []
        new_text = text
        for name in ("envs_dirs", "pkgs_dirs"):
            layout = locate_list(new_text, path, name)
            drop = [
                it.index for it in layout.items if is_managed(setup, it.value) or it.value in by_on
            ]
            if not drop:
                continue
            new_text, removed = remove_items(new_text, path, name, drop)
            removed_all += [_remember(name, it) for it in removed]
        if not removed_all:
            continue
        after: bytes | None = new_text.encode("utf-8")
        undid = None
        if on is not None and _sha(before) == on.after_sha256:
            after, undid = on.before, on  # exactly as before `on`
        values = [r.value for r in removed_all]
        changes.append(_change(path, state, after, "restore" if undid else "remove", values))
        record = OffRecord(path, before, _sha(after), tuple(removed_all), now(), undid)
        memory[state.target] = record
    return changes, memory


def _remember(name: str, it: ItemSpan) -> RemovedItem:
    return RemovedItem(name, it.index, it.value, it.flag, it.text)


def _apply(setup: Setup, changes: Sequence[FileChange]) -> list[str]:
    """Write the changes through condashare.files (conflict check, backup in the state dir's
    ``backups/`` as ``init`` keeps them, atomic replace); the files written. PartlyWritten when
    one fails after others were written, its EditError when none was."""
    backups = posixpath.join(setup.state_dir, "backups")
    written: list[str] = []
    for change in changes:
        try:
            apply_edit(change.edit, backups, setup.ctx.reader)
        except EditError as exc:
            if written:
                raise PartlyWritten(exc, written) from None
            raise
        written.append(change.path)
    return written


def _lock(setup: Setup) -> contextlib.AbstractContextManager[None]:
    """One ``shared on``/``off`` at a time (the state file and the condarc files)."""
    return exclusive_lock(posixpath.join(setup.state_dir, "shared.lock"), reader=setup.ctx.reader)


def shared_off(setup: Setup, dry_run: bool = False) -> EditResult:
    """``condashare shared off``; a second run finds nothing and keeps the first memory.

    Planned before the lock is taken, so a refused file leaves no trace at all; a file that
    changes in between is caught by the writer's conflict check.
    """
    changes, memory = plan_off(setup)
    if not changes:
        return EditResult(changes, [NOTHING_OFF], False)
    if dry_run:
        return EditResult(changes, [], False)
    reader = setup.ctx.reader
    with _lock(setup):
        kept, added = load_all(setup.state_dir, reader)
        left = {k: v for k, v in added.items() if k not in memory}  # undone by this `off`
        # remember first: a crash after it loses nothing
        save_memory(setup.state_dir, {**kept, **memory}, left, reader)
        try:
            _apply(setup, changes)
        except (PartlyWritten, EditError) as exc:
            # remember only what was done (best effort: the disk may be full)
            written = exc.written if isinstance(exc, PartlyWritten) else []
            done = {c.target for c in changes if c.path in written}
            kept.update({k: v for k, v in memory.items() if k in done})
            with contextlib.suppress(EditError):
                left.update({k: v for k, v in added.items() if k not in done})
                save_memory(setup.state_dir, kept, left, reader)
            raise
    return EditResult(changes, [], True)


NOTHING_OFF = "no shared dirs in your condarc files; nothing to do"


def _plan_restore(setup: Setup, memory: Memory, missing: list[str]) -> list[FileChange]:
    """Changes that undo a remembered ``off``; files absent here (another host's own conda
    root in a shared home) go to ``missing`` and stay remembered."""
    out: list[FileChange] = []
    for target, record in memory.items():
        state, text = _read(setup, target)
        made_by_on = record.after_sha256 == ABSENT  # `off` deleted the file `on` had created
        if state.data is None and made_by_on and _dir_here(setup, target):
            out.append(_change(record.path, state, record.before, "restore", record.values))
            continue
        if state.data is None or text is None:
            missing.append(target)
            continue
        current = state.data
        if hashlib.sha256(current).hexdigest() == record.after_sha256:
            if current != record.before:
                out.append(_change(record.path, state, record.before, "restore", record.values))
            continue
        # Changed since `off`: put the remembered lines back where they were, when missing.
        for item in sorted(record.removed, key=lambda r: (r.key, r.index)):
            layout = locate_list(text, target, item.key)
            if item.value in layout.values:
                continue
            lines = item.lines
            if layout.style == "flow" or not lines:
                lines = item_line(layout, item.value)
            text = insert_lines(text, target, item.key, item.index, lines, item.value)
        after = text.encode("utf-8")
        if after != current:
            out.append(_change(record.path, state, after, "restore", record.values))
    return out


def _dir_here(setup: Setup, path: str) -> bool:
    """Is the directory of ``path`` on this machine? (another OS's conda root in a shared home
    is not: its file waits for that OS instead of being created here)."""
    return setup.ctx.reader.exists(posixpath.dirname(path))


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
    if within(path, home):
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
    memory = load_all(setup.state_dir, setup.ctx.reader)[0]
    if memory and not file:
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
    current, found = _read(setup, path)
    before = current.data
    text = found or ""
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
    action = "add" if before is not None else "create"
    return [_change(path, current, text.encode("utf-8"), action, added)], notes, False


def shared_on(
    setup: Setup, pkgs: bool = False, file: str | None = None, dry_run: bool = False
) -> EditResult:
    """``condashare shared on``; twice = once. Planned before the lock (see shared_off)."""
    changes, notes, restoring = plan_on(setup, pkgs, file)
    warnings = _share_warnings(setup, changes)
    if dry_run or not (changes or restoring):
        return EditResult(changes, _on_notes(notes, restoring, changes), False, warnings)
    reader = setup.ctx.reader
    with _lock(setup):
        _apply(setup, changes)
        memory, added = load_all(setup.state_dir, reader)
        if restoring:
            present = reader.exists_many(memory)
            kept = {k: v for k, v in memory.items() if not present[k]}
            for target, record in memory.items():
                if present[target] and record.undid is not None:
                    added[target] = record.undid  # `off` would undo that `on` again
            save_memory(setup.state_dir, kept, added, reader)
        else:
            save_memory(setup.state_dir, memory, _remember_on(added, changes), reader)
    return EditResult(changes, _on_notes(notes, restoring, changes), bool(changes), warnings)


def _share_warnings(setup: Setup, changes: Sequence[FileChange]) -> list[str]:
    """The edit is string work and succeeds with the share dead; but conda, reading the new
    entry, would then wait for the share (or fail on it). Say so instead of a bare [ok]."""
    inst = setup.installation
    if inst is None or not changes:
        return []
    alive = probe_liveness(inst.prefix, INSTALLATION, setup.ctx.probe_timeout)
    if alive.status not in ("unresponsive", "error"):
        return []
    return [
        f"installation {inst.name} at {inst.prefix}: {alive.describe()}; conda will wait "
        f"for {inst.envs_dir} (or fail on it) until the share answers; see `condashare info`"
    ]


def _remember_on(added: Added, changes: Sequence[FileChange]) -> Added:
    """``added`` with what these ``on`` changes added (chained onto an earlier ``on`` of the
    same file when nobody touched it in between, so ``off`` goes back to before the first)."""
    out = dict(added)
    for change in changes:
        prev = out.get(change.target)
        if prev is not None and prev.after_sha256 == _sha(change.edit.old):
            before, values = prev.before, (*prev.added, *change.items)
        else:
            before, values = change.edit.old, tuple(change.items)
        out[change.target] = OnRecord(change.path, before, _sha(change.edit.new), values)
    return out


def _on_notes(notes: list[str], restoring: bool, changes: list[FileChange]) -> list[str]:
    if restoring and not changes:
        return [*notes, "your files already hold what `off` removed"]
    return notes
