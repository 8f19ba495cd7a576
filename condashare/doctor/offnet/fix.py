"""Plan, apply and record the moves, and undo them exactly (``doctor --fix --reverse``)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from condashare.conda.condarc import (
    CondarcError,
)
from condashare.files.read import MAX_STATE_BYTES, UserFileError
from condashare.files.write import (
    Edit,
    EditError,
    apply_edit,
    check_text,
    plan_edit,
    read_state,
    replace_file,
)
from condashare.host.dirs import LocalChoice, foreign_dir

if TYPE_CHECKING:
    from condashare.doctor.context import Context
from condashare.doctor.offnet.places import (
    RECORD_VERSION,
    Kind,
    Spot,
    choose_local_root,
    user_condarc,
)
from condashare.doctor.offnet.settings import (
    Added,
    add_block,
    condarc_text,
    ipython_block,
    jupyter_block,
    remove_added,
)

# --------------------------------------------------------------------------- plan, apply, record


@dataclass
class FilePlan:
    """The planned edit of one file and what it adds."""

    edit: Edit
    added: list[Added] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # what it does, for people
    copy: tuple[str, str] | None = None  # (old database, its new place on this machine)


@dataclass
class Plan:
    local: LocalChoice
    files: list[FilePlan]
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(f.edit.changed for f in self.files)

    def diff(self) -> str:
        head = [f"local directory: {self.local.why}"] if self.local.usable else []
        if self.local.usable:
            head.append(
                f"  conda: {self.local.root}/conda/ (the same path on every machine, each its "
                f"own disk); IPython/Jupyter: {self.local.root}/HOST/ (here HOST = "
                f"{self.local.host})"
            )
        head += [f"  passed over {r}" for r in self.local.refused]
        head += self.notes
        for f in self.files:
            head += f.lines
        body = "".join(f.edit.diff() for f in self.files)
        return "\n".join(head) + ("\n" + body if body else "")


def _text_of(path: str, data: bytes | None) -> str:
    text = check_text(path, data)
    return text or ""


def _plan_file(
    ctx: Context, path: str, transform: Callable[[str], tuple[str, list[Added]]], why: str
) -> FilePlan:
    state = read_state(path, ctx.reader)
    old = _text_of(path, state.data)
    new, added = transform(old)
    new_bytes = new.encode() if (new or state.data is not None) else None
    edit = plan_edit(path, lambda _old: new_bytes, why, state=state, reader=ctx.reader)
    return FilePlan(edit, added)


def _adding(block: str) -> Callable[[str], tuple[str, list[Added]]]:
    return lambda text: (add_block(text, block), [Added("block")])


def _const(data: bytes | None) -> Callable[[bytes | None], bytes | None]:
    return lambda _old: data


def plan(ctx: Context, spots: list[Spot]) -> Plan:
    """What ``--fix`` writes for ``spots`` (nothing is written here)."""
    local = choose_local_root(ctx)
    todo = [s for s in spots if not s.fixed]
    files: list[FilePlan] = []
    notes: list[str] = []
    if not local.usable:
        notes.append(
            "no local directory on this machine: IPython and Jupyter keep their databases in "
            "memory; conda's package cache stays where it is with locking turned off"
        )
    conda_kinds: set[Kind] = {s.kind for s in todo if s.kind.startswith("conda")}
    if conda_kinds:
        rc = user_condarc(ctx)
        fp = _plan_file(
            ctx,
            rc,
            lambda t: condarc_text(ctx, t, rc, conda_kinds, local),
            "keep conda's writable dirs on local disk",
        )
        if local.usable:
            if "conda-pkgs" in conda_kinds:
                fp.lines.append(f"conda package cache -> {local.conda_pkgs} (first in pkgs_dirs)")
            if "conda-envs" in conda_kinds:
                fp.lines.append(
                    f"new environments -> {local.conda_envs} (first in envs_dirs; existing "
                    "ones stay visible)"
                )
        else:
            fp.lines.append("conda: no_lock: true, use_lockfiles: false")
        files.append(fp)
    for s in todo:
        if s.kind == "ipython":
            profile = posixpath.basename(posixpath.dirname(s.path))
            dest = f"{local.host_dir}/ipython/{profile}/history.sqlite"
            block = ipython_block(local, profile)
        elif s.kind == "jupyter":
            dest = f"{local.host_dir}/jupyter/"
            block = jupyter_block(local)
        else:
            continue
        fp = _plan_file(ctx, s.config, _adding(block), f"{s.label} on local disk")
        fp.lines.append(f"{s.label} -> {dest if local.usable else 'memory'}")
        if s.kind == "ipython" and local.usable:
            fp.copy = (s.path, dest)
            fp.lines.append(f"  the existing {s.path}, if any, is copied there (this machine)")
        files.append(fp)
    return Plan(local, files, notes)


def record_path(ctx: Context) -> str:
    """In condashare's shared state dir (:mod:`condashare.host.dirs`: the same place on Linux
    and macOS), so a home shared by both keeps one record."""
    from condashare.host import dirs

    return posixpath.join(dirs.state_dir({**ctx.env, "HOME": ctx.home}), "offnet.json")


def backup_dir(ctx: Context) -> str:
    from condashare.host import dirs

    return dirs.backup_dir({**ctx.env, "HOME": ctx.home})


def load_record(ctx: Context) -> dict[str, Any]:
    """The record of applied fixes; UserFileError when it cannot be read (never guessed empty)."""
    raw = ctx.reader.require(record_path(ctx), MAX_STATE_BYTES)
    empty: dict[str, Any] = {"version": RECORD_VERSION, "files": {}, "hosts": {}}
    if raw is None:
        return empty
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return empty
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return empty
    data.setdefault("hosts", {})
    return data


def save_record(ctx: Context, record: dict[str, Any]) -> None:
    data = json.dumps(record, indent=2, sort_keys=True).encode()
    replace_file(record_path(ctx), data, 0o600, ctx.reader)


def _sha(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def apply(ctx: Context, the_plan: Plan) -> list[str]:
    """Write the plan: the record first (a crash after it loses nothing), then each file.

    Returns the backups kept. The local dirs are created here (local disk, never a share).
    """
    record = load_record(ctx)
    files: dict[str, Any] = record["files"]
    for fp in the_plan.files:
        e = fp.edit
        if not e.changed:
            continue
        entry = files.get(e.target)
        before = e.old if entry is None else _decode_before(entry)
        added = ([] if entry is None else list(entry.get("added", []))) + [
            a.as_dict() for a in fp.added
        ]
        files[e.target] = {
            "path": e.path,
            "before_b64": None if before is None else base64.b64encode(before).decode(),
            "after_sha256": _sha(e.new),
            "added": added,
            "time": time.time(),
        }
    local = the_plan.local
    if local.usable and local.root:
        os.makedirs(local.root, mode=0o700, exist_ok=True)
        problem = foreign_dir(local.root)  # made by someone else since it was chosen?
        if problem:
            raise EditError(local.root, problem + "; nothing was changed")
        made = [local.conda_pkgs, local.conda_envs, local.host_dir]
        for d in made:
            os.makedirs(d, mode=0o700, exist_ok=True)
        record["hosts"][local.host] = {"root": local.root, "dirs": made, "time": time.time()}
    save_record(ctx, record)
    backups = []
    for fp in the_plan.files:
        done = apply_edit(fp.edit, backup_dir(ctx), ctx.reader)
        if done.backup:
            backups.append(done.backup)
        if fp.copy is not None:
            copy_history(ctx, *fp.copy)
    return backups


def _copy_new(src: str, dst: str) -> bool:
    """Copy ``src`` to ``dst`` unless ``dst`` exists; runs where a hang is harmless."""
    import shutil

    if os.path.exists(dst) or not os.path.isfile(src):
        return False
    os.makedirs(os.path.dirname(dst), mode=0o700, exist_ok=True)
    tmp = dst + ".condashare-tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return True


def copy_history(ctx: Context, src: str, dst: str) -> str:
    """Keep the user's IPython history: the old database is copied (bytes, no SQLite locks
    taken on the share) to its new local place, once. In a child with a deadline when the old
    one is on a share; returns copied | skipped | unresponsive | error."""
    from condashare.bounded import calls

    if not ctx.is_remote(src):
        try:
            return "copied" if _copy_new(src, dst) else "skipped"
        except OSError:
            return "error"
    answer = calls.call(_copy_new, src, dst, timeout=max(10.0, 5 * ctx.timeout))
    if answer.state == calls.TIMEOUT:
        return "unresponsive"
    if answer.state != calls.DONE:
        return "error"
    return "copied" if answer.value else "skipped"


def _decode_before(entry: dict[str, Any]) -> bytes | None:
    raw = entry.get("before_b64")
    return None if raw is None else base64.b64decode(str(raw))


@dataclass
class Reversal:
    edits: list[Edit]
    kept: list[str]  # files whose record stays (could not be undone)
    notes: list[str]

    def diff(self) -> str:
        return "\n".join(self.notes) + "".join(e.diff() for e in self.edits)


def plan_reverse(ctx: Context) -> Reversal:
    """The edits that undo every recorded fix: exact old bytes when the file is as the fix left
    it, else only the added lines/items/blocks taken out."""
    record = load_record(ctx)
    edits: list[Edit] = []
    kept: list[str] = []
    notes: list[str] = []
    for target, entry in sorted(record["files"].items()):
        if not isinstance(entry, dict):
            continue
        path = str(entry.get("path", target))
        try:
            state = read_state(target, ctx.reader)
            if _sha(state.data) == entry.get("after_sha256"):
                new = _decode_before(entry)
            else:
                text = _text_of(target, state.data)
                added = [a for a in entry.get("added", []) if isinstance(a, dict)]
                stripped = remove_added(text, target, added)
                created = entry.get("before_b64") is None
                new = None if created and not stripped.strip() else stripped.encode()
                notes.append(f"{path} changed since the fix: only what the fix added is removed")
            edits.append(plan_edit(target, _const(new), "undo doctor --fix", state, ctx.reader))
        except (EditError, CondarcError, UserFileError) as exc:
            kept.append(target)
            notes.append(f"{path}: cannot undo ({exc})")
    dirs = [d for h in record.get("hosts", {}).values() for d in h.get("dirs", [])]
    if dirs:
        notes.append(
            "left in place (they may hold environments and packages; remove them yourself): "
            + ", ".join(sorted(set(dirs)))
        )
    return Reversal(edits, kept, notes)


def apply_reverse(ctx: Context, rev: Reversal) -> list[str]:
    backups = []
    for e in rev.edits:
        done = apply_edit(e, backup_dir(ctx), ctx.reader)
        if done.backup:
            backups.append(done.backup)
    record = load_record(ctx)
    record["files"] = {k: v for k, v in record["files"].items() if k in rev.kept}
    if not record["files"]:
        record["hosts"] = {}
    save_record(ctx, record)
    return backups
