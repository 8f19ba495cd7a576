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
from condashare.files.write import Edit, FileState, check_text, plan_edit, read_state
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
) -> InitPlan:
    """Plan writing the block for ``shells``; no file is touched. Raises Edit/StartupError
    (EditUnresponsive or UserFileError when the home's share does not answer)."""
    reader = reader or Reader.for_this_host(home=home)
    prefixes = [i.prefix for i in site.installations]
    plans: list[FilePlan] = []
    notes: list[str] = []
    handled: set[str] = set()
    exists = existence(reader, home, env)
    for target in targets_for(shells, home, env, exists):
        state = _text_state(target.path, reader)
        dialect = DIALECTS[target.dialect]

        def make(flags: Sequence[bytes], d: Dialect = dialect) -> bytes:
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
    stale = stale_temp_files([p.edit.path for p in plans], reader)
    return InitPlan("init", [_shell(s) for s in shells], plans, notes, stale)


def plan_reverse(
    home: str,
    env: Mapping[str, str],
    shells: Sequence[str] | None = None,
    reader: Reader | None = None,
) -> InitPlan:
    """Plan removing every condashare block and re-enabling disabled conda blocks."""
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
    stale = stale_temp_files([p for p, _ in files], reader)
    return InitPlan("reverse", chosen, plans, [], stale, list(dict.fromkeys(dirs)))
