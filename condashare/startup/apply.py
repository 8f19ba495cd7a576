"""Carry out an :class:`~condashare.startup.plan.InitPlan`: one atomic write per file, a backup
of each, and on trouble an exact account of what was already written."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from condashare.files.read import Reader
from condashare.files.write import AppliedEdit, EditError, apply_edit, exclusive_lock
from condashare.startup.cleanup import remove as remove_leftovers
from condashare.startup.plan import InitPlan


@dataclass
class ApplyResult:
    """The edits carried out, and the error that stopped the rest (None: all done)."""

    applied: list[AppliedEdit] = field(default_factory=list)
    error: OSError | EditError | None = None
    removed: list[str] = field(default_factory=list)  # stale temp files, empty directories

    @property
    def backups(self) -> list[str]:
        return [a.backup for a in self.applied if a.backup]


@contextlib.contextmanager
def init_lock(state_dir: str, reader: Reader) -> Iterator[None]:
    """One ``init`` at a time per home (two at once would both add a block)."""
    with exclusive_lock(os.path.join(state_dir, "init.lock"), reader=reader):
        yield


def apply_plan(plan: InitPlan, backups: str, reader: Reader) -> ApplyResult:
    """Write every changed file in plan order. Every file was checked while planning, so an
    error here is I/O trouble (disk full, a file changed under us, the share stopped
    answering); each write is atomic, so what ``applied`` lists is exactly what changed. Then
    the temp files a killed run left, and the directories init created (if empty), go."""
    result = ApplyResult()
    try:
        for edit in plan.edits:
            if edit.changed:
                result.applied.append(apply_edit(edit, backups, reader))
        result.removed = remove_leftovers(plan.stale, plan.remove_dirs, reader)
    except (OSError, EditError) as exc:
        result.error = exc
    return result
