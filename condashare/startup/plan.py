"""Plan ``init`` and ``init --reverse``: which files, which edits, what the user should know.

Which file a shell reads comes from the shell records (:mod:`condashare.shells`); this module
only turns them into planned edits. Nothing here writes: :mod:`condashare.startup.apply` does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from condashare.files.read import Reader
from condashare.files.write import Edit, EditError, FileState, check_text, plan_edit, read_state
from condashare.shells.dialects import DIALECTS, Dialect
from condashare.shells.records import (
    SHELLS,
    DialectName,
    Home,
    Shell,
    ShellName,
    every_file,
    lookup,
)
from condashare.site.file import Site
from condashare.startup.blocks import (
    StartupError,
    block_text,
    created_dirs,
    find_block,
    install_block,
    remove_block,
    render_block,
    split_lines,
)
from condashare.startup.cleanup import missing_dirs, stale_temp_files
from condashare.startup.conda_blocks import (
    CondaBlock,
    disable_conda_blocks,
    enable_conda_blocks,
    find_conda_blocks,
)
from condashare.startup.shelltext import interactive_guard
from condashare.startup.short import FILE_NAMES, CodeDir, Form, is_short, managed_text, render_short

Exists = Callable[[str], bool]


def _exists(path: str) -> bool:
    return os.path.lexists(path)


def _shell(name: str) -> ShellName:
    found = lookup(name)
    if found is None:
        raise ValueError(f"unknown shell {name!r}")
    return found.name


@dataclass(frozen=True)
class StartupTarget:
    """A startup file to carry the block, for which shells, and why."""

    path: str
    dialect: DialectName
    shells: tuple[ShellName, ...]
    why: str


def targets_for(
    shells: Sequence[str], home: str, env: Mapping[str, str], exists: Exists = _exists
) -> list[StartupTarget]:
    """The startup files that carry the block for ``shells`` (one entry per file)."""
    where = Home(home, env)
    records = [lookup(name) for name in shells]
    unknown = [name for name, r in zip(shells, records, strict=True) if r is None]
    if unknown:
        raise ValueError(f"unknown shell {unknown[0]!r}")
    return merge_targets(
        (r, path, why)
        for r in records
        if r is not None
        for path, why in r.block_files(where, exists)
    )


def merge_targets(placed: Iterable[tuple[Shell, str, str]]) -> list[StartupTarget]:
    """One target per file from (shell, path, why) in order: a file two shells read (bash's and
    sh's ``.profile``) carries one block, for both, with both reasons."""
    found: dict[str, tuple[DialectName, list[ShellName], list[str]]] = {}
    for record, path, why in placed:
        entry = found.setdefault(path, (record.dialect, [], []))
        if record.name not in entry[1]:
            entry[1].append(record.name)
            entry[2].append(why)
    return [
        StartupTarget(path, dialect, tuple(sh), "; ".join(dict.fromkeys(whys)))
        for path, (dialect, sh, whys) in found.items()
    ]


def known_files(
    home: str, env: Mapping[str, str], shells: Sequence[str] | None = None
) -> list[tuple[str, DialectName]]:
    """Every file init may have written for ``shells`` (default: all), with its dialect."""
    where = Home(home, env)
    wanted = None if shells is None else {_shell(s) for s in shells}
    out = [
        (path, s.dialect)
        for s in SHELLS
        if wanted is None or s.name in wanted
        for path in s.known_files(where)
    ]
    return list(dict.fromkeys(out))


def conda_init_files(
    shells: Sequence[str], home: str, env: Mapping[str, str]
) -> list[tuple[str, DialectName]]:
    """Where ``conda init`` puts its blocks for these shells (conda-facts §7)."""
    where = Home(home, env)
    out: list[tuple[str, DialectName]] = []
    for name in shells:
        record = lookup(name)
        if record is not None:
            out += [(p, record.dialect) for p in record.conda_init_files(where)]
    return list(dict.fromkeys(out))


def default_shells(
    login_shell: str | None, home: str, env: Mapping[str, str], exists: Exists = _exists
) -> list[ShellName]:
    """The login shell plus every shell whose startup file already exists in the home."""
    where = Home(home, env)
    chosen: list[ShellName] = []
    login = lookup(login_shell)
    if login is not None:
        chosen.append(login.name)
    for s in SHELLS:
        if s.name not in chosen and any(exists(p) for p in s.evidence_files(where)):
            chosen.append(s.name)
    return chosen


def choose_shells(
    names: Sequence[str] | None,
    all_shells: bool,
    login_shell: str | None,
    home: str,
    env: Mapping[str, str],
    exists: Exists = _exists,
) -> list[ShellName]:
    """The shells one run sets up: every one, the ones named, or :func:`default_shells`."""
    if all_shells:
        return [s.name for s in SHELLS]
    if names:
        return list(dict.fromkeys(_shell(n) for n in names))
    return default_shells(login_shell, home, env, exists)


def existence(reader: Reader, home: str, env: Mapping[str, str]) -> Exists:
    """An ``exists`` for :func:`targets_for` and :func:`default_shells` that asks the reader
    once for every startup file they may look at (one probe per directory when the home is on
    a share); UserFileError when the home does not answer."""
    known = reader.exists_many(every_file(Home(home, env)))

    def exists(path: str) -> bool:
        found = known.get(path)
        return reader.exists(path) if found is None else found

    return exists


@dataclass
class FilePlan:
    """What happens to one file, and why."""

    edit: Edit
    dialect: DialectName
    shells: tuple[ShellName, ...]
    why: str
    conda_blocks: list[CondaBlock] = field(default_factory=list)


@dataclass
class InitPlan:
    """Every file edit of one ``init`` or ``--reverse`` run, plus what the user should know."""

    action: Literal["init", "reverse"]
    shells: list[ShellName]
    files: list[FilePlan]
    notes: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # temp files a killed run left
    remove_dirs: list[str] = field(default_factory=list)  # created by init, removed if empty

    @property
    def edits(self) -> list[Edit]:
        return [f.edit for f in self.files]

    @property
    def changed(self) -> list[FilePlan]:
        return [f for f in self.files if f.edit.changed]

    @property
    def conda_blocks(self) -> list[CondaBlock]:
        return [b for f in self.files for b in f.conda_blocks]


def _text_state(path: str, reader: Reader) -> FileState:
    state = read_state(path, reader)
    check_text(path, state.data)
    return state


def _disable_around_block(data: bytes, path: str) -> bytes:
    """Disable the conda/mamba blocks of a file that carries our block, which must stay
    active: a conda block whose markers enclose it is refused."""
    new = disable_conda_blocks(data, path) or b""
    if find_block(new, path) is None:
        raise StartupError(
            path,
            "a conda/mamba initialize block encloses the condashare block; move one of them by "
            "hand, or run without --replace-conda-init",
        )
    return new


def plan_init(
    site: Site,
    shells: Sequence[str],
    home: str,
    env: Mapping[str, str],
    timeout: float | None = None,
    replace_conda_init: bool = False,
    reader: Reader | None = None,
    form: Form | None = None,
    code: CodeDir | None = None,
) -> InitPlan:
    """Plan writing the block for ``shells``; no file is touched. Raises Edit/StartupError
    (EditUnresponsive or UserFileError when the home's share does not answer).

    ``form``: ``short`` (one line sourcing a managed file in ``code``), ``full`` (the whole
    block), or None: a file keeps the form its block has, a new block is short. Without
    ``code`` every block is full."""
    reader = reader or Reader.for_this_host(home=home)
    prefixes = [i.prefix for i in site.installations]
    plans: list[FilePlan] = []
    notes: list[str] = []
    handled: set[str] = set()
    short: dict[DialectName, list[ShellName]] = {}
    exists = existence(reader, home, env)
    refused = (
        code.refuse_reason(reader.mounts) if code is not None else "no directory for the short form"
    )
    if form == "short" and refused:
        raise StartupError(code.path if code else home, refused)
    if form is None and code is not None and refused:
        notes.append(f"new blocks are written in full: {refused}")
    for target in targets_for(shells, home, env, exists):
        state = _text_state(target.path, reader)
        dialect = DIALECTS[target.dialect]
        chosen = _form_for(state.data, form, refused)
        if chosen == "short":
            short.setdefault(target.dialect, []).extend(target.shells)

        def make(flags: Sequence[bytes], d: Dialect = dialect, f: Form = chosen) -> bytes:
            if f == "short" and code is not None:
                return render_short(d.name, code, flags)
            return render_block(site, d, timeout, flags)

        new_dirs = missing_dirs(target.path, home, exists) if state.data is None else []

        def transform(
            old: bytes | None,
            path: str = target.path,
            dn: DialectName = target.dialect,
            dirs: list[str] = new_dirs,
        ) -> bytes | None:
            new = install_block(old, make, path, before_guard=dn == "posix", new_dirs=dirs)
            return _disable_around_block(new, path) if replace_conda_init else new

        edit = plan_edit(target.path, transform, "add the condashare block", state)
        blocks = find_conda_blocks(state.data, target.path, prefixes)
        why = target.why
        guard = interactive_guard(split_lines(state.data or b""))
        if target.dialect == "posix" and guard is not None:
            why += (
                f"; the block goes before line {guard + 1}, which ends non-interactive shells "
                "early, so `ssh host cmd` gets conda too"
            )
        plans.append(FilePlan(edit, target.dialect, target.shells, why, blocks))
        handled.add(target.path)
    # conda init blocks in files that do not carry our block (e.g. .bash_profile on macOS)
    for path, dialect_name in conda_init_files(shells, home, env):
        if path in handled or not exists(path):
            continue
        state = _text_state(path, reader)
        blocks = find_conda_blocks(state.data, path, prefixes)
        if not blocks:
            continue

        def transform2(old: bytes | None, p: str = path) -> bytes | None:
            return disable_conda_blocks(old, p) if replace_conda_init else old

        edit = plan_edit(path, transform2, "disable conda initialize", state)
        plans.append(FilePlan(edit, dialect_name, (), "conda init writes here", blocks))
    active = [b for p in plans for b in p.conda_blocks if not b.disabled]
    if active and not replace_conda_init:
        notes.append(
            "found active conda/mamba initialize blocks: they run Python at every shell start "
            "and may pick another installation; --replace-conda-init disables them (reversibly)"
        )
    remove_dirs: list[str] = []
    if code is not None:
        managed, remove_dirs = _managed_plans(
            code, home, env, reader, plans, lambda d: managed_text(site, d, timeout), short
        )
        plans = managed + plans  # the code first, then the lines that source it
    stale = stale_temp_files([p.edit.path for p in plans], reader)
    return InitPlan("init", [_shell(s) for s in shells], plans, notes, stale, remove_dirs)


def _form_for(data: bytes | None, form: Form | None, refused: str | None) -> Form:
    """The form of one file's block: the one asked for, else the one it has, else short (full
    when the short form cannot be written here)."""
    if form is not None:
        return form
    block = block_text(data or b"")
    if (block is not None and not is_short(block)) or refused:
        return "full"
    return "short"


def _sourced_dialects(
    home: str, env: Mapping[str, str], reader: Reader, planned: Mapping[str, bytes | None]
) -> set[DialectName]:
    """The dialects whose managed file a short block still sources once the ``planned``
    contents (path -> new bytes) are written; every known startup file is looked at."""
    files = known_files(home, env)
    present = reader.exists_many(p for p, _ in files if p not in planned)
    used: set[DialectName] = set()
    for path, dialect in files:
        if path in planned:
            data = planned[path]
        elif not present.get(path):
            continue
        else:
            try:
                data = read_state(path, reader).data
            except EditError:
                continue  # not a file a block of ours could be in (doctor reports it)
        block = block_text(data or b"")
        if block is not None and is_short(block):
            used.add(dialect)
    return used


def _managed_plans(
    code: CodeDir,
    home: str,
    env: Mapping[str, str],
    reader: Reader,
    plans: Sequence[FilePlan],
    content: Callable[[DialectName], bytes],
    writing: Mapping[DialectName, Sequence[ShellName]],
) -> tuple[list[FilePlan], list[str]]:
    """The managed files' edits: (re)write those of the dialects in ``writing``, remove those no
    startup file sources any more (and their directory, if that leaves it empty)."""
    planned = {p.edit.path: p.edit.new for p in plans}
    used = _sourced_dialects(home, env, reader, planned) | set(writing)
    out: list[FilePlan] = []
    for dialect in FILE_NAMES:
        path = code.file(dialect)
        state = _text_state(path, reader)
        if dialect in writing:
            new: bytes | None = content(dialect)
            shells = tuple(dict.fromkeys(writing[dialect]))
            why = f"the code the condashare line runs for {', '.join(shells)}"
        elif dialect not in used and state.data is not None:
            new, shells, why = None, (), "no startup file runs it any more"
        else:
            continue

        def transform(old: bytes | None, data: bytes | None = new) -> bytes | None:
            return data

        edit = plan_edit(path, transform, "condashare's startup code", state)
        out.append(FilePlan(edit, dialect, shells, why))
    gone = not used and reader.exists(code.path)  # (said only when there is one to remove)
    return out, ([code.path] if gone else [])


def plan_reverse(
    home: str,
    env: Mapping[str, str],
    shells: Sequence[str] | None = None,
    reader: Reader | None = None,
    code: CodeDir | None = None,
) -> InitPlan:
    """Plan removing every condashare block and re-enabling disabled conda blocks; the managed
    files of the short form go too once no startup file sources them."""
    reader = reader or Reader.for_this_host(home=home)
    if shells is None:
        files = known_files(home, env)
        chosen = [s.name for s in SHELLS]
    else:
        exists = existence(reader, home, env)
        wanted = {t.path for t in targets_for(shells, home, env, exists)}
        wanted |= {p for p, _ in conda_init_files(shells, home, env)}
        files = [(p, d) for p, d in known_files(home, env) if p in wanted]
        chosen = [_shell(s) for s in shells]
    plans: list[FilePlan] = []
    dirs: list[str] = []
    present = reader.exists_many(p for p, _ in files)
    for path, dialect in files:
        if not present[path]:
            continue
        state = _text_state(path, reader)
        if state.data is None:
            continue

        def transform(old: bytes | None, p: str = path) -> bytes | None:
            return enable_conda_blocks(remove_block(old, p))

        edit = plan_edit(path, transform, "remove the condashare block", state)
        plans.append(FilePlan(edit, dialect, (), "", find_conda_blocks(state.data, path)))
        span = find_block(state.data, path)
        if edit.new is None and span is not None:
            dirs += created_dirs(span)
    if code is not None:
        managed, gone = _managed_plans(code, home, env, reader, plans, lambda d: b"", {})
        plans += managed  # the lines first, then the code they ran
        dirs += gone
    stale = stale_temp_files([p for p, _ in files], reader)
    return InitPlan("reverse", chosen, plans, [], stale, list(dict.fromkeys(dirs)))
